// Stream data width converter: regroups a stream of I-element words into
// O-element words, elements in the same order (any I and O, not only
// multiples of each other).
//
// An element buffer of I + O - 1 elements is filled one input word at a time
// while it holds fewer than O elements, and an output word leaves whenever it
// holds at least O. Each iteration reads at most one and writes at most one
// word, so a frame of E elements takes about max(E/I, E/O) cycles at II=1.
#ifndef QNNCC_DWC_HPP
#define QNNCC_DWC_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned I, unsigned O, unsigned ELEMS, typename DT, typename InWord, typename OutWord>
void dwc(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(ELEMS % I == 0 && ELEMS % O == 0, "I and O must divide the elements per frame");
  const int B = DT::bits;
  ap_uint<(I + O) * B> buffer = 0;
  unsigned have = 0;
  for (unsigned written = 0; written < ELEMS / O;) {
#pragma HLS PIPELINE II = 1
    if (have < O) {
      const ap_uint<I * B> word = in.read();
      ap_uint<(I + O) * B> wide = word;
      buffer |= wide << (have * B);
      have += I;
    }
    if (have >= O) {
      const ap_uint<O * B> word = buffer(O * B - 1, 0);
      out.write(OutWord(word));
      buffer >>= O * B;
      have -= O;
      written++;
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_DWC_HPP
