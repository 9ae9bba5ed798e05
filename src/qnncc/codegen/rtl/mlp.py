"""RTL builders of the MLP layers: MVAU, Thresholding, LabelSelect, width converter and FIFO.

Each builder maps a HW node to an :class:`~qnncc.codegen.rtl.layer.RtlLayer`
instantiating one module of ``hls_templates/rtl`` (``qnncc_mvau``,
``qnncc_thresholding``, ``qnncc_labelselect``, ``qnncc_dwc``, ``qnncc_fifo``)
with the same folded memory orders as the HLS backend.
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layers._common import required_initializer
from qnncc.codegen.hls.layers.mvau import weight_words
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

from ..render import CodegenError
from .layer import RtlLayer, dt_params, new_rtl_layer, rom_file, threshold_rom

__all__ = [
    "accumulator_bits",
    "activation_params",
    "ram_style",
    "dwc_rtl",
    "fifo_rtl",
    "labelselect_rtl",
    "mvau_rtl",
    "thresholding_rtl",
]

#: ram_style values passed to the library's ROMs (anything else becomes "auto").
RAM_STYLES = frozenset({"block", "distributed", "ultra", "auto"})


def ram_style(layer: HWLayer, default: str = "auto") -> str:
    """The node's ``ram_style`` attribute as a library ROM style."""
    style = str(layer.attrs.get("ram_style", default))
    return style if style in RAM_STYLES else "auto"


def accumulator_bits(mw: int, idt: DataType, wdt: DataType, xnor: bool) -> int:
    """Signed accumulator bits that hold every partial sum of ``mw`` products (no wrap-around).

    XNOR mode counts matches (``0..MW``); otherwise the bound is
    ``MW * max|x| * max|w|`` (partial sums of weights of both signs can exceed
    the final result's range).
    """
    if xnor:
        return mw.bit_length() + 1
    largest = mw * max(abs(idt.min()), abs(idt.max())) * max(abs(wdt.min()), abs(wdt.max()))
    return int(largest).bit_length() + 1


def activation_params(rtl: RtlLayer, layer: HWLayer, thresholds: np.ndarray, channels: int, pe: int) -> None:
    """Add the threshold ROM and the activation parameters (STEPS, T_W, ACT_VAL, BIPOLAR_OUT, T_FILE)."""
    text, steps, bits = threshold_rom(rtl.node_name, thresholds, channels, pe)
    filename = f"{rtl.name}_thresholds.dat"
    rtl.roms[filename] = text
    rtl.params.update(
        {
            "STEPS": steps,
            "T_W": bits,
            "ACT_VAL": int(layer.attrs.get("ActVal", 0)),
            "BIPOLAR_OUT": int(layer.output_datatype().name == "BIPOLAR"),
            "T_FILE": filename,
        }
    )


def mvau_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an MVAU node (``qnncc_mvau``): XNOR-popcount or integer, with or without thresholds.

    Raises:
        CodegenError: for weights of the wrong shape, XNOR mode on non-binary
            data, non-integer streams, thresholds that do not fit or ``MMV > 1``.
    """
    a = layer.attrs
    if int(a.get("MMV", 1)) > 1:
        raise CodegenError(f"{node.name}: MMV={a['MMV']} has no RTL implementation; use the HLS backend")
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


def thresholding_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a Thresholding node (``qnncc_thresholding``).

    Raises:
        CodegenError: for non-integer streams or a threshold table that does not fit.
    """
    channels, pe = int(layer.attrs["NumChannels"]), int(layer.attrs["PE"])
    rtl = new_rtl_layer(model, node, layer, "qnncc_thresholding")
    rtl.params.update({"C": channels, "PE": pe})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    rtl.params["OUT_BITS"] = layer.output_datatype().bitwidth()
    rtl.params["RAM_STYLE"] = ram_style(layer, "distributed")
    activation_params(rtl, layer, required_initializer(model, node, 1, "thresholds"), channels, pe)
    return rtl


def labelselect_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a LabelSelect node (``qnncc_labelselect``; one index per output word).

    Raises:
        CodegenError: for non-integer streams or an output datatype too narrow for the indices.
    """
    a = layer.attrs
    labels, pe, k = int(a["Labels"]), int(a["PE"]), int(a["K"])
    odt = layer.output_datatype()
    if odt.max() < labels - 1:
        raise CodegenError(f"{node.name}: output datatype {odt.name} cannot hold label index {labels - 1}")
    rtl = new_rtl_layer(model, node, layer, "qnncc_labelselect")
    rtl.params.update({"LABELS": labels, "PE": pe, "K": k})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    rtl.params["OUT_BITS"] = odt.bitwidth()
    return rtl


def dwc_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a StreamingDataWidthConverter node (``qnncc_dwc``, any ratio)."""
    rtl = new_rtl_layer(model, node, layer, "qnncc_dwc")
    dt = layer.input_datatype()
    dt_params(dt, "stream")
    rtl.params.update({"I": layer.input_elems_per_word(), "O": layer.output_elems_per_word(), "BITS": dt.bitwidth()})
    return rtl


def fifo_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a StreamingFIFO node (``qnncc_fifo`` of ``depth`` words).

    Raises:
        CodegenError: for a depth below 1.
    """
    depth = int(layer.attrs["depth"])
    if depth < 1:
        raise CodegenError(f"{node.name}: FIFO depth {depth} must be at least 1")
    rtl = new_rtl_layer(model, node, layer, "qnncc_fifo")
    style = str(layer.attrs.get("ram_style", "auto"))
    rtl.params.update(
        {
            "WIDTH": rtl.bits["in0_V"],
            "DEPTH": depth,
            "RAM_STYLE": style if style in ("distributed", "registers") else "auto",
        }
    )
    return rtl
