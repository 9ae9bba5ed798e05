// Stream plumbing without arithmetic: finn-plus Squeeze/Unsqueeze/Reshape, StreamingConcat, StreamingSplit.
//
// stream_copy: WORDS words passed through, the element type converted from InT to OutT
// (Squeeze/Unsqueeze/Reshape keep the row-major element order, and a word is PE
// consecutive elements on both sides). One word per cycle at II=1.
//
// concat_part / split_part: one part of a channel concatenation. Per vector, StreamingConcat
// copies ChannelsPerStream[i] / SIMD words of input i to the output for i = 0, 1, ... in
// turn (the caller emits one concat_part per input inside its vector loop), converting
// elements to the output type; StreamingSplit copies the words of part j to output j. One
// word per cycle at II=1: sum(ChannelsPerStream) / SIMD cycles per vector.
#ifndef QNNCC_RESHAPE_HPP
#define QNNCC_RESHAPE_HPP

#include "qnncc/types.hpp"

namespace qnncc {

// Convert the E elements of a word from InT to OutT (a plain copy when the types are equal).
template <unsigned E, typename InT, typename OutT>
ap_uint<E * OutT::bits> convert_word(const ap_uint<E * InT::bits>& x) {
#pragma HLS INLINE
  ap_uint<E * OutT::bits> y = 0;
  for (unsigned e = 0; e < E; e++) {
#pragma HLS UNROLL
    set_elem<OutT, E>(y, e, get_elem<InT, E>(x, e));
  }
  return y;
}

template <unsigned WORDS, unsigned E, typename InT, typename OutT, typename InWord, typename OutWord>
void stream_copy(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<E * InT::bits> x = in.read();
    out.write(OutWord(convert_word<E, InT, OutT>(x)));
  }
}

template <unsigned WORDS, unsigned SIMD, typename InT, typename OutT, typename InWord, typename OutWord>
void concat_part(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<SIMD * InT::bits> x = in.read();
    out.write(OutWord(convert_word<SIMD, InT, OutT>(x)));
  }
}

template <unsigned WORDS, unsigned SIMD, typename DT, typename InWord, typename OutWord>
void split_part(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<SIMD * DT::bits> x = in.read();
    out.write(OutWord(x));
  }
}

}  // namespace qnncc

#endif  // QNNCC_RESHAPE_HPP
