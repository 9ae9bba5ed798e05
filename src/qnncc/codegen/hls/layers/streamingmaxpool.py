"""HLS builder of StreamingMaxPool: ``qnncc::maxpool`` of ``pool.hpp``."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode
from qnncc.codegen.hls.layers._common import (
    int_list,
    new_layer_code,
    same_stream_type,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def maxpool_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a StreamingMaxPool node (``qnncc::maxpool``; 1-D or 2-D, ceil or floor mode).

    Raises:
        CodegenError: for float streams.
    """
    code = new_layer_code(model, node, layer, ["qnncc/pool.hpp"])
    dt = same_stream_type(layer, node)
    _, h, w, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = int_list(layer, "PoolDim", 2)
    pe = layer.input_elems_per_word()
    code.body.append(f"qnncc::maxpool<{h}, {w}, {c}, {pe}, {kh}, {kw}, {oh}, {ow}, {dt}>(in0_V, out0_V);")
    return code
