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

namespace qnncc {

// UINTn (BINARY is UInt<1>).
template <int N>
struct UInt {
  static const int bits = N;
  typedef ap_uint<N> value_t;
  static value_t decode(const ap_uint<N>& b) { return b; }
  static ap_uint<N> encode(const value_t& v) { return v; }
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
};

// BIPOLAR {-1, +1} in one bit: 1 is +1, 0 is -1.
struct Bipolar {
  static const int bits = 1;
  typedef ap_int<2> value_t;
  static value_t decode(const ap_uint<1>& b) { return b ? value_t(1) : value_t(-1); }
  static ap_uint<1> encode(const value_t& v) { return v > 0 ? 1 : 0; }
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
#ifndef __SYNTHESIS__
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

}  // namespace qnncc

#endif  // QNNCC_TYPES_HPP
