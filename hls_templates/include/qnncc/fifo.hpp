// StreamingFIFO: a FIFO of DEPTH words between two layers.
//
// The stitched design does not use this code: the stitch script instantiates
// a Xilinx axis_data_fifo for every StreamingFIFO node. This is the HLS
// equivalent (for a standalone IP or a C++ partition): two copy processes
// joined by an internal hls::stream of DEPTH words. The caller's function
// must be a DATAFLOW region (`#pragma HLS DATAFLOW`, as the generated top
// is); fifo() is inlined into it so the copies become two dataflow processes
// and the internal stream a FIFO channel of DEPTH words
// (`#pragma HLS STREAM depth=DEPTH`). One word per cycle at II=1.
//
// In C simulation the processes run one after the other, so the FIFO is a
// pass-through copy of the WORDS words of a frame; the depth only matters in
// hardware (it decouples producer and consumer stalls).
#ifndef QNNCC_FIFO_HPP
#define QNNCC_FIFO_HPP

#include "qnncc/types.hpp"

namespace qnncc {

// Move WORDS words from in to out, one per cycle.
template <unsigned WORDS, typename InWord, typename OutWord>
void stream_copy(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
    out.write(OutWord(in.read()));
  }
}

// A FIFO of DEPTH words of type Word (the stream's word, e.g. ap_uint<PE * bits>) carrying WORDS words per frame.
template <unsigned DEPTH, unsigned WORDS, typename Word, typename InWord, typename OutWord>
void fifo(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  static_assert(DEPTH >= 1, "a FIFO holds at least one word");
  hls::stream<Word> buffer("fifo_buffer");
#pragma HLS STREAM variable = buffer depth = DEPTH
  stream_copy<WORDS>(in, buffer);
  stream_copy<WORDS>(buffer, out);
}

}  // namespace qnncc

#endif  // QNNCC_FIFO_HPP
