"""RTL builder of DuplicateStreams: an instance of ``qnncc_dup`` (``hls_templates/rtl/qnncc_dup.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    new_rtl_layer,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def duplicate_streams_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a DuplicateStreams node (``qnncc_dup`` with ``NumOutputStreams`` outputs).

    Raises:
        CodegenError: for fewer than two outputs or non-integer streams.
    """
    rtl = new_rtl_layer(model, node, layer, "qnncc_dup")
    if len(rtl.inputs) != 1 or len(rtl.outputs) < 2:
        raise CodegenError(f"{node.name}: DuplicateStreams needs one input and at least two outputs")
    dt_params(layer.input_datatype(), f"{node.name} stream")
    rtl.single_stream = False
    rtl.params.update({"N": len(rtl.outputs), "WIDTH": rtl.bits["in0_V"]})
    return rtl
