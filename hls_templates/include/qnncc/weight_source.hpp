// Weight sources of the MVAU and VVAU compute loops: a ROM on chip or a stream.
//
// The compute loop of each layer exists once (mvau_compute in mvau.hpp,
// vvau_compute in vvau.hpp) and reads its weights through one of these, chosen
// by overload on the type of the weight argument:
//
// * a ROM (FINN's mem_mode "internal_embedded"): the weights are an array,
//   passed by reference, and iteration i reads entry i of it;
// * a stream (mem_mode "internal_decoupled", fed by weight_streamer /
//   word_streamer, or "external", fed by a DMA): iteration i reads the next
//   word, which is entry i of the ROM's layout (i is not used).
//
// Both are inlined into the compute loop, so the loop's schedule (one input
// word and one weight word per iteration at II=1) is the same in every mode.
#ifndef QNNCC_WEIGHT_SOURCE_HPP
#define QNNCC_WEIGHT_SOURCE_HPP

#include "qnncc/types.hpp"

namespace qnncc {

// The PE lanes of LANE bits (SIMD weights each) of the MVAU's weight word i.
template <unsigned PE, unsigned LANE>
struct WeightLanes {
  // ROM weights[PE][WMEM]: lane pe of word i is weights[pe][i].
  template <unsigned WMEM>
  static void fetch(const ap_uint<LANE> (&weights)[PE][WMEM], unsigned i, ap_uint<LANE> lanes[PE]) {
#pragma HLS INLINE
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      lanes[pe] = weights[pe][i];
    }
  }

  // Stream of PE * LANE-bit words: lane pe in bits pe * LANE .. (pe + 1) * LANE - 1.
  template <typename WWord>
  static void fetch(hls::stream<WWord>& weights, unsigned /*i*/, ap_uint<LANE> lanes[PE]) {
#pragma HLS INLINE
    const ap_uint<PE * LANE> w = weights.read();
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      lanes[pe] = w((pe + 1) * LANE - 1, pe * LANE);
    }
  }
};

// The VVAU's weight word i of BITS bits.
template <unsigned BITS>
struct WeightWord {
  // ROM rom[WORDS]: word i is rom[i].
  template <unsigned WORDS>
  static ap_uint<BITS> fetch(const ap_uint<BITS> (&rom)[WORDS], unsigned i) {
#pragma HLS INLINE
    return rom[i];
  }

  // Stream of BITS-bit words: the next one.
  template <typename WWord>
  static ap_uint<BITS> fetch(hls::stream<WWord>& weights, unsigned /*i*/) {
#pragma HLS INLINE
    return ap_uint<BITS>(weights.read());
  }
};

}  // namespace qnncc

#endif  // QNNCC_WEIGHT_SOURCE_HPP
