// Vector-vector-activation unit (VVAU): the MAC of a depthwise convolution.
//
// For each of NUMPIX output pixels it reads the window of K kernel positions
// x C channels in Im2Col order (flat index f = k*C + c, the order of the
// sliding window generator), SIMD*PE elements per word (K*C/(SIMD*PE) words),
// computes acc[c] = sum_k x[k][c] * W[k][c] and writes C/PE words of PE
// activated outputs (channel c = nf*PE + pe in lane pe of word nf).
//
// Weight memory layout: weights[w] holds, in lane e, W[f / C][f % C] for
// f = w*SIMD*PE + e (the weights in the same flat order as the window).
//
// Datapath: with G = gcd(SIMD*PE, C), a word is SUB = SIMD*PE/G chunks of G
// consecutive channels of one kernel position; the accumulators form R = C/G
// rows of G lanes, and a chunk updates one row (a word updates SUB rows, the
// same row several times when SUB > R). A row is finished by its chunk of the
// last kernel position, which stores the sums in a ping-pong result buffer
// (one bank per pixel parity); the result buffer is drained, and activated,
// PE channels per cycle while the next pixel is read. One loop at II=1 reads
// at most one and writes at most one word per iteration: about
// NUMPIX * K*C/(SIMD*PE) + C/PE cycles per frame. RES binds the multipliers
// (mul.hpp).
#ifndef QNNCC_VVAU_HPP
#define QNNCC_VVAU_HPP

#include "qnncc/activation.hpp"
#include "qnncc/mul.hpp"
#include "qnncc/types.hpp"
#include "qnncc/weight_source.hpp"

namespace qnncc {

constexpr unsigned gcd_u(unsigned a, unsigned b) { return b == 0 ? a : gcd_u(b, a % b); }

// The compute loop of every mem_mode: `weights` is the ROM of K*C/(SIMD*PE)
// words (vvau) or the weight stream (vvau_stream, vvau_stream.hpp), read
// through WeightWord (weight_source.hpp); input word w of a window reads weight word w.
template <unsigned C, unsigned K, unsigned PE, unsigned SIMD, unsigned NUMPIX, typename InT, typename WT,
          typename OutT, typename AccT, unsigned RES, typename Act, typename InWord, typename WSrc, typename OutWord>
void vvau_compute(hls::stream<InWord>& in, WSrc& weights, hls::stream<OutWord>& out, const Act& act) {
#pragma HLS INLINE
  static_assert(C % PE == 0, "PE must divide the channel count");
  static_assert(K % SIMD == 0, "SIMD must divide the kernel size");
  const unsigned SP = SIMD * PE;
  const unsigned G = gcd_u(SP, C);
  const unsigned R = C / G;
  const unsigned SUB = SP / G;
  const unsigned IN_WORDS = K * C / SP;
  const unsigned OUT_PER_ROW = G / PE;
  const unsigned ROW_STEP = SUB % R;  // a word advances the chunk position by SUB rows
  const unsigned KP_STEP = SUB / R;
  const unsigned ROW_BANKS = SUB == 1 ? 1 : R;  // rows touched in one cycle
  AccT acc[R][G];
  AccT res[2][R][G];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = acc cyclic factor = ROW_BANKS dim = 1
#pragma HLS ARRAY_PARTITION variable = res complete dim = 3
#pragma HLS ARRAY_PARTITION variable = res cyclic factor = ROW_BANKS dim = 2
  // SUB = 1: a word updates one accumulator row and the next update of that
  // row comes R words later (DIST = R; R = 1 leaves one row of registers).
  const unsigned DIST = (SUB == 1 && R >= 2) ? R : 2;
#pragma HLS DEPENDENCE variable = acc type = inter direction = RAW dependent = true distance = DIST
// proof: the read side writes bank rd_pix & 1 and the drain reads bank
// dr_pix & 1 with dr_pix < rd_pix < dr_pix + 2, so they never share a bank.
#pragma HLS DEPENDENCE variable = res type = inter false
  // read side: pixel, word within the pixel, (row, kernel position) of its first chunk
  unsigned rd_pix = 0;
  unsigned word = 0;
  unsigned row0 = 0;
  unsigned kp0 = 0;
  // drain side: pixel, row, output word within the row
  unsigned dr_pix = 0;
  unsigned dr_row = 0;
  unsigned dr_word = 0;
  while (dr_pix < NUMPIX) {
#pragma HLS PIPELINE II = 1
    const bool can_drain = dr_pix < rd_pix;
    const bool can_read = rd_pix < NUMPIX && rd_pix < dr_pix + 2;
    if (can_drain) {
      const unsigned bank = dr_pix & 1;
      ap_uint<PE * OutT::bits> y = 0;
      for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
        const AccT sum = res[bank][dr_row][dr_word * PE + pe];
        set_elem<OutT, PE>(y, pe, act.activate(dr_row * OUT_PER_ROW + dr_word, pe, sum));
      }
      out.write(OutWord(y));
      if (++dr_word == OUT_PER_ROW) {
        dr_word = 0;
        if (++dr_row == R) {
          dr_row = 0;
          dr_pix++;
        }
      }
    }
    if (can_read) {
      const ap_uint<SP * InT::bits> x = in.read();
      const ap_uint<SP * WT::bits> w = WeightWord<SP * WT::bits>::fetch(weights, word);
      const unsigned bank = rd_pix & 1;
      unsigned row = row0;
      unsigned kp = kp0;
      for (unsigned q = 0; q < SUB; q++) {
#pragma HLS UNROLL
        for (unsigned g = 0; g < G; g++) {
#pragma HLS UNROLL
          const unsigned e = q * G + g;
          const AccT product = Mul<RES>::template product<AccT>(get_elem<InT, SP>(x, e), get_elem<WT, SP>(w, e));
          const AccT sum = (kp == 0 ? AccT(0) : acc[row][g]) + product;
          if (kp == K - 1) {
            res[bank][row][g] = sum;
          } else {
            acc[row][g] = sum;
          }
        }
        if (++row == R) {
          row = 0;
          kp++;
        }
      }
      if (++word == IN_WORDS) {
        word = 0;
        row0 = 0;
        kp0 = 0;
        rd_pix++;
      } else {
        row0 += ROW_STEP;
        kp0 += KP_STEP;
        if (row0 >= R) {
          row0 -= R;
          kp0++;
        }
      }
    }
  }
}

