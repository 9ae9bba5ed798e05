// MVAU with its weights on a stream: FINN's mem_mode "internal_decoupled" and "external".
//
// mvau_stream computes what mvau (mvau.hpp) computes, but reads one weight
// word of PE * SIMD weights per iteration from `weights` instead of a ROM
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
  static_assert(MW % SIMD == 0, "SIMD must divide MW");
  static_assert(MH % PE == 0, "PE must divide MH");
  const unsigned SF = MW / SIMD;
  const unsigned NF = MH / PE;
  const unsigned LANE = SIMD * WT::bits;
  ap_uint<SIMD * InT::bits> inbuf[MW / SIMD];
  const unsigned DIST = SF >= 2 ? SF : 2;  // as in mvau: inbuf[sf] is read at least SF iterations after its write
#pragma HLS DEPENDENCE variable = inbuf type = inter direction = RAW dependent = true distance = DIST
  AccT acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
  unsigned sf = 0;
  unsigned nf = 0;
  for (unsigned i = 0; i < NUMVEC * SF * NF; i++) {
#pragma HLS PIPELINE II = 1
    ap_uint<SIMD * InT::bits> x;
    if (nf == 0) {
      x = in.read();
      inbuf[sf] = x;
    } else {
      x = inbuf[sf];
    }
    const ap_uint<PE * LANE> w = weights.read();
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const ap_uint<LANE> wpe = w((pe + 1) * LANE - 1, pe * LANE);
      const AccT partial = Dot<SIMD, InT, WT, AccT, XNOR, RES>::compute(x, wpe);
      acc[pe] = (sf == 0) ? partial : AccT(acc[pe] + partial);
    }
    if (++sf == SF) {
      ap_uint<PE * OutT::bits> y = 0;
      for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
        set_elem<OutT, PE>(y, pe, act.activate(nf, pe, acc[pe]));
      }
      out.write(OutWord(y));
      sf = 0;
      if (++nf == NF) nf = 0;
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_MVAU_STREAM_HPP
