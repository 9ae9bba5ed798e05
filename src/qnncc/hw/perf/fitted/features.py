"""Natural cost terms of each layer type, the regressors of the fitted resource model.

Each function maps a layer's FINN attributes to a few terms that the
hardware qnncc's RTL library (``hls_templates/rtl``) spends LUTs and
flip-flops on, e.g. for an MVAU ``PE*SIMD`` XNOR-popcount lanes (or
``PE*SIMD*IN_BITS*W_BITS`` multiplier bits), ``PE*SIMD*log2(SIMD)`` adder-tree
bits, ``PE*ACC_W`` accumulator bits,
``PE*STEPS*ACC_W`` threshold-comparator bits and the LUTs of a memory held in
LUTs (``width * ceil(depth/64)``: one LUT6 holds 64 bits of one output bit).
A model key splits op types whose datapaths differ (``MVAU/xnor`` and
``MVAU/int``). The coefficients come from least squares on Yosys
measurements (:mod:`.model`); FINN's analytic formulas use similar terms with
coefficients fitted to Vivado (Umuroglu et al., FINN, FPGA'17; FINN's
``lut_estimation`` per custom op).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from qnncc.core.datatype import DataType

__all__ = ["FEATURES", "feature_vector", "model_key"]

Attrs = Mapping[str, Any]


def _bits(dt: str) -> int:
    return DataType.from_name(dt).bitwidth()


def _lutmem(width: float, depth: float) -> float:
    """LUTs of a ``depth x width`` memory held in LUT6s (64 bits each per output bit)."""
    return float(width) * math.ceil(max(depth, 1) / 64)


def _clog2(n: float) -> float:
    return float(max(1, math.ceil(math.log2(max(n, 2)))))


def _dist(a: Attrs, default: str = "auto") -> bool:
    return str(a.get("ram_style", default)) == "distributed"


def _vectors(a: Attrs) -> int:
    raw = a.get("numInputVectors", [1])
    return math.prod(int(v) for v in raw) if isinstance(raw, (list, tuple)) else int(raw)


def _acc_bits(mw: int, idt: str, wdt: str, xnor: bool) -> int:
    """The RTL MVAU's accumulator width (``qnncc.codegen.rtl.mlp.accumulator_bits``)."""
    if xnor:
        return mw.bit_length() + 1
    i, w = DataType.from_name(idt), DataType.from_name(wdt)
    largest = mw * max(abs(i.min()), abs(i.max())) * max(abs(w.min()), abs(w.max()))
    return int(largest).bit_length() + 1


def _steps(a: Attrs) -> int:
    if a.get("noActivation", 0):
        return 0
    dt = DataType.from_name(a["outputDataType"])
    return 1 if dt.bitwidth() == 1 else int(dt.max() - dt.min())


def _lut_thresholds(a: Attrs, words: int) -> bool:
    """Whether an MVAU's threshold ROM costs LUTs of its own.

    Not in block RAM (``ram_style_thresholds``), and deeper than 4 words: Yosys
    folds a ROM of 1-4 words into the comparators (measured: those layers are no
    cheaper with block-RAM thresholds).
    """
    return not a.get("noActivation", 0) and a.get("ram_style_thresholds") != "block" and words > 4


def mvau(a: Attrs) -> dict[str, float]:
    mw, mh, pe, simd = int(a["MW"]), int(a["MH"]), int(a["PE"]), int(a["SIMD"])
    xnor = bool(a.get("binaryXnorMode", 0))
    ib, wb = _bits(a["inputDataType"]), _bits(a["weightDataType"])
    acc = _acc_bits(mw, a["inputDataType"], a["weightDataType"], xnor)
    steps = _steps(a)
    sf, nf = mw // simd, mh // pe
    lanes = pe * simd * (1 if xnor else ib * wb)
    tw = acc + 1
    return {
        "const": 1.0,
        "lanes": float(lanes),
        "lane_sum": float(pe * simd * (1 if xnor else ib + wb)),
        "tree": float(pe * simd * _clog2(simd)),
        "acc": float(pe * acc),
        "compare": float(pe * steps * acc),
        "wmem_lut": _lutmem(pe * simd * wb, sf * nf) if _dist(a) else 0.0,
        "tmem_lut": _lutmem(pe * steps * tw, nf) if _lut_thresholds(a, nf) else 0.0,
        "inbuf": _lutmem(simd * ib, sf) if nf > 1 else 0.0,
        "out": float(pe * _bits(a["outputDataType"])),
    }


