// qnncc's stand-in for Vitis HLS's ap_axi_sdata.h, for C simulation with g++.
// It lives in hls_templates/csim/, a folder only qnncc's g++ simulation puts
// on the include path (Vitis HLS uses its own header). It declares only the
// AXI-Stream words with side channels that qnncc's library uses: ap_axiu<D, U, TI, TD> (unsigned data) and
// ap_axis<D, U, TI, TD> (signed data) with members data, keep, strb and
// last, plus user, id and dest only when U, TI and TD are non-zero.
#ifndef QNNCC_AP_AXI_SDATA_H
#define QNNCC_AP_AXI_SDATA_H

#include <ap_int.h>

namespace qnncc_axis {

// Optional side channels: a member of U/TI/TD bits, or nothing for width 0.
template <int U>
struct user_field {
  ap_uint<U> user;
};
template <>
struct user_field<0> {};

template <int TI>
struct id_field {
  ap_uint<TI> id;
};
template <>
struct id_field<0> {};

template <int TD>
struct dest_field {
  ap_uint<TD> dest;
};
template <>
struct dest_field<0> {};

}  // namespace qnncc_axis

// One AXI-Stream word: D data bits, a TKEEP and a TSTRB bit per byte, TLAST.
template <int D, int U, int TI, int TD>
struct ap_axiu : qnncc_axis::user_field<U>, qnncc_axis::id_field<TI>, qnncc_axis::dest_field<TD> {
  ap_uint<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  ap_uint<1> last;
};

// Same as ap_axiu with signed data.
template <int D, int U, int TI, int TD>
struct ap_axis : qnncc_axis::user_field<U>, qnncc_axis::id_field<TI>, qnncc_axis::dest_field<TD> {
  ap_int<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  ap_uint<1> last;
};

#endif  // QNNCC_AP_AXI_SDATA_H
