"""RTL builder of StreamingMaxPool: an instance of ``qnncc_maxpool`` (``hls_templates/rtl/qnncc_maxpool.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    int_list,
    new_rtl_layer,
    same_stream_type,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def maxpool_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a StreamingMaxPool node (``qnncc_maxpool``; ceil or floor mode).

    Raises:
        CodegenError: for float streams or unequal datatypes.
    """
    dt = same_stream_type(layer, node)
    _, h, w, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = int_list(layer, "PoolDim", 2)
    rtl = new_rtl_layer(model, node, layer, "qnncc_maxpool")
    rtl.params.update({"IH": h, "IW": w, "C": c, "PE": layer.input_elems_per_word(), "KH": kh, "KW": kw})
    rtl.params.update({"OH": oh, "OW": ow})
    spec = dt_params(dt, "IN")
    rtl.params.update({"BITS": spec["IN_BITS"], "SIGNED": spec["IN_SIGNED"], "BIPOLAR": spec["IN_BIPOLAR"]})
    return rtl