def vvau(a: Attrs) -> dict[str, float]:
    c, pe, simd = int(a["Channels"]), int(a["PE"]), int(a["SIMD"])
    k = math.prod(int(v) for v in a["Kernel"])
    ib, wb = _bits(a["inputDataType"]), _bits(a["weightDataType"])
    acc = _clog2(k) + ib + wb + 1
    steps = _steps(a)
    return {
        "const": 1.0,
        "lanes": float(pe * simd * ib * wb),
        "lane_sum": float(pe * simd * (ib + wb)),
        "acc": float(pe * acc),
        "compare": float(pe * steps * acc),
        "wmem_lut": _lutmem(pe * simd * wb, (c // pe) * (k // simd)) if _dist(a) else 0.0,
        "tmem_lut": _lutmem(pe * steps * (acc + 1), c // pe) if steps else 0.0,
        "inbuf": _lutmem(pe * simd * ib, (c // pe) * (k // simd)),
    }


def thresholding(a: Attrs) -> dict[str, float]:
    # comparators and a LUT-held threshold memory scale alike in the measured range (one term:
    # the fit cannot tell them apart), the memory counts only when it is distributed
    c, pe, steps = int(a["NumChannels"]), int(a["PE"]), int(a["numSteps"])
    bits = pe * steps * (_bits(a["inputDataType"]) + 1)
    memory = _lutmem(bits, c // pe) if _dist(a, "distributed") else 0.0
    return {"const": 1.0, "logic": float(bits) + memory}


def swg(a: Attrs) -> dict[str, float]:
    c, simd = int(a["IFMChannels"]), int(a["SIMD"])
    kh, kw = (int(v) for v in a["ConvKernelDim"])
    _, iw = (int(v) for v in a["IFMDim"])
    bits = _bits(a["inputDataType"])
    words = kh * iw * c // simd  # the line buffer as the RTL core sizes it (K rows of the image)
    return {
        "const": 1.0,
        "width": float(simd * bits),
        "buf_lut": _lutmem(simd * bits, words) if _dist(a) else 0.0,
        "addr": _clog2(words) + _clog2(kh * kw * c // simd),
    }


def fmpadding(a: Attrs) -> dict[str, float]:
    return {"const": 1.0, "width": float(int(a["SIMD"]) * _bits(a["inputDataType"]))}


def maxpool(a: Attrs) -> dict[str, float]:
    c, pe = int(a["NumChannels"]), int(a["PE"])
    w = int(a["ImgDim"][1]) // int(a["PoolDim"][1])
    bits = _bits(a["dataType"])
    return {"const": 1.0, "width": float(pe * bits), "buf_lut": _lutmem(pe * bits, w * c // pe)}


def gap(a: Attrs) -> dict[str, float]:
    c, pe = int(a["NumChannels"]), int(a["PE"])
    acc = _bits(a["inputDataType"]) + _clog2(_vectors(a))
    return {"const": 1.0, "acc": float(pe * acc), "buf_lut": _lutmem(pe * acc, c // pe)}


def labelselect(a: Attrs) -> dict[str, float]:
    pe, k = int(a["PE"]), int(a.get("K", 1))
    bits, labels = _bits(a["inputDataType"]), int(a["Labels"])
    return {
        "const": 1.0,
        "compare": float(pe * k * (bits + _clog2(labels))),
        "topk": float(k * (bits + _clog2(labels))),
    }


def addstreams(a: Attrs) -> dict[str, float]:
    return {"const": 1.0, "width": float(int(a["PE"]) * (_bits(str(a.get("inputDataType", "INT8"))) + 1))}


def duplicate(a: Attrs) -> dict[str, float]:
    n = int(a.get("NumOutputStreams", 2))
    return {"const": 1.0, "width": float(int(a["PE"]) * _bits(a["inputDataType"]) * n)}


def channelwise(a: Attrs) -> dict[str, float]:
    c, pe = int(a["NumChannels"]), int(a["PE"])
    ib, pb = _bits(a["inputDataType"]), _bits(a["paramDataType"])
    mul = a.get("Func", "add") == "mul"
    return {
        "const": 1.0,
        "add": 0.0 if mul else float(pe * (max(ib, pb) + 1)),
        "mul": float(pe * ib * pb) if mul else 0.0,
        "pmem_lut": _lutmem(pe * pb, c // pe) if _dist(a, "distributed") else 0.0,
        "out": float(pe * _bits(a["outputDataType"])),
    }


def dwc(a: Attrs) -> dict[str, float]:
    # qnncc_dwc: a shift register when o = k*i, a k:1 output multiplexer when i = k*o, else a shifter buffer
    i, o = int(a["inWidth"]), int(a["outWidth"])
    general = i % o != 0 and o % i != 0
    return {
        "const": 1.0,
        "in_out": float(i + o),
        "narrow_mux": float(o * (i // o - 1)) if i % o == 0 else 0.0,
        "buffer": float(max(i, o) + math.lcm(i, o)) if general else 0.0,
    }


def fifo(a: Attrs) -> dict[str, float]:
    folded = [int(v) for v in a["folded_shape"]]
    width = folded[-1] * _bits(a["dataType"])
    depth = int(a["depth"])
    in_luts = _dist(a) or depth <= 64  # small FIFOs and distributed ones live in LUT RAM
    return {
        "const": 1.0,
        "width": float(width),
        "mem_lut": _lutmem(width, depth) if in_luts else 0.0,
        "addr": _clog2(depth),
    }


#: Model key -> feature function.
FEATURES: dict[str, Callable[[Attrs], dict[str, float]]] = {
    "MVAU/xnor": mvau,
    "MVAU/int": mvau,
    "VVAU": vvau,
    "Thresholding": thresholding,
    "ConvolutionInputGenerator": swg,
    "FMPadding": fmpadding,
    "StreamingMaxPool": maxpool,
    "GlobalAccPool": gap,
    "LabelSelect": labelselect,
    "AddStreams": addstreams,
    "DuplicateStreams": duplicate,
    "ChannelwiseOp": channelwise,
    "StreamingDataWidthConverter": dwc,
    "StreamingFIFO": fifo,
}


def model_key(op_type: str, attrs: Attrs) -> str:
    """The fitted model's key of a layer (``MVAU/xnor`` vs ``MVAU/int``; else the op type)."""
    if op_type == "MVAU":
        return "MVAU/xnor" if attrs.get("binaryXnorMode", 0) else "MVAU/int"
    return op_type


def feature_vector(op_type: str, attrs: Attrs) -> tuple[str, dict[str, float]] | None:
    """``(model key, terms)`` of a layer, or None when the op type has no fitted model."""
    key = model_key(op_type, attrs)
    fn = FEATURES.get(key)
    return None if fn is None else (key, fn(attrs))
