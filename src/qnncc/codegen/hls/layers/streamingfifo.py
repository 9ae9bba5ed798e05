"""HLS builder of StreamingFIFO: ``qnncc::fifo`` of ``fifo.hpp``.

A pass-through in C simulation; the stitch script uses Xilinx ``axis_data_fifo`` instead.
"""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import (
    new_layer_code,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def fifo_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a StreamingFIFO node (the top becomes a DATAFLOW region).

    Raises:
        CodegenError: for a non-integer stream.
    """
    code = new_layer_code(model, node, layer, ["qnncc/fifo.hpp"])
    depth = int(layer.attrs["depth"])
    port = code.inputs[0]
    dt = cpp_datatype(layer.input_datatype(), f"{node.name} stream")
    code.pragmas.append("DATAFLOW")
    code.body.append(f"qnncc::fifo<{depth}, {port.words}, ap_uint<{port.elems} * {dt}::bits> >(in0_V, out0_V);")
    return code
