// Pooling layers: max pooling with stride = window (StreamingMaxPool), the
// maximum over the windows of a depthwise window generator (Pool, MaxPool) and
// the per-channel sum over the whole image (GlobalAccPool).
#ifndef QNNCC_POOL_HPP
#define QNNCC_POOL_HPP

#include "qnncc/types.hpp"

namespace qnncc {

// Elementwise maximum of two words of PE elements of type DT.
template <typename DT, unsigned PE>
ap_uint<PE * DT::bits> max_word(const ap_uint<PE * DT::bits>& a, const ap_uint<PE * DT::bits>& b) {
#pragma HLS INLINE
  ap_uint<PE * DT::bits> m = 0;
  for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
    const typename DT::value_t x = get_elem<DT, PE>(a, pe);
    const typename DT::value_t y = get_elem<DT, PE>(b, pe);
    set_elem<DT, PE>(m, pe, x > y ? x : y);
  }
  return m;
}

// Max pooling of an IH x IW image of C channels (C/PE words of PE channels
// per pixel) over non-overlapping KH x KW windows; output OH x OW pixels in
// the same word format. Window (oh, ow) covers rows oh*KH .. min(oh*KH+KH, IH)-1
// and columns ow*KW .. min(ow*KW+KW, IW)-1: a partial last window (ceil mode)
// takes the maximum of the pixels it covers, and pixels beyond OH*KH rows or
// OW*KW columns (floor mode) are read and dropped.
//
// A buffer of OW*C/PE words holds the running maxima of one output row; an
// output word leaves with the last input word of its window. One input word
// per cycle at II=1: IH * IW * C/PE cycles per frame.
//
// II=1 needs every read-modify-write of the buffer RAM to reach the next
// access of the same address at least 2 iterations later (RAM read latency):
//   CF = C/PE >= 2: the running maxima live in the RAM, one address is
//     touched every CF iterations (DIST = CF);
//   CF = 1: the running maximum of the window's row segment is a register;
//     the RAM is read at the segment's first column and written at its last,
//     and the next read of that address comes a row later, at least
//     IW - KW + 1 >= 2 iterations after the write (OW >= 2 means IW > KW);
//     with OW = 1 the register carries the window across rows and the RAM is
//     not used.
template <unsigned IH, unsigned IW, unsigned C, unsigned PE, unsigned KH, unsigned KW, unsigned OH, unsigned OW,
          typename DT, typename InWord, typename OutWord>
void maxpool(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(C % PE == 0, "PE must divide the channel count");
  static_assert(OH >= 1 && OW >= 1 && (OH - 1) * KH < IH && (OW - 1) * KW < IW, "every window must start inside");
  const unsigned CF = C / PE;
  const unsigned DIST = CF >= 2 ? CF : IW - KW + 1;
  static_assert(DIST >= 2 || OW == 1, "buffer accesses of one address are at least 2 iterations apart");
  typedef ap_uint<PE * DT::bits> word_t;
  word_t maxima[OW * CF];
#pragma HLS DEPENDENCE variable = maxima type = inter direction = RAW dependent = true distance = DIST
  word_t run = 0;                  // CF = 1: running maximum of the current window
  unsigned h = 0, oh = 0, ph = 0;  // row, output row, row within the window
  unsigned w = 0, ow = 0, pw = 0;  // column, output column, column within the window
  unsigned cf = 0;
  for (unsigned i = 0; i < IH * IW * CF; i++) {
#pragma HLS PIPELINE II = 1
    const word_t x = in.read();
    if (oh < OH && ow < OW) {
      const bool last_col = pw == KW - 1 || w == IW - 1;
      const bool last = (ph == KH - 1 || h == IH - 1) && last_col;
      word_t m;
      if (CF == 1) {
        if (pw == 0 && ph == 0) {
          m = x;
        } else if (pw == 0 && OW > 1) {
          m = max_word<DT, PE>(x, maxima[ow]);
        } else {
          m = max_word<DT, PE>(x, run);
        }
        run = m;
        if (last_col && !last && OW > 1) maxima[ow] = m;
      } else {
        m = (ph == 0 && pw == 0) ? x : max_word<DT, PE>(x, maxima[ow * CF + cf]);
        if (!last) maxima[ow * CF + cf] = m;
      }
      if (last) out.write(OutWord(m));
    }
    if (++cf == CF) {
      cf = 0;
      w++;
      if (++pw == KW) {
        pw = 0;
        ow++;
      }
      if (w == IW) {
        w = 0;
        ow = 0;
        pw = 0;
        h++;
        if (++ph == KH) {
          ph = 0;
          oh++;
        }
      }
    }
  }
}

