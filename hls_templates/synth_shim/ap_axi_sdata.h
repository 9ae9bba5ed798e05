// Vitis HLS's AXI-Stream side-channel words (ap_axiu/ap_axis with data, keep, strb and last, and
// user, id and dest when their width is not 0) for qnncc's clang synthesis-mode syntax check
// (see qnncc_synth_shim.h). The declarations are the C simulation's, taken from that one file
// by its path (hls_templates/csim/ itself stays off the include path of the check).
#ifndef QNNCC_SYNTH_SHIM_AP_AXI_SDATA_H
#define QNNCC_SYNTH_SHIM_AP_AXI_SDATA_H

#include "../csim/ap_axi_sdata.h"

#endif  // QNNCC_SYNTH_SHIM_AP_AXI_SDATA_H
