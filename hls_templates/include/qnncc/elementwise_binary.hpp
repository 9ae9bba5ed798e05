// finn-plus ElementwiseBinary (ElementwiseAdd, ElementwiseMul, ElementwiseGreater, ...): out = Op(lhs, rhs)
// with numpy broadcasting.
//
// One frame of the output is A1 x A2 x A3 x A4 words of PE elements (A4 = the output's
// channel folds; the caller merges and pads the axes between batch and channel to three).
// Each operand is described by an EwOperand: its element datatype, elements per word E (PE,
// or 1 when its channel axis is broadcast: the one element goes to every lane), its MODE
//   0  a stream of the output's shape, read every iteration;
//   1  a broadcast stream: each word is read at its first use (all broadcast coordinates 0,
//      which visits the operand's words in stream order) into a buffer of WORDS words and
//      taken from the buffer afterwards;
//   2  a constant: the table rom[WORDS][E] of element values;
// its word strides S1..S4 over the four axes (0 on a broadcast axis) and BMASK, bit k set
// when axis k+1 is broadcast. Elements are converted to WideT, a signed type the caller
// picks wide enough for both operands and every result, Op::apply computes exactly, and
// the result is encoded in OutT (the caller checks OutT holds every result). One output
// word per cycle at II=1: A1*A2*A3*A4 cycles per frame.
#ifndef QNNCC_ELEMENTWISE_BINARY_HPP
#define QNNCC_ELEMENTWISE_BINARY_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <typename DT, unsigned E, unsigned MODE, unsigned WORDS, unsigned S1, unsigned S2, unsigned S3, unsigned S4,
          unsigned BMASK>
struct EwOperand {
  typedef DT dt;
  static const unsigned elems = E, mode = MODE, words = WORDS, s1 = S1, s2 = S2, s3 = S3, s4 = S4, bmask = BMASK;
};

// Arithmetic (exact in WideT).
struct EwAdd { template <typename T> static T apply(const T& a, const T& b) { return T(a + b); } };
struct EwSub { template <typename T> static T apply(const T& a, const T& b) { return T(a - b); } };
struct EwMul { template <typename T> static T apply(const T& a, const T& b) { return T(a * b); } };
struct EwMaximum { template <typename T> static T apply(const T& a, const T& b) { return a > b ? a : b; } };
struct EwMinimum { template <typename T> static T apply(const T& a, const T& b) { return a < b ? a : b; } };
// Logical (non-zero is true) and comparisons: 0 or 1.
struct EwAnd { template <typename T> static T apply(const T& a, const T& b) { return T((a != 0) && (b != 0)); } };
struct EwOr { template <typename T> static T apply(const T& a, const T& b) { return T((a != 0) || (b != 0)); } };
struct EwXor { template <typename T> static T apply(const T& a, const T& b) { return T((a != 0) != (b != 0)); } };
struct EwEqual { template <typename T> static T apply(const T& a, const T& b) { return T(a == b); } };
struct EwLess { template <typename T> static T apply(const T& a, const T& b) { return T(a < b); } };
struct EwLessOrEqual { template <typename T> static T apply(const T& a, const T& b) { return T(a <= b); } };
struct EwGreater { template <typename T> static T apply(const T& a, const T& b) { return T(a > b); } };
struct EwGreaterOrEqual { template <typename T> static T apply(const T& a, const T& b) { return T(a >= b); } };
// Bitwise on the two's complement values (sign-extended to WideT, as numpy's int64).
struct EwBitwiseAnd { template <typename T> static T apply(const T& a, const T& b) { return T(a & b); } };
struct EwBitwiseOr { template <typename T> static T apply(const T& a, const T& b) { return T(a | b); } };
struct EwBitwiseXor { template <typename T> static T apply(const T& a, const T& b) { return T(a ^ b); } };

// The word of operand O at the output coordinates (c1, c2, c3, c4): read, buffered or constant.
template <typename O, typename ConstT, typename InWord>
ap_uint<O::elems * O::dt::bits> ew_fetch(hls::stream<InWord>& in, ap_uint<O::elems * O::dt::bits> buf[],
                                         const ConstT rom[][O::elems], unsigned c1, unsigned c2, unsigned c3,
                                         unsigned c4) {
#pragma HLS INLINE
  typedef ap_uint<O::elems * O::dt::bits> Word;
  const unsigned idx = c1 * O::s1 + c2 * O::s2 + c3 * O::s3 + c4 * O::s4;
  if (O::mode == 0) return Word(in.read());
  if (O::mode == 2) {
    Word w = 0;
    for (unsigned e = 0; e < O::elems; e++) {
#pragma HLS UNROLL
      set_elem<typename O::dt, O::elems>(w, e, rom[idx][e]);
    }
    return w;
  }
  const bool first = !(((O::bmask & 1) && c1) || ((O::bmask & 2) && c2) || ((O::bmask & 4) && c3) ||
                       ((O::bmask & 8) && c4));
  if (first) {
    const Word w = in.read();
    buf[idx] = w;
    return w;
  }
  return buf[idx];
}

template <unsigned A1, unsigned A2, unsigned A3, unsigned A4, unsigned PE, typename Op, typename WideT, typename OutT,
          typename L, typename R, typename LConstT, typename RConstT, typename LWord, typename RWord, typename OutWord>
void elementwise_binary(hls::stream<LWord>& lhs, hls::stream<RWord>& rhs, hls::stream<OutWord>& out,
                        const LConstT lrom[][L::elems], const RConstT rrom[][R::elems]) {
  static_assert(L::elems == PE || L::elems == 1, "lhs: PE or one element per word");
  static_assert(R::elems == PE || R::elems == 1, "rhs: PE or one element per word");
  ap_uint<L::elems * L::dt::bits> lbuf[L::mode == 1 ? L::words : 1];
  ap_uint<R::elems * R::dt::bits> rbuf[R::mode == 1 ? R::words : 1];
  unsigned c1 = 0, c2 = 0, c3 = 0, c4 = 0;
  for (unsigned i = 0; i < A1 * A2 * A3 * A4; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<L::elems * L::dt::bits> a = ew_fetch<L>(lhs, lbuf, lrom, c1, c2, c3, c4);
    const ap_uint<R::elems * R::dt::bits> b = ew_fetch<R>(rhs, rbuf, rrom, c1, c2, c3, c4);
    ap_uint<PE * OutT::bits> y = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const WideT x = WideT(get_elem<typename L::dt, L::elems>(a, L::elems == 1 ? 0 : pe));
      const WideT z = WideT(get_elem<typename R::dt, R::elems>(b, R::elems == 1 ? 0 : pe));
      set_elem<OutT, PE>(y, pe, Op::apply(x, z));
    }
    out.write(OutWord(y));
    if (++c4 == A4) {
      c4 = 0;
      if (++c3 == A3) {
        c3 = 0;
        if (++c2 == A2) {
          c2 = 0;
          ++c1;
        }
      }
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_ELEMENTWISE_BINARY_HPP
