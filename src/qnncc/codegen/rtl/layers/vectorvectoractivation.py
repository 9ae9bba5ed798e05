"""RTL builder of the VVAU (depthwise MAC): an instance of ``qnncc_vvau`` (``hls_templates/rtl/qnncc_vvau.v``).

Weights in the HLS backend's folded order.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from qnncc.codegen.hls.layers._common import required_initializer
from qnncc.codegen.hls.layers.vectorvectoractivation import vvau_weight_words
from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    accumulator_bits,
    activation_params,
    dt_params,
    new_rtl_layer,
    ram_style,
    rom_file,
)
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.vectorvectoractivation import INTERLEAVED_NO_HW, VVAU


def vvau_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a VVAU node (``qnncc_vvau``).

    ``MMV = m > 1`` (``SIMD = K_h*K_w``, ``PE = Channels``): ``m`` lanes of the core, one
    window each, in lockstep (:attr:`RtlLayer.lanes`).

    Raises:
        CodegenError: for an illegal folding, runtime-writeable or external
            weights, weights of the wrong size or float streams.
    """
    a = layer.attrs
    channels, pe, simd = int(a["Channels"]), int(a["PE"]), int(a["SIMD"])
    kh, kw = (int(v) for v in a["Kernel"])
    kernel = kh * kw
    if isinstance(layer, VVAU) and layer.interleaved_input():
        raise CodegenError(f"{node.name}: {INTERLEAVED_NO_HW}")
    if channels % pe or kernel % simd:
        raise CodegenError(f"{node.name}: PE={pe} must divide Channels={channels} and SIMD={simd} the kernel {kernel}")
    if int(a.get("runtime_writeable_weights", 0)) or a.get("mem_mode") == "external":
        raise CodegenError(f"{node.name}: runtime-writeable or external weights are not supported; weights are a ROM")
    wdt = DataType.from_name(a["weightDataType"])
    w = required_initializer(model, node, 1, "weights")
    if w.size != channels * kernel:
        raise CodegenError(f"{node.name}: weights of shape {list(w.shape)}, expected [{channels}, 1, {kh}, {kw}]")
    rtl = new_rtl_layer(model, node, layer, "qnncc_vvau")
    rtl.lanes = int(a.get("MMV", 1))
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
