// FMPadding: constant padding of a feature map stream.
//
// An image of H x W pixels of C channels, C/SIMD words of SIMD channels per
// pixel, becomes (TOP + H + BOTTOM) x (LEFT + W + RIGHT) pixels: the input
// surrounded by the value pad (0 by default; a padded max pool of a signed
// input pads with the datatype's minimum). One output word per cycle at II=1; an input word is
// read only for the pixels inside the original image, so a frame takes
// OH * OW * C/SIMD cycles.
#ifndef QNNCC_FMPADDING_HPP
#define QNNCC_FMPADDING_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned H, unsigned W, unsigned TOP, unsigned LEFT, unsigned BOTTOM, unsigned RIGHT, unsigned C,
          unsigned SIMD, typename DT, typename InWord, typename OutWord>
void fmpadding(hls::stream<InWord>& in, hls::stream<OutWord>& out, const int pad = 0) {
  static_assert(C % SIMD == 0, "SIMD must divide the channel count");
  const unsigned CF = C / SIMD;
  const unsigned OH = TOP + H + BOTTOM;
  const unsigned OW = LEFT + W + RIGHT;
  ap_uint<SIMD * DT::bits> border = 0;
  for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
    set_elem<DT, SIMD>(border, s, pad);
  }
  unsigned y = 0;
  unsigned x = 0;
  unsigned cf = 0;
  for (unsigned i = 0; i < OH * OW * CF; i++) {
#pragma HLS PIPELINE II = 1
    const bool inside = y >= TOP && y < TOP + H && x >= LEFT && x < LEFT + W;
    ap_uint<SIMD * DT::bits> word = border;
    if (inside) word = in.read();
    out.write(OutWord(word));
    if (++cf == CF) {
      cf = 0;
      if (++x == OW) {
        x = 0;
        y++;
      }
    }
  }
}

// Multi-pixel padding (SIMD = C, MMV > 1): MMV pixels per input and per output
// word, (H*W) % MMV == 0 and OW % MMV == 0 (an output word lies in one row).
// One output word per iteration (II=1), OH * OW / MMV cycles per frame; the
// interior pixels of an output word come from a queue of input pixels, refilled
// with one input word whenever it holds fewer than the word needs (never more
// than 2*MMV - 1 pixels).
template <unsigned H, unsigned W, unsigned TOP, unsigned LEFT, unsigned BOTTOM, unsigned RIGHT, unsigned C,
          unsigned MMV, typename DT, typename InWord, typename OutWord>
void fmpadding_mmv(hls::stream<InWord>& in, hls::stream<OutWord>& out, const int pad = 0) {
  const unsigned OH = TOP + H + BOTTOM;
  const unsigned OW = LEFT + W + RIGHT;
  static_assert(OW % MMV == 0, "MMV must divide the padded width");
  static_assert((H * W) % MMV == 0, "MMV must divide the input pixels");
  const unsigned PB = C * DT::bits;
  const unsigned WPR = OW / MMV;  // output words per row
  const unsigned QUEUE = 2 * MMV - 1;
  ap_uint<PB> border = 0;
  for (unsigned c = 0; c < C; c++) {
#pragma HLS UNROLL
    set_elem<DT, C>(border, c, pad);
  }
  ap_uint<PB> queue[QUEUE];
#pragma HLS ARRAY_PARTITION variable = queue complete dim = 1
  unsigned held = 0;  // input pixels in the queue
  unsigned y = 0;
  unsigned xw = 0;  // output row, word within the row
  for (unsigned i = 0; i < OH * WPR; i++) {
#pragma HLS PIPELINE II = 1
    const bool row_in = y >= TOP && y < TOP + H;
    unsigned need = 0;  // interior pixels of this output word
    for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
      const unsigned col = xw * MMV + m;
      if (row_in && col >= LEFT && col < LEFT + W) need++;
    }
    if (held < need) {
      const ap_uint<MMV * PB> x = in.read();
      for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
        queue[held + m] = x((m + 1) * PB - 1, m * PB);
      }
      held += MMV;
    }
    ap_uint<MMV * PB> word = 0;
    unsigned taken = 0;
    for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
      const unsigned col = xw * MMV + m;
      const bool inside = row_in && col >= LEFT && col < LEFT + W;
      word((m + 1) * PB - 1, m * PB) = inside ? queue[taken] : border;
      if (inside) taken++;
    }
    out.write(OutWord(word));
    for (unsigned q = 0; q < QUEUE; q++) {
#pragma HLS UNROLL
      if (q + need < QUEUE) queue[q] = queue[q + need];
    }
    held -= need;
    if (++xw == WPR) {
      xw = 0;
      y++;
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_FMPADDING_HPP
