"""HLS builder of FMPadding: the ``qnncc::fmpadding`` loop of ``fmpadding.hpp``."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode
from qnncc.codegen.hls.layers._common import (
    int_list,
    new_layer_code,
    same_stream_type,
)
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def fmpadding_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an FMPadding node (``qnncc::fmpadding``, one image per call).

    Raises:
        CodegenError: for float streams or a datatype without a zero (BIPOLAR).
    """
    code = new_layer_code(model, node, layer, ["qnncc/fmpadding.hpp"])
    dt = same_stream_type(layer, node)
    if not layer.input_datatype().allowed(0):
        raise CodegenError(f"{node.name}: {layer.input_datatype().name} cannot hold the zero padding")
    _, h, w, c = layer.normal_input_shape()
    top, left, bottom, right = int_list(layer, "Padding", 4)
    simd = int(layer.attrs["SIMD"])
    code.body.append(f"qnncc::fmpadding<{h}, {w}, {top}, {left}, {bottom}, {right}, {c}, {simd}, {dt}>(in0_V, out0_V);")
    return code
