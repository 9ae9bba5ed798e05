"""RTL builder of FMPadding: ``qnncc_fmpadding`` (``SIMD`` channels per word) or ``qnncc_fmpadding_mmv``.

Both in ``hls_templates/rtl/``; the padding pixels hold ``PadValue`` (its element code).
"""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    int_list,
    new_rtl_layer,
    same_stream_type,
)
from qnncc.core.datatype import DataType, Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def pad_code(dt: DataType, value: int) -> int:
    """The Verilog ``PAD`` parameter of a padding value: BIPOLAR ``+1 -> 1``, ``-1 -> 0``; else the integer.

    An integer parameter assigned to a ``[BITS-1:0]`` vector becomes its two's complement code.
    """
    if dt.kind is Kind.BIPOLAR:
        return 1 if value > 0 else 0
    return int(value)


def fmpadding_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an FMPadding node: ``qnncc_fmpadding``, or ``qnncc_fmpadding_mmv`` for ``MMV > 1``.

    Raises:
        CodegenError: for float streams or a datatype that cannot hold ``PadValue``
            (e.g. the default zero for BIPOLAR).
    """
    dt = same_stream_type(layer, node)
    value = int(layer.attrs.get("PadValue", 0))
    if not dt.allowed(value):
        raise CodegenError(f"{node.name}: {dt.name} cannot hold the padding value {value}")
    _, h, w, c = layer.normal_input_shape()
    top, left, bottom, right = int_list(layer, "Padding", 4)
    mmv = int(layer.attrs.get("MMV", 1))
    rtl = new_rtl_layer(model, node, layer, "qnncc_fmpadding_mmv" if mmv > 1 else "qnncc_fmpadding")
    rtl.params.update({"H": h, "W": w, "TOP": top, "LEFT": left, "BOTTOM": bottom, "RIGHT": right, "C": c})
    rtl.params.update({"MMV": mmv} if mmv > 1 else {"SIMD": int(layer.attrs["SIMD"])})
    rtl.params.update({"BITS": dt.bitwidth(), "PAD": pad_code(dt, value)})
    return rtl
