"""RTL builder of AddStreams: an instance of ``qnncc_add`` (``hls_templates/rtl/qnncc_add.v``).

The range check (output datatype holds every sum) is the HLS builder's.
"""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layers.addstreams import add_streams_code
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    new_rtl_layer,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def add_streams_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an AddStreams node (``qnncc_add``; inputs may differ in datatype).

    Raises:
        CodegenError: for non-integer streams or an output datatype that cannot hold every sum.
    """
    add_streams_code(model, node, layer)  # the HLS builder's checks (two inputs, output range)
    rtl = new_rtl_layer(model, node, layer, "qnncc_add")
    rtl.single_stream = False
    rtl.params["PE"] = int(layer.attrs["PE"])
    rtl.params.update(dt_params(layer.input_datatype(0), "A"))
    rtl.params.update(dt_params(layer.input_datatype(1), "B"))
    rtl.params["OUT_BITS"] = layer.output_datatype().bitwidth()
    return rtl
