// Thresholding layer: per-channel multi-thresholding of a stream.
//
// Reads NUMVEC * C/PE words of PE elements; element pe of word nf is channel
// c = nf * PE + pe and is mapped by the activation (see activation.hpp).
// One word per cycle at II=1: NUMVEC * C/PE cycles per frame.
#ifndef QNNCC_THRESHOLDING_HPP
#define QNNCC_THRESHOLDING_HPP

#include "qnncc/activation.hpp"
#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned C, unsigned PE, unsigned NUMVEC, typename InT, typename OutT, typename Act, typename InWord,
          typename OutWord>
void thresholding(hls::stream<InWord>& in, hls::stream<OutWord>& out, const Act& act) {
  static_assert(C % PE == 0, "PE must divide the channel count");
  const unsigned NF = C / PE;
  unsigned nf = 0;
  for (unsigned i = 0; i < NUMVEC * NF; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<PE * InT::bits> x = in.read();
    ap_uint<PE * OutT::bits> y = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      set_elem<OutT, PE>(y, pe, act.activate(nf, pe, get_elem<InT, PE>(x, pe)));
    }
    out.write(OutWord(y));
    if (++nf == NF) nf = 0;
  }
}

}  // namespace qnncc

#endif  // QNNCC_THRESHOLDING_HPP
