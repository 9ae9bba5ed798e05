// VVAU with its weights on a stream: FINN's mem_mode "internal_decoupled" and "external" for the
// depthwise MAC (vvau.hpp).
//
// vvau_stream runs vvau's compute loop (vvau_compute, vvau.hpp) with the weight
// word of each input word read from the stream `weights` instead of the ROM: the
// stream carries the K*C/(SIMD*PE) weight words of one window once per output
// pixel (NUMPIX passes per frame), word w holding lane e = W[f / C][f % C] for
// f = w*SIMD*PE + e.
//
// word_streamer (FINN's memstream for a one-dimensional ROM) replays rom[0 .. WORDS-1]
// PASSES times; internal_decoupled runs it and vvau_stream in one DATAFLOW region.
#ifndef QNNCC_VVAU_STREAM_HPP
#define QNNCC_VVAU_STREAM_HPP

#include "qnncc/vvau.hpp"

namespace qnncc {

template <unsigned WORDS, unsigned PASSES, unsigned BITS, typename WWord>
void word_streamer(const ap_uint<BITS> rom[WORDS], hls::stream<WWord>& out) {
  unsigned w = 0;
  for (unsigned i = 0; i < PASSES * WORDS; i++) {
#pragma HLS PIPELINE II = 1
    out.write(WWord(rom[w]));
    if (++w == WORDS) w = 0;
  }
}

template <unsigned C, unsigned K, unsigned PE, unsigned SIMD, unsigned NUMPIX, typename InT, typename WT,
          typename OutT, typename AccT, unsigned RES = RES_AUTO, typename Act, typename InWord, typename WWord,
          typename OutWord>
void vvau_stream(hls::stream<InWord>& in, hls::stream<WWord>& weights, hls::stream<OutWord>& out, const Act& act) {
  vvau_compute<C, K, PE, SIMD, NUMPIX, InT, WT, OutT, AccT, RES>(in, weights, out, act);
}

}  // namespace qnncc

#endif  // QNNCC_VVAU_STREAM_HPP
