"""RTL builder of GlobalAccPool: an instance of ``qnncc_gap`` (``hls_templates/rtl/qnncc_gap.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    new_rtl_layer,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def global_acc_pool_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a GlobalAccPool node (``qnncc_gap``).

    Raises:
        CodegenError: for float streams.
    """
    _, h, w, c = layer.normal_input_shape()
    rtl = new_rtl_layer(model, node, layer, "qnncc_gap")
    rtl.params.update({"PIXELS": h * w, "C": c, "PE": int(layer.attrs["PE"])})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    rtl.params["OUT_BITS"] = layer.output_datatype().bitwidth()
    return rtl
