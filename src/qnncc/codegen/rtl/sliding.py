"""RTL builders of the sliding-window family: ConvolutionInputGenerator, FMPadding, pooling and VVAU.

Stream orders are those of the HLS backend (channels-last C order; windows
in Im2Col ``(i, j, c)`` order, also for ``depthwise = 1``), so the cores
``qnncc_swg``, ``qnncc_fmpadding``, ``qnncc_maxpool``, ``qnncc_gap`` and
``qnncc_vvau`` consume and produce the same words as their HLS twins.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from qnncc.codegen.hls.layers._common import required_initializer
from qnncc.codegen.hls.layers.vvau import vvau_weight_words
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows

from ..render import CodegenError
from .layer import RtlLayer, dt_params, new_rtl_layer, rom_file
from .mlp import accumulator_bits, activation_params, ram_style

__all__ = ["fmpadding_rtl", "global_acc_pool_rtl", "maxpool_rtl", "swg_rtl", "vvau_rtl"]


def _ints(layer: HWLayer, name: str, count: int) -> list[int]:
    values = [int(v) for v in layer.attrs[name]]
    if len(values) != count:
        raise CodegenError(f"{layer.node.name}: {name}={values} must have {count} entries")
    return values


def _same_type(layer: HWLayer, node: onnx.NodeProto) -> DataType:
    idt, odt = layer.input_datatype(), layer.output_datatype()
    if idt != odt:
        raise CodegenError(f"{node.name}: input {idt.name} and output {odt.name} datatypes must be equal")
    dt_params(idt, f"{node.name} stream")
    return idt


def swg_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a ConvolutionInputGenerator node.

    ``qnncc_swg`` (line buffer of ``span + stride`` rows, ``SIMD`` channels per
    word), or with ``parallel_window = 1`` ``qnncc_swg_par`` (one pixel in and
    at most one whole window out per cycle).

    Raises:
        CodegenError: for float streams, unequal datatypes, malformed window attributes,
            or ``parallel_window = 1`` with dilation, depthwise or ``SIMD != C``.
    """
    if int(layer.attrs.get("parallel_window", 0)):
        return _swg_parallel_rtl(model, node, layer)
    dt = _same_type(layer, node)
    _, ih, iw, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = _ints(layer, "ConvKernelDim", 2)
    sh, sw = _ints(layer, "Stride", 2)
    dh, dw = _ints(layer, "Dilation", 2)
    rtl = new_rtl_layer(model, node, layer, "qnncc_swg")
    rows = swg_buffer_rows(dh * (kh - 1) + 1, sh, ih)
    rtl.params.update({"IH": ih, "IW": iw, "C": c, "SIMD": int(layer.attrs["SIMD"]), "KH": kh, "KW": kw})
    rtl.params.update({"SH": sh, "SW": sw, "DH": dh, "DW": dw, "OH": oh, "OW": ow, "ROWS": rows})
    rtl.params.update({"BITS": dt.bitwidth(), "RAM_STYLE": ram_style(layer)})
    return rtl


def _swg_parallel_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    dt = _same_type(layer, node)
    _, ih, iw, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = _ints(layer, "ConvKernelDim", 2)
    sh, sw = _ints(layer, "Stride", 2)
    if _ints(layer, "Dilation", 2) != [1, 1] or int(layer.attrs.get("depthwise", 0)) or int(layer.attrs["SIMD"]) != c:
        raise CodegenError(f"{node.name}: parallel_window=1 needs SIMD = IFMChannels, no dilation and depthwise=0")
    rtl = new_rtl_layer(model, node, layer, "qnncc_swg_par")
    rtl.params.update({"IH": ih, "IW": iw, "C": c, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "OH": oh, "OW": ow})
    rtl.params.update({"BITS": dt.bitwidth(), "RAM_STYLE": ram_style(layer)})
    return rtl


