"""HLS builders of StreamingConcat and StreamingSplit (``qnncc::concat_part``/``split_part`` in ``reshape.hpp``).

One call per part inside the vector loop; a concatenation converts each input to FINN's output datatype.
"""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import frame_vectors, new_layer_code
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.concat_split import StreamingConcat, StreamingSplit

__all__ = ["concat_code", "split_code"]


def concat_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a StreamingConcat node (inputs converted to FINN's output datatype).

    Raises:
        CodegenError: for non-integer streams.
    """
    if not isinstance(layer, StreamingConcat):
        raise CodegenError(f"{node.name}: expected a StreamingConcat, got {type(layer).__name__}")
    code = new_layer_code(model, node, layer, ["qnncc/reshape.hpp"])
    simd = int(layer.attrs["SIMD"])
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    code.body.append(f"for (unsigned v = 0; v < {frame_vectors(layer)}; v++) {{")
    for i, size in enumerate(layer.sizes()):
        in_t = cpp_datatype(layer.input_datatype(i), f"{node.name} input {i}")
        code.body.append(f"  qnncc::concat_part<{size // simd}, {simd}, {in_t}, {out_t}>(in{i}_V, out0_V);")
    code.body.append("}")
    return code


def split_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a StreamingSplit node.

    Raises:
        CodegenError: for a non-integer stream.
    """
    if not isinstance(layer, StreamingSplit):
        raise CodegenError(f"{node.name}: expected a StreamingSplit, got {type(layer).__name__}")
    code = new_layer_code(model, node, layer, ["qnncc/reshape.hpp"])
    simd = int(layer.attrs["SIMD"])
    dt = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    code.body.append(f"for (unsigned v = 0; v < {frame_vectors(layer)}; v++) {{")
    for j, size in enumerate(layer.sizes()):
        code.body.append(f"  qnncc::split_part<{size // simd}, {simd}, {dt}>(in0_V, out{j}_V);")
    code.body.append("}")
    return code
