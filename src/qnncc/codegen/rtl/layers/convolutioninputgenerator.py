"""RTL builder of the sliding-window generator: an instance of ``qnncc_swg`` (``hls_templates/rtl/qnncc_swg.v``).

Windows in Im2Col ``(i, j, c)`` order as the HLS backend, also for ``depthwise = 1``;
``parallel_window = 1`` instantiates ``qnncc_swg_par`` (a whole window per word), with
``MMV > 1`` ``qnncc_swg_par_mmv`` (MMV pixels in and MMV windows out per word).
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
    """RTL of a ConvolutionInputGenerator node.

    ``qnncc_swg`` (line buffer of ``span + stride`` rows, ``SIMD`` channels per
    word), or with ``parallel_window = 1`` ``qnncc_swg_par`` (one pixel in and
    at most one whole window out per cycle; ``MMV > 1``: ``qnncc_swg_par_mmv``, MMV
    pixels in per cycle and MMV windows per output word).

    Raises:
        CodegenError: for float streams, unequal datatypes, malformed window attributes,
            or ``parallel_window = 1`` with dilation, depthwise or ``SIMD != C``.
    """
    if int(layer.attrs.get("parallel_window", 0)):
        return _swg_parallel_rtl(model, node, layer)
    dt = same_stream_type(layer, node)
    if int(layer.attrs.get("MMV", 1)) > 1:
        raise CodegenError(f"{node.name}: MMV={layer.attrs['MMV']} needs parallel_window=1")
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


def _swg_parallel_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    dt = same_stream_type(layer, node)
    _, ih, iw, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = int_list(layer, "ConvKernelDim", 2)
    sh, sw = int_list(layer, "Stride", 2)
    if (
        int_list(layer, "Dilation", 2) != [1, 1]
        or int(layer.attrs.get("depthwise", 0))
        or int(layer.attrs["SIMD"]) != c
    ):
        raise CodegenError(f"{node.name}: parallel_window=1 needs SIMD = IFMChannels, no dilation and depthwise=0")
    mmv = int(layer.attrs.get("MMV", 1))
    rtl = new_rtl_layer(model, node, layer, "qnncc_swg_par_mmv" if mmv > 1 else "qnncc_swg_par")
    rtl.params.update({"IH": ih, "IW": iw, "C": c, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "OH": oh, "OW": ow})
    if mmv > 1:
        rtl.params["MMV"] = mmv
    rtl.params.update({"BITS": dt.bitwidth(), "RAM_STYLE": ram_style(layer)})
    return rtl
