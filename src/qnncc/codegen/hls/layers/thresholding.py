"""HLS code of the Thresholding layer (``qnncc::thresholding`` in ``thresholding.hpp``).

Its ``ram_style`` (``distributed`` by default, as FINN) binds the threshold memories
(:func:`~qnncc.codegen.hls.layers.thresholds.threshold_activation`).
"""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import frame_vectors, new_layer_code, required_initializer
from qnncc.codegen.hls.layers.thresholds import threshold_activation
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = ["thresholding_code"]


def thresholding_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a Thresholding node.

    Raises:
        CodegenError: for float streams or a threshold table that does not fit.
    """
    channels, pe = int(layer.attrs["NumChannels"]), int(layer.attrs["PE"])
    code = new_layer_code(model, node, layer, ["qnncc/thresholding.hpp"])
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    table = required_initializer(model, node, 1, "thresholds")
    act = threshold_activation(code, layer, table, channels, pe, str(layer.attrs.get("ram_style", "distributed")))
    code.body.append(
        f"qnncc::thresholding<{channels}, {pe}, {frame_vectors(layer)}, {in_t}, {out_t}>(in0_V, out0_V, {act});"
    )
    return code
