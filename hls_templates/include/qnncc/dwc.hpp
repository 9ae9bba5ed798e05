// Stream data width converter: regroups a stream of I-element words into
// O-element words, elements in the same order (any I and O, not only
// multiples of each other).
//
// Each iteration reads at most one and writes at most one word, so a frame
// of E elements takes about max(E/I, E/O) cycles at II=1. Three datapaths,
// chosen at compile time, none with a variable shift of a wide word (a barrel
// shifter of (I + O) * bits bits, e.g. 812 bits for TFC on ZCU104):
//   O = k*I (up):   input word j of an output word goes into the constant
//                   bit range j (an unrolled compare per slot, a write enable);
//   I = k*O (down): output word j of an input word is the constant bit range
//                   j of it (an unrolled k-way multiplexer);
//   otherwise:      an element buffer of I + O elements filled at one of the
//                   O/g + 1 possible fill levels (g = gcd(I, O)), each a
//                   constant shift selected by an unrolled compare, and
//                   drained by the constant shift O*bits.
#ifndef QNNCC_DWC_HPP
#define QNNCC_DWC_HPP

#include "qnncc/types.hpp"

namespace qnncc {

constexpr unsigned dwc_gcd(unsigned a, unsigned b) { return b == 0 ? a : dwc_gcd(b, a % b); }

template <unsigned I, unsigned O, unsigned ELEMS, typename DT, typename InWord, typename OutWord>
void dwc(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(ELEMS % I == 0 && ELEMS % O == 0, "I and O must divide the elements per frame");
  const int B = DT::bits;
  if (O % I == 0) {
    const unsigned K = O / I;
    ap_uint<O * B> word = 0;
    unsigned slot = 0;
    for (unsigned r = 0; r < ELEMS / I; r++) {
#pragma HLS PIPELINE II = 1
      const ap_uint<I * B> x = in.read();
      for (unsigned j = 0; j < K; j++) {
#pragma HLS UNROLL
        if (slot == j) word((j + 1) * I * B - 1, j * I * B) = x;
      }
      if (++slot == K) {
        slot = 0;
        out.write(OutWord(word));
      }
    }
  } else if (I % O == 0) {
    const unsigned K = I / O;
    ap_uint<I * B> word = 0;
    unsigned slot = 0;
    for (unsigned w = 0; w < ELEMS / O; w++) {
#pragma HLS PIPELINE II = 1
      if (slot == 0) word = in.read();
      ap_uint<O * B> y = 0;
      for (unsigned j = 0; j < K; j++) {
#pragma HLS UNROLL
        if (slot == j) y = word((j + 1) * O * B - 1, j * O * B);
      }
      out.write(OutWord(y));
      if (++slot == K) slot = 0;
    }
  } else {
    const unsigned G = dwc_gcd(I, O);
    const unsigned LEVELS = O / G;  // fill levels before a read: 0, G, ..., O - G
    ap_uint<(I + O) * B> buffer = 0;
    unsigned have = 0;
    for (unsigned written = 0; written < ELEMS / O;) {
#pragma HLS PIPELINE II = 1
      if (have < O) {
        const ap_uint<(I + O) * B> wide = ap_uint<I * B>(in.read());
        for (unsigned l = 0; l < LEVELS; l++) {
#pragma HLS UNROLL
          if (have == l * G) buffer |= wide << (l * G * B);
        }
        have += I;
      }
      if (have >= O) {
        out.write(OutWord(ap_uint<O * B>(buffer(O * B - 1, 0))));
        buffer >>= O * B;
        have -= O;
        written++;
      }
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_DWC_HPP
