// qnncc's shim for the clang -fsyntax-only check of generated HLS tops in
// synthesis mode (qnncc.codegen.hls.syntax_check), forced in with -include.
//
// The open-source ap_int headers (hls4ml's ap_types) stop with #error when
// __SYNTHESIS__ is defined (their synthesis base type comes with the Vitis HLS
// compiler), so this shim includes them first in their C-model form and only
// then defines __SYNTHESIS__: everything after it -- qnncc's library and the
// generated tops -- is parsed in its synthesis form (no C-simulation fast
// paths), by clang, the front end Vitis HLS itself uses. hls_stream.h and
// ap_axi_sdata.h come from this folder: declarations with the interface of
// the Vitis HLS headers and no C-simulation implementation.
#ifndef QNNCC_SYNTH_SHIM_H
#define QNNCC_SYNTH_SHIM_H
#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096
#endif
#include <ap_int.h>
#define __SYNTHESIS__ 1
#define __VITIS_HLS__ 1
#endif  // QNNCC_SYNTH_SHIM_H
