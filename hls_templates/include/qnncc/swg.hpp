// Sliding window generator (ConvolutionInputGenerator): Im2Col of a stream
// (swg), and its parallel-window variant (swg_parallel, one window per word).
//
// Input: an (already padded) image of IH x IW pixels of C channels, C/SIMD
// words of SIMD channels per pixel, row by row. Output: for each output pixel
// (oh, ow) of OH x OW, the KH x KW window
//     x[oh*SH + i*DH][ow*SW + j*DW][c]   in (i, j, c) order,
// as KH*KW*C/SIMD words of SIMD channels (word (i*KW + j)*C/SIMD + cf holds
// channels cf*SIMD .. cf*SIMD + SIMD-1 of kernel position (i, j)). Depthwise
// window generators produce the same order.
//
// Line buffer: a circular buffer of ROWS image rows (ROWS >= SPAN, the
// dilated kernel height DH*(KH-1)+1), passed in by the caller so that it can
// bind its storage. Image row r lives in slot r % ROWS (kept
// incrementally: no division unit in the loop). One loop, II=1, reads
// at most one input word and writes at most one output word per iteration:
//   - output row oh may be emitted once rows oh*SH .. oh*SH + SPAN - 1 are in,
//   - input row r may be read while output row oh is pending if r < oh*SH + ROWS
//     (its slot then holds no row that output rows oh.. still need).
// With ROWS = SPAN + SH the rows of output row oh+1 are read while row oh is
// emitted, so a frame takes about max(IH*IW, OH*OW*KH*KW) * C/SIMD cycles.
#ifndef QNNCC_SWG_HPP
#define QNNCC_SWG_HPP

#include "qnncc/types.hpp"

