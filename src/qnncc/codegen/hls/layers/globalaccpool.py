"""HLS builder of GlobalAccPool: ``qnncc::global_acc_pool`` of ``pool.hpp``."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import (
    new_layer_code,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def global_acc_pool_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a GlobalAccPool node (``qnncc::global_acc_pool``).

    Raises:
        CodegenError: for float streams.
    """
    code = new_layer_code(model, node, layer, ["qnncc/pool.hpp"])
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    _, h, w, c = layer.normal_input_shape()
    pe = int(layer.attrs["PE"])
    code.body.append(f"qnncc::global_acc_pool<{h * w}, {c}, {pe}, {in_t}, {out_t}>(in0_V, out0_V);")
    return code
