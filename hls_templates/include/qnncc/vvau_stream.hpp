// VVAU with its weights on a stream: FINN's mem_mode "internal_decoupled" and "external" for the
// depthwise MAC (vvau.hpp).
//
// vvau_stream is vvau line for line, except that the weight word of each input
// word comes from the stream `weights` instead of the ROM: the stream carries
// the K*C/(SIMD*PE) weight words of one window once per output pixel (NUMPIX
// passes per frame), word w holding lane e = W[f / C][f % C] for f = w*SIMD*PE + e.
// tests/codegen/test_mem_mode.py checks that the two functions stay identical
// apart from that read.
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
      const ap_uint<SP * WT::bits> w = weights.read();
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

}  // namespace qnncc

#endif  // QNNCC_VVAU_STREAM_HPP
