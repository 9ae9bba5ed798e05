"""RTL builder of FMPadding: an instance of ``qnncc_fmpadding`` (``hls_templates/rtl/qnncc_fmpadding.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    int_list,
    new_rtl_layer,
    same_stream_type,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def fmpadding_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an FMPadding node (``qnncc_fmpadding``).

    Raises:
        CodegenError: for float streams, a datatype without a zero (BIPOLAR), a non-zero ``PadValue``
            or ``MMV > 1``.
    """
    dt = same_stream_type(layer, node)
    if not dt.allowed(0):
        raise CodegenError(f"{node.name}: {dt.name} cannot hold the zero padding")
    for attr, plain in (("PadValue", 0), ("MMV", 1)):
        if int(layer.attrs.get(attr, plain)) != plain:
            raise CodegenError(
                f"{node.name}: {attr}={layer.attrs[attr]} has no RTL implementation; use the HLS backend"
            )
    _, h, w, c = layer.normal_input_shape()
    top, left, bottom, right = int_list(layer, "Padding", 4)
    rtl = new_rtl_layer(model, node, layer, "qnncc_fmpadding")
    rtl.params.update({"H": h, "W": w, "TOP": top, "LEFT": left, "BOTTOM": bottom, "RIGHT": right, "C": c})
    rtl.params.update({"SIMD": int(layer.attrs["SIMD"]), "BITS": dt.bitwidth()})
    return rtl
