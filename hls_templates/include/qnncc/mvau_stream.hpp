// MVAU with its weights on a stream: FINN's mem_mode "internal_decoupled" and "external".
//
// mvau_stream runs mvau's compute loop (mvau_compute, mvau.hpp) with one weight
// word of PE * SIMD weights per iteration read from `weights` instead of a ROM
// (finn-hlslib's Matrix_Vector_Activate_Stream_Batch does the same). The
// stream carries the whole matrix once per input vector: NUMVEC * NF * SF
// words per frame, word i = nf * SF + sf of a pass holding, in element
// pe * SIMD + s (bits (pe * SIMD + s) * W ..), the weight W[sf * SIMD + s][nf * PE + pe].
//
// internal_decoupled: the layer's top runs weight_streamer (FINN's memstream: the
// ROM in its own process) and mvau_stream in one DATAFLOW region.
// external: the stream is an AXI-Stream input of the layer, fed by a DMA from DRAM.
#ifndef QNNCC_MVAU_STREAM_HPP
#define QNNCC_MVAU_STREAM_HPP

#include "qnncc/mvau.hpp"

namespace qnncc {

// NUMVEC passes over weights[PE][WMEM] (each entry SIMD weights of WBITS bits
// together): word i of a pass concatenates weights[pe][i] for pe = 0 .. PE-1, pe 0 in the LSBs.
template <unsigned PE, unsigned WMEM, unsigned NUMVEC, unsigned WBITS, typename WWord>
void weight_streamer(const ap_uint<WBITS> weights[PE][WMEM], hls::stream<WWord>& out) {
  unsigned w = 0;
  for (unsigned i = 0; i < NUMVEC * WMEM; i++) {
#pragma HLS PIPELINE II = 1
    ap_uint<PE * WBITS> word = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      word((pe + 1) * WBITS - 1, pe * WBITS) = weights[pe][w];
    }
    out.write(WWord(word));
    if (++w == WMEM) w = 0;
  }
}

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NUMVEC, typename InT, typename WT,
          typename OutT, typename AccT, bool XNOR, unsigned RES = RES_AUTO, typename Act, typename InWord,
          typename WWord, typename OutWord>
void mvau_stream(hls::stream<InWord>& in, hls::stream<WWord>& weights, hls::stream<OutWord>& out, const Act& act) {
  mvau_compute<MW, MH, SIMD, PE, NUMVEC, InT, WT, OutT, AccT, XNOR, RES>(in, weights, out, act);
}

}  // namespace qnncc

#endif  // QNNCC_MVAU_STREAM_HPP
