"""RTL builder of the MVAU: an instance of ``qnncc_mvau`` (``hls_templates/rtl/qnncc_mvau.v``).

Binary XNOR-popcount or integer MACs, optional thresholds; weights in the HLS backend's folded order.
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layers._common import required_initializer
from qnncc.codegen.hls.layers.mvau import weight_words
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


def mvau_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an MVAU node (``qnncc_mvau``): XNOR-popcount or integer, with or without thresholds.

    ``MMV = m > 1`` (``SIMD = MW``, ``PE = MH``, :mod:`qnncc.hw.layers.mmv`): ``m`` lanes of
    the core side by side, one vector each, in lockstep (:attr:`RtlLayer.lanes`).

    Raises:
        CodegenError: for weights of the wrong shape, XNOR mode on non-binary
            data, non-integer streams, thresholds that do not fit or ``mem_mode='external'``.
    """
    a = layer.attrs
    if a.get("mem_mode") == "external":
        raise CodegenError(f"{node.name}: mem_mode='external' (streamed weights) has no RTL implementation")
    mw, mh, simd, pe = int(a["MW"]), int(a["MH"]), int(a["SIMD"]), int(a["PE"])
    xnor = bool(a["binaryXnorMode"])
    idt, odt = layer.input_datatype(), layer.output_datatype()
    wdt = DataType.from_name(a["weightDataType"])
    w = required_initializer(model, node, 1, "weights")
    if tuple(w.shape) != (mw, mh):
        raise CodegenError(f"{node.name}: weights of shape {list(w.shape)}, expected [{mw}, {mh}]")
    if xnor and (wdt.bitwidth() != 1 or idt.bitwidth() != 1):
        raise CodegenError(f"{node.name}: binaryXnorMode needs 1-bit input and weights")
    rtl = new_rtl_layer(model, node, layer, "qnncc_mvau")
    rtl.lanes = int(a.get("MMV", 1))
    words = weight_words(np.asarray(w), simd, pe)  # [PE, WMEM, SIMD]
    rom = words.transpose(1, 0, 2).reshape(words.shape[1], pe * simd)  # word nf*SF+sf, lane p*SIMD+s
    rtl.roms[f"{rtl.name}_weights.dat"] = rom_file(rom, wdt)
    rtl.params.update({"MW": mw, "MH": mh, "SIMD": simd, "PE": pe})
    rtl.params.update(dt_params(idt, "IN"))
    rtl.params.update(dt_params(wdt, "W"))
    acc = accumulator_bits(mw, idt, wdt, xnor)
    rtl.params.update({"XNOR": int(xnor), "ACC_W": acc, "OUT_BITS": odt.bitwidth()})
    rtl.params.update({"W_FILE": f"{rtl.name}_weights.dat", "RAM_STYLE": ram_style(layer)})
    if a["noActivation"]:
        rtl.params["HAS_ACT"] = 0
    else:
        rtl.params["HAS_ACT"] = 1
        activation_params(rtl, layer, required_initializer(model, node, 2, "thresholds"), mh, pe)
    return rtl
