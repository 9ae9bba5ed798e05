// LabelSelect: indices of the K largest of LABELS scores, largest first,
// the lower index first on ties (ONNX TopK order).
//
// Reads LABELS/PE words of PE scores per vector, keeps a sorted top-K list
// (insertion with a strict comparison, so an earlier index stays ahead of an
// equal later one; a fixed-size shift register, fully unrolled in hardware) and writes K words of one index each.
#ifndef QNNCC_LABELSELECT_HPP
#define QNNCC_LABELSELECT_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned LABELS, unsigned PE, unsigned K, unsigned NUMVEC, typename InT, typename OutT, typename InWord,
          typename OutWord>
void labelselect(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(LABELS % PE == 0, "PE must divide LABELS");
  static_assert(K >= 1 && K <= LABELS, "K must be in 1..LABELS");
  typedef typename InT::value_t value_t;
  for (unsigned v = 0; v < NUMVEC; v++) {
    value_t top_value[K];
    unsigned top_index[K];
    bool valid[K];
#pragma HLS ARRAY_PARTITION variable = top_value complete
#pragma HLS ARRAY_PARTITION variable = top_index complete
#pragma HLS ARRAY_PARTITION variable = valid complete
    for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
      valid[k] = false;
    }
    for (unsigned w = 0; w < LABELS / PE; w++) {
#pragma HLS PIPELINE II = 1
      const ap_uint<PE * InT::bits> x = in.read();
      for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
        const value_t value = get_elem<InT, PE>(x, pe);
        const unsigned index = w * PE + pe;
        // Shift-register insertion, slots from the last to the first: slot j
        // takes the new value if it beats slot j and not slot j-1, else the
        // old content of slot j-1 when it beats slot j.
        for (int j = K - 1; j >= 0; j--) {
#pragma HLS UNROLL
          const bool beats = !valid[j] || value > top_value[j];
          if (!beats) continue;
          const bool place = (j == 0) || (valid[j - 1] && !(value > top_value[j - 1]));
          if (place) {
            top_value[j] = value;
            top_index[j] = index;
            valid[j] = true;
          } else {
            top_value[j] = top_value[j - 1];
            top_index[j] = top_index[j - 1];
            valid[j] = valid[j - 1];
          }
        }
      }
    }
    for (unsigned k = 0; k < K; k++) {
#pragma HLS PIPELINE II = 1
      ap_uint<OutT::bits> y = 0;
      set_elem<OutT, 1>(y, 0, top_index[k]);
      out.write(OutWord(y));
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_LABELSELECT_HPP
