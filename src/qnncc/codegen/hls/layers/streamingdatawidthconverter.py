"""HLS code of StreamingDataWidthConverter (``qnncc::dwc`` in ``dwc.hpp``)."""

from __future__ import annotations

import math

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import new_layer_code
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = ["dwc_code"]


def dwc_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a width converter (elements per frame from ``in_shape`` without the batch axis)."""
    code = new_layer_code(model, node, layer, ["qnncc/dwc.hpp"])
    elems = math.prod(layer.normal_input_shape()[1:])
    dt = cpp_datatype(layer.input_datatype(), f"{node.name} stream")
    i, o = layer.input_elems_per_word(), layer.output_elems_per_word()
    code.body.append(f"qnncc::dwc<{i}, {o}, {elems}, {dt}>(in0_V, out0_V);")
    return code