def fmpadding_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an FMPadding node (``qnncc_fmpadding``).

    Raises:
        CodegenError: for float streams or a datatype without a zero (BIPOLAR).
    """
    dt = _same_type(layer, node)
    if not dt.allowed(0):
        raise CodegenError(f"{node.name}: {dt.name} cannot hold the zero padding")
    _, h, w, c = layer.normal_input_shape()
    top, left, bottom, right = _ints(layer, "Padding", 4)
    rtl = new_rtl_layer(model, node, layer, "qnncc_fmpadding")
    rtl.params.update({"H": h, "W": w, "TOP": top, "LEFT": left, "BOTTOM": bottom, "RIGHT": right, "C": c})
    rtl.params.update({"SIMD": int(layer.attrs["SIMD"]), "BITS": dt.bitwidth()})
    return rtl


def maxpool_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a StreamingMaxPool node (``qnncc_maxpool``; ceil or floor mode).

    Raises:
        CodegenError: for float streams or unequal datatypes.
    """
    dt = _same_type(layer, node)
    _, h, w, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = _ints(layer, "PoolDim", 2)
    rtl = new_rtl_layer(model, node, layer, "qnncc_maxpool")
    rtl.params.update({"IH": h, "IW": w, "C": c, "PE": layer.input_elems_per_word(), "KH": kh, "KW": kw})
    rtl.params.update({"OH": oh, "OW": ow})
    spec = dt_params(dt, "IN")
    rtl.params.update({"BITS": spec["IN_BITS"], "SIGNED": spec["IN_SIGNED"], "BIPOLAR": spec["IN_BIPOLAR"]})
    return rtl


def global_acc_pool_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a GlobalAccPool node (``qnncc_gap``).

    Raises:
        CodegenError: for float streams.
    """
    _, h, w, c = layer.normal_input_shape()
    rtl = new_rtl_layer(model, node, layer, "qnncc_gap")
    rtl.params.update({"PIXELS": h * w, "C": c, "PE": int(layer.attrs["PE"])})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    rtl.params["OUT_BITS"] = layer.output_datatype().bitwidth()
    return rtl


def vvau_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a VVAU node (``qnncc_vvau``).

    Raises:
        CodegenError: for an illegal folding, runtime-writeable or external
            weights, weights of the wrong size, or float streams.
    """
    a = layer.attrs
    channels, pe, simd = int(a["Channels"]), int(a["PE"]), int(a["SIMD"])
    kh, kw = (int(v) for v in a["Kernel"])
    kernel = kh * kw
    if channels % pe or kernel % simd:
        raise CodegenError(f"{node.name}: PE={pe} must divide Channels={channels} and SIMD={simd} the kernel {kernel}")
    if int(a.get("runtime_writeable_weights", 0)) or a.get("mem_mode") == "external":
        raise CodegenError(f"{node.name}: runtime-writeable or external weights are not supported; weights are a ROM")
    wdt = DataType.from_name(a["weightDataType"])
    w = required_initializer(model, node, 1, "weights")
    if w.size != channels * kernel:
        raise CodegenError(f"{node.name}: weights of shape {list(w.shape)}, expected [{channels}, 1, {kh}, {kw}]")
    rtl = new_rtl_layer(model, node, layer, "qnncc_vvau")
    words = vvau_weight_words(np.asarray(w), channels, kernel, simd, pe)
    rtl.roms[f"{rtl.name}_weights.dat"] = rom_file(words, wdt)
    idt = layer.input_datatype()
    rtl.params.update({"C": channels, "K": kernel, "SIMD": simd, "PE": pe, "G": math.gcd(simd * pe, channels)})
    rtl.params.update(dt_params(idt, "IN"))
    rtl.params.update(dt_params(wdt, "W"))
    rtl.params.update(
        {"ACC_W": accumulator_bits(kernel, idt, wdt, False), "OUT_BITS": layer.output_datatype().bitwidth()}
    )
    rtl.params.update({"W_FILE": f"{rtl.name}_weights.dat", "RAM_STYLE": ram_style(layer)})
    rtl.params["HAS_ACT"] = 0 if a["noActivation"] else 1
    if not a["noActivation"]:
        activation_params(rtl, layer, required_initializer(model, node, 2, "thresholds"), channels, pe)
    return rtl
