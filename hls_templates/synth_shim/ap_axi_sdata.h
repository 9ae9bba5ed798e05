// Declarations of Vitis HLS's AXI-Stream side-channel words for qnncc's clang
// synthesis-mode syntax check (see qnncc_synth_shim.h): ap_axiu/ap_axis with
// data, keep, strb and last, and user, id and dest when their width is not 0.
#ifndef QNNCC_SYNTH_SHIM_AP_AXI_SDATA_H
#define QNNCC_SYNTH_SHIM_AP_AXI_SDATA_H

#include <ap_int.h>

namespace qnncc_shim {
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
}  // namespace qnncc_shim

template <int D, int U, int TI, int TD>
struct ap_axiu : qnncc_shim::user_field<U>, qnncc_shim::id_field<TI>, qnncc_shim::dest_field<TD> {
  ap_uint<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  ap_uint<1> last;
};

template <int D, int U, int TI, int TD>
struct ap_axis : qnncc_shim::user_field<U>, qnncc_shim::id_field<TI>, qnncc_shim::dest_field<TD> {
  ap_int<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  ap_uint<1> last;
};

#endif  // QNNCC_SYNTH_SHIM_AP_AXI_SDATA_H