// Maximum over the K window positions of each of PIXELS output pixels (Pool
// with Function MaxPool). The input is a depthwise window generator's stream:
// per pixel K groups of C/PE words of PE channels, Im2Col (i, j, c) order; the
// output has C/PE words of PE channels per pixel. A buffer of C/PE words holds
// the running maxima; an output word leaves with the last window position.
// One input word per cycle at II=1: PIXELS * K * C/PE cycles per frame.
template <unsigned PIXELS, unsigned K, unsigned C, unsigned PE, typename DT, typename InWord, typename OutWord>
void window_max(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(C % PE == 0, "PE must divide the channel count");
  const unsigned CF = C / PE;
  typedef ap_uint<PE * DT::bits> word_t;
  word_t maxima[CF];
  unsigned k = 0, cf = 0;
  for (unsigned i = 0; i < PIXELS * K * CF; i++) {
#pragma HLS PIPELINE II = 1
    const word_t x = in.read();
    const word_t old = maxima[cf];
    word_t m = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const typename DT::value_t a = get_elem<DT, PE>(x, pe);
      const typename DT::value_t b = get_elem<DT, PE>(old, pe);
      set_elem<DT, PE>(m, pe, (k == 0 || a > b) ? a : b);
    }
    if (k == K - 1) {
      out.write(OutWord(m));
    } else {
      maxima[cf] = m;
    }
    if (++cf == CF) {
      cf = 0;
      if (++k == K) k = 0;
    }
  }
}

// Per-channel sum over PIXELS pixels of C channels (C/PE words of PE channels
// per pixel); writes C/PE words of PE sums of type OutT (whose range holds
// every partial sum). An output word leaves with the last pixel's word of its
// channels. One input word per cycle at II=1: PIXELS * C/PE cycles per frame.
//
// II=1: with CF = C/PE = 1 the PE sums are registers (acc[1][PE], dim 2
// partitioned); with CF >= 2 a RAM row acc[cf] is read, added to and written
// back once every CF iterations (DIST = CF >= 2).
template <unsigned PIXELS, unsigned C, unsigned PE, typename InT, typename OutT, typename InWord, typename OutWord>
void global_acc_pool(hls::stream<InWord>& in, hls::stream<OutWord>& out) {
  static_assert(C % PE == 0, "PE must divide the channel count");
  const unsigned CF = C / PE;
  const unsigned DIST = CF >= 2 ? CF : 2;  // CF = 1: registers, no RAM dependence
  typedef typename OutT::value_t acc_t;
  acc_t acc[CF][PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS DEPENDENCE variable = acc type = inter direction = RAW dependent = true distance = DIST
  unsigned pixel = 0;
  unsigned cf = 0;
  for (unsigned i = 0; i < PIXELS * CF; i++) {
#pragma HLS PIPELINE II = 1
    const ap_uint<PE * InT::bits> x = in.read();
    ap_uint<PE * OutT::bits> y = 0;
    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
      const acc_t sum = (pixel == 0 ? acc_t(0) : acc[cf][pe]) + get_elem<InT, PE>(x, pe);
      acc[cf][pe] = sum;
      set_elem<OutT, PE>(y, pe, sum);
    }
    if (pixel == PIXELS - 1) out.write(OutWord(y));
    if (++cf == CF) {
      cf = 0;
      pixel++;
    }
  }
}

}  // namespace qnncc

#endif  // QNNCC_POOL_HPP
