// Element datatypes and word packing of qnncc's streaming library.
//
// A stream word ap_uint<E * DT::bits> carries E elements; element i sits at
// bits [i*bits, (i+1)*bits) (element 0 in the least significant bits), the
// same packing as FINN. A datatype DT is a struct with
//   bits        width of one element in the word,
//   value_t     an ap_int/ap_uint type holding the element's value,
//   decode(b)   value of the bit pattern b,
//   encode(v)   bit pattern of the value v.
#ifndef QNNCC_TYPES_HPP
#define QNNCC_TYPES_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>

// C simulation fast paths (native 64-bit arithmetic instead of ap_int
// emulation, same results) are on only in a g++ C simulation: never when
// Vitis HLS synthesises (__SYNTHESIS__), and never when the simulation is
// asked for the synthesis code path (QNNCC_SYNTHESIS_PATH, qnncc's cppsim
// with synthesis_path=True), which must equal `execute` bit for bit too.
#if !defined(__SYNTHESIS__) && !defined(QNNCC_SYNTHESIS_PATH)
#define QNNCC_CSIM_FAST 1
#endif

namespace qnncc {

// UINTn (BINARY is UInt<1>).
template <int N>
struct UInt {
  static const int bits = N;
  typedef ap_uint<N> value_t;
  static value_t decode(const ap_uint<N>& b) { return b; }
  static ap_uint<N> encode(const value_t& v) { return v; }
  static int64_t decode_i64(uint64_t b) { return static_cast<int64_t>(b); }
};

// INTn, two's complement.
template <int N>
struct Int {
  static const int bits = N;
  typedef ap_int<N> value_t;
  static value_t decode(const ap_uint<N>& b) {
    value_t v;
    v(N - 1, 0) = b;
    return v;
  }
  static ap_uint<N> encode(const value_t& v) { return v(N - 1, 0); }
  static int64_t decode_i64(uint64_t b) {
    return N >= 64 ? static_cast<int64_t>(b) : static_cast<int64_t>(b << (64 - N)) >> (64 - N);
  }
};

// BIPOLAR {-1, +1} in one bit: 1 is +1, 0 is -1.
struct Bipolar {
  static const int bits = 1;
  typedef ap_int<2> value_t;
  static value_t decode(const ap_uint<1>& b) { return b ? value_t(1) : value_t(-1); }
  static ap_uint<1> encode(const value_t& v) { return v > 0 ? 1 : 0; }
  static int64_t decode_i64(uint64_t b) { return b ? 1 : -1; }
};

// Element i of a word of E elements of type DT, decoded.
template <typename DT, int E>
typename DT::value_t get_elem(const ap_uint<E * DT::bits>& word, unsigned i) {
#pragma HLS INLINE
  ap_uint<DT::bits> b = word((i + 1) * DT::bits - 1, i * DT::bits);
  return DT::decode(b);
}

// Set element i of a word of E elements of type DT to the value v.
template <typename DT, int E, typename V>
void set_elem(ap_uint<E * DT::bits>& word, unsigned i, const V& v) {
#pragma HLS INLINE
  word((i + 1) * DT::bits - 1, i * DT::bits) = DT::encode(typename DT::value_t(v));
}

// Number of set bits of an N-bit word.
template <int N>
unsigned popcount(const ap_uint<N>& v) {
#pragma HLS INLINE
#ifdef QNNCC_CSIM_FAST
  unsigned count = 0;
  for (int lo = 0; lo < N; lo += 64) {
    const int hi = (lo + 63 < N) ? lo + 63 : N - 1;
    count += __builtin_popcountll(static_cast<unsigned long long>(v(hi, lo).to_uint64()));
  }
  return count;
#else
  unsigned count = 0;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    count += v[i];
  }
  return count;
#endif
}

#ifdef QNNCC_CSIM_FAST
// C simulation helpers: a word as 64-bit chunks, and a bit field of them.
// Native integer arithmetic on these is far faster than ap_int emulation;
// the library uses them only in C simulation, with the same results.
template <int W>
void word_chunks(const ap_uint<W>& v, uint64_t* out) {
  for (int lo = 0; lo < W; lo += 64) {
    const int hi = (lo + 63 < W) ? lo + 63 : W - 1;
    out[lo / 64] = static_cast<uint64_t>(v(hi, lo).to_uint64());
  }
}

inline uint64_t chunk_field(const uint64_t* chunks, unsigned lo, unsigned bits) {
  const unsigned index = lo / 64, shift = lo % 64;
  uint64_t value = chunks[index] >> shift;
  if (shift + bits > 64) value |= chunks[index + 1] << (64 - shift);
  return bits >= 64 ? value : value & ((uint64_t(1) << bits) - 1);
}
#endif

}  // namespace qnncc

#endif  // QNNCC_TYPES_HPP
