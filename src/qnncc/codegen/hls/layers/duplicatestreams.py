"""HLS builder of DuplicateStreams: ``qnncc::duplicate_streams`` of ``streams.hpp``."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode
from qnncc.codegen.hls.layers._common import (
    new_layer_code,
)
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def duplicate_streams_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a DuplicateStreams node (``NumOutputStreams`` >= 2 outputs).

    Raises:
        CodegenError: for non-integer streams or fewer than two outputs.
    """
    code = new_layer_code(model, node, layer, ["qnncc/streams.hpp"])
    outs = [p.name for p in code.outputs]
    if len(code.inputs) != 1 or len(outs) < 2:
        raise CodegenError(f"{node.name}: DuplicateStreams needs one input and at least two outputs, got {len(outs)}")
    words = code.inputs[0].words
    code.body.append(f"qnncc::duplicate_streams<{words}>(in0_V, {', '.join(outs)});")
    return code
