"""HLS builder of finn-plus's ``Squeeze``/``Unsqueeze``/``Reshape`` (``qnncc::stream_copy`` in ``reshape.hpp``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import new_layer_code
from qnncc.codegen.render import CodegenError
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.stream_shape import StreamShapeOp

__all__ = ["stream_shape_code"]


def stream_shape_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a finn-plus ``Squeeze``/``Unsqueeze``/``Reshape`` node (words passed through).

    Raises:
        CodegenError: when the batch axes of ``inp_shape`` and ``out_shape`` differ (a frame is
            one batch element), an output datatype that cannot hold the input's, or a non-integer stream.
    """
    if not isinstance(layer, StreamShapeOp):
        raise CodegenError(f"{node.name}: expected a shape op, got {type(layer).__name__}")
    try:
        inp, out = layer.normal_input_shape(), layer.normal_output_shape()
    except UnsupportedOpError as err:
        raise CodegenError(str(err)) from None
    if inp[0] != out[0] or len(out) < 2:
        raise CodegenError(f"{node.name}: inp_shape {list(inp)} -> out_shape {list(out)} must keep the batch axis")
    idt, odt = layer.input_datatype(), layer.output_datatype()
    if idt != odt and not (odt.min() <= idt.min() and idt.max() <= odt.max()):
        raise CodegenError(f"{node.name}: out_dtype {odt.name} cannot hold every {idt.name} value; the copy would wrap")
    code = new_layer_code(model, node, layer, ["qnncc/reshape.hpp"])
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    words, pe = code.inputs[0].words, layer.input_elems_per_word()
    code.body.append(f"qnncc::stream_copy<{words}, {pe}, {in_t}, {out_t}>(in0_V, out0_V);")
    return code