namespace qnncc {

template <unsigned IH, unsigned IW, unsigned C, unsigned SIMD, unsigned KH, unsigned KW, unsigned SH, unsigned SW,
          unsigned DH, unsigned DW, unsigned OH, unsigned OW, unsigned ROWS, typename DT, typename InWord,
          typename OutWord>
void swg(hls::stream<InWord>& in, hls::stream<OutWord>& out, ap_uint<SIMD * DT::bits> buf[ROWS * IW * (C / SIMD)]) {
  static_assert(C % SIMD == 0, "SIMD must divide the channel count");
  const unsigned CF = C / SIMD;
  const unsigned SPAN = DH * (KH - 1) + 1;
  static_assert(ROWS >= SPAN && ROWS <= IH, "the line buffer holds SPAN .. IH rows");
  static_assert(OH >= 1 && (OH - 1) * SH + SPAN <= IH, "the windows of OH rows must fit the image");
  static_assert(OW >= 1 && (OW - 1) * SW + DW * (KW - 1) + 1 <= IW, "the windows of OW columns must fit the image");
  const unsigned WORDS = ROWS * IW * CF;
  // read side: image row rr, next buffer address wptr
  unsigned rr = 0;
  unsigned rword = 0;  // word within the row
  unsigned wptr = 0;
  // emit side: output row oh (top image row top = oh*SH in slot base), column ow, kernel (ki, kj), fold cf
  unsigned oh = 0;
  unsigned top = 0;
  unsigned base = 0;
  unsigned ow = 0;
  unsigned ki = 0;
  unsigned kj = 0;
  unsigned cf = 0;
  while (rr < IH || oh < OH) {
#pragma HLS PIPELINE II = 1
// proof: the slot emitted in an iteration is never the one written in it or in
// a later iteration before the emit (a row is read only into a slot no pending
// output row needs: rr < top + ROWS), so buf carries no true dependence.
#pragma HLS DEPENDENCE variable = buf type = intra false
#pragma HLS DEPENDENCE variable = buf type = inter false
    const bool can_emit = oh < OH && rr >= top + SPAN;
    const bool can_read = rr < IH && (oh == OH || rr < top + ROWS);
    if (can_emit) {
      unsigned slot = base + ki * DH;
      if (slot >= ROWS) slot -= ROWS;
      const unsigned col = ow * SW + kj * DW;
      out.write(OutWord(buf[(slot * IW + col) * CF + cf]));
      if (++cf == CF) {
        cf = 0;
        if (++kj == KW) {
          kj = 0;
          if (++ki == KH) {
            ki = 0;
            if (++ow == OW) {
              ow = 0;
              oh++;
              top += SH;
              base += SH % ROWS;  // slot of row top: no modulo unit on this loop-carried path
              if (base >= ROWS) base -= ROWS;
            }
          }
        }
      }
    }
    if (can_read) {
      const ap_uint<SIMD * DT::bits> word = in.read();
      buf[wptr] = word;
      if (++wptr == WORDS) wptr = 0;
      if (++rword == IW * CF) {
        rword = 0;
        rr++;
      }
    }
  }
}

// Parallel-window generator (parallel_window = 1, SIMD = C, no dilation): the
// same windows as swg, each leaving as ONE word of KH*KW*C elements, element
// (i*KW + j)*C + c = x[oh*SH + i][ow*SW + j][c]. One input pixel per iteration
// (II=1): the pixel is written to a circular buffer of KH rows (row r in slot
// r % KH) and, with the KH-1 rows above it, shifted into a KH x KW window
// register; the window is written on the iteration of the pixel that
// completes it (its bottom-right corner on the stride grid), so a frame takes
// IH*IW cycles and emits OH*OW words.
template <unsigned IH, unsigned IW, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW, unsigned OH,
          unsigned OW, typename DT, typename InWord, typename OutWord>
void swg_parallel(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(OH >= 1 && (OH - 1) * SH + KH <= IH, "the windows of OH rows must fit the image");
  static_assert(OW >= 1 && (OW - 1) * SW + KW <= IW, "the windows of OW columns must fit the image");
  typedef ap_uint<C * DT::bits> pixel_t;
  const unsigned PB = C * DT::bits;
  pixel_t lines[KH][IW];
#pragma HLS ARRAY_PARTITION variable = lines complete dim = 1
  // lines[slot][w] is written at column w of row h and next read at column w of
  // row h + 1, IW iterations later (the other slots read in between are other RAMs)
  const unsigned DIST = IW >= 2 ? IW : 2;
#pragma HLS DEPENDENCE variable = lines type = inter direction = RAW dependent = true distance = DIST
  pixel_t win[KH][KW];
#pragma HLS ARRAY_PARTITION variable = win complete dim = 0
  unsigned h = 0, w = 0, slot = 0;  // image row and column, slot = h % KH
  for (unsigned i = 0; i < IH * IW; i++) {
#pragma HLS PIPELINE II = 1
    const pixel_t x = pixel_t(in.read());
    for (unsigned r = 0; r < KH; r++) {
#pragma HLS UNROLL
      for (unsigned j = 0; j + 1 < KW; j++) {
#pragma HLS UNROLL
        win[r][j] = win[r][j + 1];
      }
      // window row r holds image row h - (KH-1) + r, in slot (slot + 1 + r) % KH (the last row is x)
      unsigned s = slot + 1 + r;
      if (s >= KH) s -= KH;
      win[r][KW - 1] = (r == KH - 1) ? x : lines[s][w];
    }
    lines[slot][w] = x;
    const bool row_ok = h + 1 >= KH && (h + 1 - KH) % SH == 0 && (h + 1 - KH) / SH < OH;
    const bool col_ok = w + 1 >= KW && (w + 1 - KW) % SW == 0 && (w + 1 - KW) / SW < OW;
    if (row_ok && col_ok) {
      ap_uint<KH * KW * PB> word = 0;
      for (unsigned r = 0; r < KH; r++) {
#pragma HLS UNROLL
        for (unsigned j = 0; j < KW; j++) {
#pragma HLS UNROLL
          word((r * KW + j + 1) * PB - 1, (r * KW + j) * PB) = win[r][j];
        }
      }
      out.write(OutWord(word));
    }
    if (++w == IW) {
      w = 0;
      h++;
      if (++slot == KH) slot = 0;
    }
  }
}

// Multi-pixel parallel-window generator (parallel_window = 1 and MMV > 1, SIMD = C,
// no dilation): the windows of swg_parallel, in the same raster order, MMV whole
// windows per output word; MMV input pixels per input word (IW % MMV == 0, so a
// word lies in one image row; (OH*OW) % MMV == 0). One input word per iteration
// (II=1), IH*IW/MMV cycles per frame: the word is written to a circular buffer
// of KH rows of words and, with the KH-1 rows above it, shifted into a
// KH x (KW+MMV-1) window register; the windows whose bottom-right corner lies in
// the word (on the stride grid) join a queue, and one output word leaves
// whenever MMV windows are queued (never more than 2*MMV - 1).
template <unsigned IH, unsigned IW, unsigned C, unsigned KH, unsigned KW, unsigned SH, unsigned SW, unsigned OH,
          unsigned OW, unsigned MMV, typename DT, typename InWord, typename OutWord>
void swg_parallel_mmv(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(IW % MMV == 0, "MMV must divide the image width");
  static_assert((OH * OW) % MMV == 0, "MMV must divide the output pixels");
  static_assert(OH >= 1 && (OH - 1) * SH + KH <= IH, "the windows of OH rows must fit the image");
  static_assert(OW >= 1 && (OW - 1) * SW + KW <= IW, "the windows of OW columns must fit the image");
  typedef ap_uint<C * DT::bits> pixel_t;
  typedef ap_uint<MMV * C * DT::bits> word_t;
  const unsigned PB = C * DT::bits;
  const unsigned WB = KH * KW * PB;
  const unsigned WPR = IW / MMV;  // input words per image row
  const unsigned COLS = KW + MMV - 1;
  const unsigned QUEUE = 2 * MMV - 1;
  word_t lines[KH][WPR];
#pragma HLS ARRAY_PARTITION variable = lines complete dim = 1
  // lines[slot][wq] is written at word wq of row h and next read at word wq of
  // row h + 1, WPR iterations later (the other slots read in between are other RAMs)
  const unsigned DIST = WPR >= 2 ? WPR : 2;
#pragma HLS DEPENDENCE variable = lines type = inter direction = RAW dependent = true distance = DIST
  pixel_t win[KH][COLS];
#pragma HLS ARRAY_PARTITION variable = win complete dim = 0
  ap_uint<WB> queue[QUEUE];
#pragma HLS ARRAY_PARTITION variable = queue complete dim = 1
  unsigned pending = 0;
  unsigned h = 0, wq = 0, slot = 0;  // image row, word within the row, slot = h % KH
  // counters instead of divisions: the image row (column) completing the next output row (window of
  // this row) and the output rows (windows of this row) done
  unsigned next_row = KH - 1, orow = 0;
  unsigned next_col = KW - 1, ocol = 0;
  for (unsigned i = 0; i < IH * WPR; i++) {
#pragma HLS PIPELINE II = 1
    const word_t x = word_t(in.read());
    for (unsigned r = 0; r < KH; r++) {
#pragma HLS UNROLL
      // window row r holds image row h - (KH-1) + r, in slot (slot + 1 + r) % KH (the last row is x)
      unsigned s = slot + 1 + r;
      if (s >= KH) s -= KH;
      const word_t row = (r == KH - 1) ? x : lines[s][wq];
      for (unsigned j = 0; j + 1 < KW; j++) {
#pragma HLS UNROLL
        win[r][j] = win[r][j + MMV];
      }
      for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
        win[r][KW - 1 + m] = row((m + 1) * PB - 1, m * PB);
      }
    }
    lines[slot][wq] = x;
    // window column j of the window ending at pixel m of the word is win[.][m + j]
    const bool row_ok = h == next_row && orow < OH;
    unsigned added = 0;
    for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
      const bool col_ok = wq * MMV + m == next_col && ocol < OW;
      if (col_ok) {
        next_col += SW;
        ocol++;
      }
      if (row_ok && col_ok) {
        ap_uint<WB> window = 0;
        for (unsigned r = 0; r < KH; r++) {
#pragma HLS UNROLL
          for (unsigned j = 0; j < KW; j++) {
#pragma HLS UNROLL
            window((r * KW + j + 1) * PB - 1, (r * KW + j) * PB) = win[r][m + j];
          }
        }
        queue[pending + added] = window;
        added++;
      }
    }
    pending += added;
    if (pending >= MMV) {
      ap_uint<MMV * WB> word = 0;
      for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
        word((m + 1) * WB - 1, m * WB) = queue[m];
      }
      out.write(OutWord(word));
      for (unsigned q = 0; q + MMV < QUEUE; q++) {
#pragma HLS UNROLL
        queue[q] = queue[q + MMV];
      }
      pending -= MMV;
    }
    if (++wq == WPR) {
      wq = 0;
      if (row_ok) {
        next_row += SH;
        orow++;
      }
      next_col = KW - 1;
      ocol = 0;
      h++;
      if (++slot == KH) slot = 0;
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_SWG_HPP
