"""HLS builder of AddStreams: ``qnncc::add_streams`` of ``streams.hpp`` (exact sum in the output datatype)."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import (
    frame_vectors,
    holds_range,
    int_range,
    new_layer_code,
)
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def add_streams_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an AddStreams node (inputs ``a``, ``b`` may differ in datatype).

    Raises:
        CodegenError: for non-integer streams or an output datatype that cannot
            hold every sum.
    """
    channels, pe = int(layer.attrs["NumChannels"]), int(layer.attrs["PE"])
    code = new_layer_code(model, node, layer, ["qnncc/streams.hpp"])
    if len(code.inputs) != 2:
        raise CodegenError(f"{node.name}: AddStreams needs two stream inputs, got {len(code.inputs)}")
    adt, bdt, odt = layer.input_datatype(0), layer.input_datatype(1), layer.output_datatype()
    a_t = cpp_datatype(adt, f"{node.name} input 0")
    b_t = cpp_datatype(bdt, f"{node.name} input 1")
    out_t = cpp_datatype(odt, f"{node.name} output")
    (alo, ahi), (blo, bhi) = int_range(adt), int_range(bdt)
    if not holds_range(odt, alo + blo, ahi + bhi):
        raise CodegenError(f"{node.name}: output datatype {odt.name} cannot hold sums in [{alo + blo}, {ahi + bhi}]")
    vecs = frame_vectors(layer)
    code.body.append(f"qnncc::add_streams<{channels}, {pe}, {vecs}, {a_t}, {b_t}, {out_t}>(in0_V, in1_V, out0_V);")
    return code
