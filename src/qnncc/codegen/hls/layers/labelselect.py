"""HLS code of LabelSelect (``qnncc::labelselect`` in ``labelselect.hpp``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import frame_vectors, new_layer_code
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = ["labelselect_code"]


def labelselect_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a LabelSelect node (indices in the output datatype, one per word)."""
    a = layer.attrs
    labels, pe, k = int(a["Labels"]), int(a["PE"]), int(a["K"])
    code = new_layer_code(model, node, layer, ["qnncc/labelselect.hpp"])
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    code.body.append(
        f"qnncc::labelselect<{labels}, {pe}, {k}, {frame_vectors(layer)}, {in_t}, {out_t}>(in0_V, out0_V);"
    )
    return code
