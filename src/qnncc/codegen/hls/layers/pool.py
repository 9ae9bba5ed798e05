"""HLS builder of Pool (window max over a depthwise sliding window): ``window_max`` of ``pool.hpp``."""

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


def pool_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a Pool node with ``Function = "MaxPool"`` (``qnncc::window_max``).

    Raises:
        CodegenError: for another Function, float streams or unequal in/out datatypes.
    """
    if layer.attrs["Function"] != "MaxPool":
        raise CodegenError(f"{node.name}: Pool Function {layer.attrs['Function']!r} has no HLS code (have: MaxPool)")
    code = new_layer_code(model, node, layer, ["qnncc/pool.hpp"])
    dt = same_stream_type(layer, node)
    _, oh, ow, c = layer.normal_output_shape()
    kh, kw = int_list(layer, "KernelSize", 2)
    pe = int(layer.attrs["PE"])
    code.body.append(f"qnncc::window_max<{oh * ow}, {kh * kw}, {c}, {pe}, {dt}>(in0_V, out0_V);")
    return code
