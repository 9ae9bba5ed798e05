// Multiplier resource binding of the dot products (FINN's resType).
//
// RES selects how Vitis HLS implements the products of an MVAU or VVAU:
// RES_AUTO lets the tool decide, RES_LUT binds them to fabric (LUTs) and
// RES_DSP to DSP slices, with BIND_OP (Vitis HLS User Guide UG1399,
// "pragma HLS bind_op": op = mul, impl = dsp | fabric). The folding
// optimiser chooses lut or dsp for multipliers of at least 4 x 4 bits.
#ifndef QNNCC_MUL_HPP
#define QNNCC_MUL_HPP

namespace qnncc {

const unsigned RES_AUTO = 0;
const unsigned RES_LUT = 1;
const unsigned RES_DSP = 2;

template <unsigned RES>
struct Mul {
  template <typename P, typename A, typename B>
  static P product(const A& a, const B& b) {
#pragma HLS INLINE
    const P p = P(a * b);
    return p;
  }
};

template <>
struct Mul<RES_LUT> {
  template <typename P, typename A, typename B>
  static P product(const A& a, const B& b) {
#pragma HLS INLINE
    const P p = P(a * b);
#pragma HLS BIND_OP variable = p op = mul impl = fabric
    return p;
  }
};

template <>
struct Mul<RES_DSP> {
  template <typename P, typename A, typename B>
  static P product(const A& a, const B& b) {
#pragma HLS INLINE
    const P p = P(a * b);
#pragma HLS BIND_OP variable = p op = mul impl = dsp
    return p;
  }
};

}  // namespace qnncc

#endif  // QNNCC_MUL_HPP
