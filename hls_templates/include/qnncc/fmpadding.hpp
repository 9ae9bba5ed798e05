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

}  // namespace qnncc

#endif  // QNNCC_FMPADDING_HPP
