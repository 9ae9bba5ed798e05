// TLAST inserter: turns a TDATA-only stream into AXI-Stream words with
// TKEEP/TSTRB all ones and TLAST on the last word of a batch of frames.
//
// qnncc's layer IPs stream TDATA only, but an AXI DMA's S2MM channel ends a
// transfer on TLAST. The zynq-mode block design puts one of these in front of
// each S2MM channel (after any width converter, so W is the DMA stream width);
// the driver writes the batch's frame count to `frames` and starts the IP
// before each receive transfer. WORDS is the number of W-bit words per frame.
//
// A batch of frames * WORDS words takes one cycle per word (II=1: the inner
// loop has a constant bound, so the nest flattens); frames == 0 moves nothing.
#ifndef QNNCC_TLAST_HPP
#define QNNCC_TLAST_HPP

#include <ap_axi_sdata.h>
#include <ap_int.h>
#include <hls_stream.h>

namespace qnncc {

template <unsigned W, unsigned WORDS>
void tlast_insert(hls::stream<ap_uint<W> >& in, hls::stream<ap_axiu<W, 0, 0, 0> >& out, unsigned frames) {
  static_assert(W % 8 == 0, "AXI-Stream TDATA is a whole number of bytes");
  static_assert(WORDS >= 1, "a frame has at least one word");
tlast_frames:
  for (unsigned f = 0; f < frames; f++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
  tlast_words:
    for (unsigned w = 0; w < WORDS; w++) {
#pragma HLS PIPELINE II = 1
      ap_axiu<W, 0, 0, 0> word;
      word.data = in.read();
      word.keep = -1;
      word.strb = -1;
      word.last = (f == frames - 1 && w == WORDS - 1) ? 1 : 0;
      out.write(word);
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_TLAST_HPP
