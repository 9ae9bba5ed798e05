// Matrix-vector-activation unit (MVAU) with PE/SIMD folding.
//
// For each of NUMVEC input vectors x[MW] (read as MW/SIMD words of SIMD
// elements) it computes acc[c] = sum_i x[i] * W[i][c] for the MH output
// channels, PE channels at a time, and writes MH/PE words of PE activated
// outputs. One word in per cycle: NUMVEC * (MW/SIMD) * (MH/PE) cycles per
// frame at II=1 (Umuroglu et al., "FINN", FPGA 2017). The input vector is
// buffered during the first neuron fold and replayed for the others.
//
// Weight memory layout: weights[pe][nf * SF + sf] holds, in lane s, the
// weight W[sf * SIMD + s][nf * PE + pe] (SF = MW/SIMD, NF = MH/PE).
// XNOR mode (BINARY input and weights encoding bipolar values): a lane
// contributes 1 when its input and weight bits are equal (popcount of XNOR).
#ifndef QNNCC_MVAU_HPP
#define QNNCC_MVAU_HPP

#include "qnncc/activation.hpp"
#include "qnncc/mul.hpp"
#include "qnncc/types.hpp"
#include "qnncc/weight_source.hpp"

namespace qnncc {

// Dot product of one SIMD-wide input word and one weight word; RES binds the
// multipliers (mul.hpp).
template <unsigned SIMD, typename InT, typename WT, typename AccT, bool XNOR, unsigned RES = RES_AUTO>
struct Dot {
  static AccT compute(const ap_uint<SIMD * InT::bits>& x, const ap_uint<SIMD * WT::bits>& w) {
#pragma HLS INLINE
#ifdef QNNCC_CSIM_FAST
    if (AccT::width <= 62) {  // C simulation: the same sum in native 64-bit integers
      uint64_t xc[(SIMD * InT::bits + 63) / 64], wc[(SIMD * WT::bits + 63) / 64];
      word_chunks<SIMD * InT::bits>(x, xc);
      word_chunks<SIMD * WT::bits>(w, wc);
      int64_t total = 0;
      for (unsigned s = 0; s < SIMD; s++) {
        total += InT::decode_i64(chunk_field(xc, s * InT::bits, InT::bits)) *
                 WT::decode_i64(chunk_field(wc, s * WT::bits, WT::bits));
      }
      return AccT(total);
    }
#endif
    AccT sum = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      sum += Mul<RES>::template product<AccT>(get_elem<InT, SIMD>(x, s), get_elem<WT, SIMD>(w, s));
    }
    return sum;
  }
};

template <unsigned SIMD, typename InT, typename WT, typename AccT, unsigned RES>
struct Dot<SIMD, InT, WT, AccT, true, RES> {
  static AccT compute(const ap_uint<SIMD>& x, const ap_uint<SIMD>& w) {
#pragma HLS INLINE
    const ap_uint<SIMD> same = ~(x ^ w);
    return AccT(popcount<SIMD>(same));
  }
};

// The compute loop of every mem_mode: `weights` is the ROM weights[PE][WMEM]
// (mvau) or the weight stream (mvau_stream, mvau_stream.hpp), read through
// WeightLanes (weight_source.hpp); iteration nf * SF + sf reads weight word
// nf * SF + sf of the layout above.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NUMVEC, typename InT, typename WT,
          typename OutT, typename AccT, bool XNOR, unsigned RES, typename Act, typename InWord, typename WSrc,
          typename OutWord>
void mvau_compute(hls::stream<InWord>& in, WSrc& weights, hls::stream<OutWord>& out, const Act& act) {
#pragma HLS INLINE
  static_assert(MW % SIMD == 0, "SIMD must divide MW");
  static_assert(MH % PE == 0, "PE must divide MH");
  const unsigned SF = MW / SIMD;
  const unsigned NF = MH / PE;
  const unsigned LANE = SIMD * WT::bits;
  ap_uint<SIMD * InT::bits> inbuf[MW / SIMD];
  // inbuf[sf] is written in neuron fold 0 and read in folds 1.. NF-1, at
  // least SF iterations later (SF = 1 leaves one register).
  const unsigned DIST = SF >= 2 ? SF : 2;
#pragma HLS DEPENDENCE variable = inbuf type = inter direction = RAW dependent = true distance = DIST
  AccT acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
  ap_uint<LANE> w[PE];
#pragma HLS ARRAY_PARTITION variable = w complete
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
    WeightLanes<PE, LANE>::fetch(weights, nf * SF + sf, w);
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const AccT partial = Dot<SIMD, InT, WT, AccT, XNOR, RES>::compute(x, w[pe]);
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

// mem_mode internal_embedded: the weights are a ROM inside the compute.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NUMVEC, typename InT, typename WT,
          typename OutT, typename AccT, bool XNOR, unsigned RES = RES_AUTO, typename Act, typename InWord,
          typename OutWord>
void mvau(hls::stream<InWord>& in, hls::stream<OutWord>& out,
          const ap_uint<SIMD * WT::bits> (&weights)[PE][(MW / SIMD) * (MH / PE)], const Act& act) {
  mvau_compute<MW, MH, SIMD, PE, NUMVEC, InT, WT, OutT, AccT, XNOR, RES>(in, weights, out, act);
}

// MMV vectors per cycle (SIMD = MW, PE = MH, qnncc's MMV attribute; FINN-hlslib's
// multi-vector unit): each iteration reads one word of MMV whole input vectors
// (vector m in elements m*MW .. m*MW + MW-1), computes all MH outputs of each
// with MMV copies of the datapath sharing the weights, and writes one word of
// MMV results (vector m in elements m*MH ..). NUMVEC / MMV cycles per frame.
// Weights as mvau's with SF = NF = 1: weights[pe][0] holds column pe of W.
template <unsigned MW, unsigned MH, unsigned MMV, unsigned NUMVEC, typename InT, typename WT, typename OutT,
          typename AccT, bool XNOR, unsigned RES = RES_AUTO, typename Act, typename InWord, typename OutWord>
void mvau_mmv(hls::stream<InWord>& in, hls::stream<OutWord>& out, const ap_uint<MW * WT::bits> weights[MH][1],
              const Act& act) {
  static_assert(NUMVEC % MMV == 0, "MMV must divide the vectors per frame");
  const unsigned VB = MW * InT::bits;
  for (unsigned i = 0; i < NUMVEC / MMV; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<MMV * VB> x = in.read();
    ap_uint<MMV * MH * OutT::bits> y = 0;
    for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
      const ap_uint<VB> v = x((m + 1) * VB - 1, m * VB);
      for (unsigned pe = 0; pe < MH; pe++) {
#pragma HLS UNROLL
        const AccT acc = Dot<MW, InT, WT, AccT, XNOR, RES>::compute(v, weights[pe][0]);
        set_elem<OutT, MMV * MH>(y, m * MH + pe, act.activate(0, pe, acc));
      }
    }
    out.write(OutWord(y));
  }
}

}  // namespace qnncc

#endif  // QNNCC_MVAU_HPP
