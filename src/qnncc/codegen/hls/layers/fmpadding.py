"""HLS builder of FMPadding: the ``qnncc::fmpadding`` loop of ``fmpadding.hpp``."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode
from qnncc.codegen.hls.layers._common import (
    int_list,
    new_layer_code,
    same_stream_type,
)
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def fmpadding_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an FMPadding node (``qnncc::fmpadding``, one image per call, padding ``PadValue``).

    ``MMV > 1``: ``qnncc::fmpadding_mmv``, ``MMV`` pixels per word.

    Raises:
        CodegenError: for float streams or a datatype that cannot hold ``PadValue`` (BIPOLAR and 0).
    """
    code = new_layer_code(model, node, layer, ["qnncc/fmpadding.hpp"])
    dt = same_stream_type(layer, node)
    pad = int(layer.attrs.get("PadValue", 0))
    if not layer.input_datatype().allowed(pad):
        what = "the zero padding" if pad == 0 else f"the padding value {pad}"
        raise CodegenError(f"{node.name}: {layer.input_datatype().name} cannot hold {what}")
    _, h, w, c = layer.normal_input_shape()
    top, left, bottom, right = int_list(layer, "Padding", 4)
    simd = int(layer.attrs["SIMD"])
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:  # SIMD = C (validated): MMV pixels per word
        call = f"qnncc::fmpadding_mmv<{h}, {w}, {top}, {left}, {bottom}, {right}, {c}, {mmv}, {dt}>(in0_V, out0_V"
    else:
        call = f"qnncc::fmpadding<{h}, {w}, {top}, {left}, {bottom}, {right}, {c}, {simd}, {dt}>(in0_V, out0_V"
    code.body.append(call + (f", {pad});" if pad else ");"))
    return code
