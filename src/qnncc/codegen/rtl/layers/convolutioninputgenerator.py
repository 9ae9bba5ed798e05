"""RTL builder of the sliding-window generator: an instance of ``qnncc_swg`` (``hls_templates/rtl/qnncc_swg.v``).

Windows in Im2Col ``(i, j, c)`` order as the HLS backend, also for ``depthwise = 1``.
"""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    int_list,
    new_rtl_layer,
    ram_style,
    same_stream_type,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows


def swg_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a ConvolutionInputGenerator node (``qnncc_swg``; line buffer of ``span + stride`` rows).

    Raises:
        CodegenError: for float streams, unequal datatypes, malformed window attributes or
            ``parallel_window = 1`` (only the HLS ``swg_parallel`` implements it).
    """
    if int(layer.attrs.get("parallel_window", 0)):
        raise CodegenError(f"{node.name}: parallel_window=1 has no RTL implementation; use the HLS backend")
    dt = same_stream_type(layer, node)
    _, ih, iw, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = int_list(layer, "ConvKernelDim", 2)
    sh, sw = int_list(layer, "Stride", 2)
    dh, dw = int_list(layer, "Dilation", 2)
    rtl = new_rtl_layer(model, node, layer, "qnncc_swg")
    rows = swg_buffer_rows(dh * (kh - 1) + 1, sh, ih)
    rtl.params.update({"IH": ih, "IW": iw, "C": c, "SIMD": int(layer.attrs["SIMD"]), "KH": kh, "KW": kw})
    rtl.params.update({"SH": sh, "SW": sw, "DH": dh, "DW": dw, "OH": oh, "OW": ow, "ROWS": rows})
    rtl.params.update({"BITS": dt.bitwidth(), "RAM_STYLE": ram_style(layer)})
    return rtl
