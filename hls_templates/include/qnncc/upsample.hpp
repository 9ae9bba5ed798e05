// finn-plus UpsampleNearestNeighbour: nearest-neighbour upsampling of an image of pixels of C elements.
//
// Input IFM x IFM pixels (ONE_D: IFM x 1), output OFM x OFM (ONE_D: OFM x 1), OFM >= IFM;
// output row (column) o is input row (column) (o * IFM) / OFM. One loop iteration per
// output pixel writes it; an input pixel is read at its first use (the first output row of
// its input row and the first output column of its input column) into a buffer of one
// input row, and later output rows of the same input row take it from there. One output
// pixel per cycle at II=1: OFM*OFM (ONE_D: OFM) cycles per image.
#ifndef QNNCC_UPSAMPLE_HPP
#define QNNCC_UPSAMPLE_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned IFM, unsigned OFM, bool ONE_D, typename Word, typename InWord, typename OutWord>
void upsample_nn(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(OFM >= IFM, "nearest-neighbour upsampling needs OFM >= IFM");
  const unsigned OW = ONE_D ? 1 : OFM;
  Word row[ONE_D ? 1 : IFM];
  unsigned oh = 0, ow = 0;
  for (unsigned i = 0; i < OFM * OW; i++) {
#pragma HLS PIPELINE II = 1
    const unsigned ih = (oh * IFM) / OFM, iw = ONE_D ? 0 : (ow * IFM) / OFM;
    const bool new_row = oh == 0 || ((oh - 1) * IFM) / OFM != ih;
    const bool new_col = ONE_D || ow == 0 || ((ow - 1) * IFM) / OFM != iw;
    Word x;
    if (new_row && new_col) {
      x = Word(in.read());
      row[iw] = x;
    } else {
      x = row[iw];
    }
    out.write(OutWord(x));
    if (++ow == OW) {
      ow = 0;
      ++oh;
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_UPSAMPLE_HPP