// mem_mode internal_embedded: the weights are a ROM inside the compute.
template <unsigned C, unsigned K, unsigned PE, unsigned SIMD, unsigned NUMPIX, typename InT, typename WT,
          typename OutT, typename AccT, unsigned RES = RES_AUTO, typename Act, typename InWord, typename OutWord>
void vvau(hls::stream<InWord>& in, hls::stream<OutWord>& out,
          const ap_uint<SIMD * PE * WT::bits> (&weights)[K * C / (SIMD * PE)], const Act& act) {
  vvau_compute<C, K, PE, SIMD, NUMPIX, InT, WT, OutT, AccT, RES>(in, weights, out, act);
}

// MMV pixels per cycle (SIMD = K, PE = C, qnncc's MMV attribute): each
// iteration reads one word of MMV whole windows (window m in elements
// m*K*C .. , Im2Col order f = k*C + c within it), computes the C dot products
// of K terms of each with MMV copies of the datapath sharing the weights, and
// writes one word of MMV results (pixel m in elements m*C ..). NUMPIX / MMV
// cycles per frame. Weights as vvau's with one word: lane f of weights[0] is
// W[f / C][f % C].
template <unsigned C, unsigned K, unsigned MMV, unsigned NUMPIX, typename InT, typename WT, typename OutT,
          typename AccT, unsigned RES = RES_AUTO, typename Act, typename InWord, typename OutWord>
void vvau_mmv(hls::stream<InWord>& in, hls::stream<OutWord>& out, const ap_uint<K * C * WT::bits> weights[1],
              const Act& act) {
  static_assert(NUMPIX % MMV == 0, "MMV must divide the pixels per frame");
  const unsigned KC = K * C;
  for (unsigned i = 0; i < NUMPIX / MMV; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<MMV * KC * InT::bits> x = in.read();
    ap_uint<MMV * C * OutT::bits> y = 0;
    for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
      for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
        AccT sum = 0;
        for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
          sum += Mul<RES>::template product<AccT>(get_elem<InT, MMV * KC>(x, m * KC + k * C + c),
                                                  get_elem<WT, KC>(weights[0], k * C + c));
        }
        set_elem<OutT, MMV * C>(y, m * C + c, act.activate(0, c, sum));
      }
    }
    out.write(OutWord(y));
  }
}

}  // namespace qnncc

#endif  // QNNCC_VVAU_HPP
