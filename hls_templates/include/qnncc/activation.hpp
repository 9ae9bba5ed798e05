// Output activations of the MVAU/VVAU and the Thresholding layer.
//
// An activation maps the accumulator of output channel c = nf * PE + pe to
// the output value: NoActivation passes it through; Thresholds counts the
// thresholds it reaches (acc >= T[c][k]) and returns count + ACT_VAL, or
// 2 * count - 1 for a BIPOLAR output (FINN's MultiThreshold semantics).
#ifndef QNNCC_ACTIVATION_HPP
#define QNNCC_ACTIVATION_HPP

#include "qnncc/types.hpp"

namespace qnncc {

struct NoActivation {
  template <typename AccT>
  AccT activate(unsigned /*nf*/, unsigned /*pe*/, const AccT& acc) const {
#pragma HLS INLINE
    return acc;
  }
};

// Thresholds of NF * PE channels, STEPS per channel, values of type TT.
// Aggregate: initialise as {{ {{t, ...}, ...}, ... }} in [pe][nf][step] order.
template <unsigned NF, unsigned PE, unsigned STEPS, typename TT, int ACT_VAL, bool BIPOLAR_OUT>
struct Thresholds {
  TT values[PE][NF][STEPS];

  template <typename AccT>
  int activate(unsigned nf, unsigned pe, const AccT& acc) const {
#pragma HLS INLINE
    int count = 0;
    for (unsigned k = 0; k < STEPS; k++) {
#pragma HLS UNROLL
      count += (acc >= values[pe][nf][k]) ? 1 : 0;
    }
    return BIPOLAR_OUT ? 2 * count - 1 : count + ACT_VAL;
  }
};

}  // namespace qnncc

#endif  // QNNCC_ACTIVATION_HPP
