// ChannelwiseOp: one per-channel parameter applied to every element of a stream.
//
// Reads NUMVEC * C/PE words of PE elements; element pe of word nf is channel
// c = nf * PE + pe and becomes Op::apply(p[c], x) with the parameter table
// params[pe][nf] = p[nf * PE + pe]. The operations evaluate Func(param, x)
// in argument order, as finn-hlslib's ChannelWiseOperation:
//   ChannelwiseAdd    p + x
//   ChannelwiseMul    p * x
//   ChannelwiseCmpLe  p <= x ? 1 : 0
//   ChannelwiseCmpGe  p >= x ? 1 : 0
// Parameter and input are converted to WideT, a signed type the caller picks
// wide enough for every input, parameter and result, so the operation is
// exact; the result is then encoded in OutT (which the caller checks holds
// every result). One word per cycle at II=1: NUMVEC * C/PE cycles per frame.
#ifndef QNNCC_CHANNELWISE_HPP
#define QNNCC_CHANNELWISE_HPP

#include "qnncc/types.hpp"

namespace qnncc {

struct ChannelwiseAdd {
  template <typename T>
  static T apply(const T& p, const T& x) {
#pragma HLS INLINE
    return T(p + x);
  }
};

struct ChannelwiseMul {
  template <typename T>
  static T apply(const T& p, const T& x) {
#pragma HLS INLINE
    return T(p * x);
  }
};

struct ChannelwiseCmpLe {
  template <typename T>
  static T apply(const T& p, const T& x) {
#pragma HLS INLINE
    return (p <= x) ? T(1) : T(0);
  }
};

struct ChannelwiseCmpGe {
  template <typename T>
  static T apply(const T& p, const T& x) {
#pragma HLS INLINE
    return (p >= x) ? T(1) : T(0);
  }
};

template <unsigned C, unsigned PE, unsigned NUMVEC, typename InT, typename OutT, typename WideT, typename Op,
          typename ParamT, typename InWord, typename OutWord>
void channelwise(hls::stream<InWord>& in, hls::stream<OutWord>& out, const ParamT params[PE][C / PE]) {
  static_assert(C % PE == 0, "PE must divide the channel count");
  const unsigned NF = C / PE;
  unsigned nf = 0;
  for (unsigned i = 0; i < NUMVEC * NF; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<PE * InT::bits> x = in.read();
    ap_uint<PE * OutT::bits> y = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const WideT r = Op::apply(WideT(params[pe][nf]), WideT(get_elem<InT, PE>(x, pe)));
      set_elem<OutT, PE>(y, pe, r);
    }
    out.write(OutWord(y));
    if (++nf == NF) nf = 0;
  }
}

}  // namespace qnncc

#endif  // QNNCC_CHANNELWISE_HPP
