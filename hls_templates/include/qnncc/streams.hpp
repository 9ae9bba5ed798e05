// Stream plumbing of residual blocks: AddStreams (join) and DuplicateStreams (fork).
//
// add_streams: y = a + b elementwise for two streams of NUMVEC * C/PE words
// of PE elements each (element pe of word nf is channel nf * PE + pe). The
// two inputs may have different element datatypes (AT, BT); the sum is
// formed exactly in a signed type wide enough for both and then encoded in
// the output datatype OutT (the caller picks an OutT that holds every sum,
// e.g. the smallest type for [min_a + min_b, max_a + max_b]). One word of
// each input in and one word out per cycle at II=1.
//
// duplicate_streams: copies every word of one stream to each of 2 or more
// output streams (the fork of a residual block: a stream can be read only
// once). One word in and one word on every output per cycle at II=1.
#ifndef QNNCC_STREAMS_HPP
#define QNNCC_STREAMS_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned C, unsigned PE, unsigned NUMVEC, typename AT, typename BT, typename OutT, typename InWordA,
          typename InWordB, typename OutWord>
void add_streams(hls::stream<InWordA>& a, hls::stream<InWordB>& b, hls::stream<OutWord>& out) {
  static_assert(C % PE == 0, "PE must divide the channel count");
  // Wide enough for any value of AT or BT (signed or not) and their sum.
  typedef ap_int<(AT::bits > BT::bits ? AT::bits : BT::bits) + 2> SumT;
  for (unsigned i = 0; i < NUMVEC * (C / PE); i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<PE * AT::bits> xa = a.read();
    const ap_uint<PE * BT::bits> xb = b.read();
    ap_uint<PE * OutT::bits> y = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const SumT sum = SumT(get_elem<AT, PE>(xa, pe)) + SumT(get_elem<BT, PE>(xb, pe));
      set_elem<OutT, PE>(y, pe, sum);
    }
    out.write(OutWord(y));
  }
}

// Write one word to every stream of a parameter pack (recursion ends at one stream).
template <typename Word, typename OutWord>
void write_all(const Word& x, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  out.write(OutWord(x));
}

template <typename Word, typename OutWord, typename... Rest>
void write_all(const Word& x, hls::stream<OutWord>& out, hls::stream<Rest>&... rest) {
#pragma HLS INLINE
  out.write(OutWord(x));
  write_all(x, rest...);
}

// WORDS words per frame, each copied to out0, out1 and every further output.
template <unsigned WORDS, typename InWord, typename OutWord, typename... MoreOutWords>
void duplicate_streams(hls::stream<InWord>& in, hls::stream<OutWord>& out0,
                       hls::stream<MoreOutWords>&... more) {
  static_assert(sizeof...(MoreOutWords) >= 1, "duplicate_streams needs at least two outputs");
  for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
    const InWord x = in.read();
    write_all(x, out0, more...);
  }
}

}  // namespace qnncc

#endif  // QNNCC_STREAMS_HPP
