"""Single-layer models for the Yosys measurements the fitted resource model (:mod:`qnncc.hw.perf.fitted`) uses.

A *case* is a plain JSON-able pair ``(op_type, attrs)`` with FINN attribute
names (what :func:`qnncc.hw.perf.estimate_layer` takes). :func:`case_model`
turns it into a one-node HW model with random constants (weights,
thresholds, channel parameters) drawn from a generator seeded by the case
itself, so a case always synthesises to the same netlist; :func:`measure_case`
synthesises it with Yosys (:func:`qnncc.codegen.rtl.synth_layer`, cached by
source hash) and returns one measurement row. It is a module-level function,
so :mod:`qnncc.jobs` can run cases in parallel worker processes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import HW_DOMAIN

__all__ = ["case_key", "case_model", "case_source", "measure_case", "threshold_steps"]

#: Constant inputs per op type, in node input order after the stream input(s).
_CONSTS = {"MVAU": ("w", "t"), "VVAU": ("w", "t"), "Thresholding": ("t",), "ChannelwiseOp": ("p",)}


def case_key(op_type: str, attrs: Mapping[str, Any]) -> str:
    """Stable identity of a case (JSON with sorted keys)."""
    return json.dumps([op_type, dict(attrs)], sort_keys=True, separators=(",", ":"))


def _rng(op_type: str, attrs: Mapping[str, Any]) -> np.random.Generator:
    digest = hashlib.sha256(case_key(op_type, attrs).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _values(rng: np.random.Generator, dt: DataType, shape: tuple[int, ...]) -> np.ndarray:
    if dt.name == "BIPOLAR":
        return rng.choice(np.array([-1.0, 1.0], np.float32), shape)
    return rng.integers(int(dt.min()), int(dt.max()) + 1, shape).astype(np.float32)


def threshold_steps(out_dt: str) -> int:
    """Thresholds per channel for an output datatype (1 for BIPOLAR/BINARY, else levels - 1)."""
    dt = DataType.from_name(out_dt)
    return 1 if dt.bitwidth() == 1 else int(dt.max() - dt.min())


def _thresholds(rng: np.random.Generator, channels: int, steps: int, lo: int, hi: int) -> np.ndarray:
    return np.sort(rng.integers(lo, hi + 1, (channels, steps)), axis=1).astype(np.float32)


def _mvau_consts(rng: np.random.Generator, a: Mapping[str, Any]) -> dict[str, np.ndarray]:
    mw, mh = int(a["MW"]), int(a["MH"])
    idt, wdt = DataType.from_name(a["inputDataType"]), DataType.from_name(a["weightDataType"])
    w = _values(rng, wdt, (mw, mh))
    consts = {"w": w}
    if not a["noActivation"]:
        if a["binaryXnorMode"]:
            lo, hi = 0, mw
        else:  # a narrow band around zero, as trained thresholds are
            span = max(1, int(math.sqrt(mw)) * int(max(abs(idt.max()), 1)) * int(max(abs(wdt.max()), 1)))
            lo, hi = -span, span
        consts["t"] = _thresholds(rng, mh, threshold_steps(a["outputDataType"]), lo, hi)
    return consts


def _vvau_consts(rng: np.random.Generator, a: Mapping[str, Any]) -> dict[str, np.ndarray]:
    c, (kh, kw) = int(a["Channels"]), a["Kernel"]
    consts = {"w": _values(rng, DataType.from_name(a["weightDataType"]), (c, 1, kh, kw))}
    if not a["noActivation"]:
        span = 4 * kh * kw
        consts["t"] = _thresholds(rng, c, threshold_steps(a["outputDataType"]), -span, span)
    return consts


def _stream_shapes(op_type: str, a: Mapping[str, Any]) -> list[list[int]]:
    """Input stream shapes (batch 1, NHWC) of a case."""
    raw = a.get("numInputVectors", [1])
    vecs = [int(v) for v in (raw if isinstance(raw, (list, tuple)) else [1])]
    if op_type == "MVAU":
        return [[*vecs, int(a["MW"])]]
    if op_type == "VVAU":
        (kh, kw), (oh, ow) = a["Kernel"], a["Dim"]
        return [[1, oh, ow, kh * kw * int(a["Channels"])]]
    if op_type == "ConvolutionInputGenerator":
        return [[1, *a["IFMDim"], int(a["IFMChannels"])]]
    if op_type in ("FMPadding", "StreamingMaxPool"):
        return [[1, *a["ImgDim"], int(a["NumChannels"])]]
    if op_type == "GlobalAccPool":
        return [[*vecs, int(a["NumChannels"])]]
    if op_type == "LabelSelect":
        return [[1, int(a["Labels"])]]
    if op_type in ("StreamingDataWidthConverter",):
        return [list(a["in_shape"])]
    if op_type == "StreamingFIFO":
        return [list(a["normal_shape"])]
    shape = [*vecs, int(a["NumChannels"])]
    return [shape, shape] if op_type == "AddStreams" else [shape]


def _input_dtype(op_type: str, a: Mapping[str, Any]) -> str:
    return str(a.get("inputDataType") or a.get("dataType"))


def case_model(op_type: str, attrs: Mapping[str, Any]) -> ModelWrapper:
    """One-node HW model of a case: stream inputs ``x0..``, random constants, outputs ``y0..``.

    Raises:
        QnnccError: if the attributes do not describe a valid layer.
    """
    rng = _rng(op_type, attrs)
    a = dict(attrs)
    consts: dict[str, np.ndarray] = {}
    if op_type == "MVAU":
        consts = _mvau_consts(rng, a)
    elif op_type == "VVAU":
        consts = _vvau_consts(rng, a)
    elif op_type == "Thresholding":
        idt = DataType.from_name(a["inputDataType"])
        consts = {"t": _thresholds(rng, int(a["NumChannels"]), int(a["numSteps"]), int(idt.min()), int(idt.max()))}
    elif op_type == "ChannelwiseOp":
        consts = {"p": _values(rng, DataType.from_name(a["paramDataType"]), (int(a["NumChannels"]),))}
    shapes = _stream_shapes(op_type, a)
    ins = [f"x{i}" for i in range(len(shapes))]
    outs = [f"y{i}" for i in range(int(a.get("NumOutputStreams", 2)) if op_type == "DuplicateStreams" else 1)]
    names = [*ins, *[c for c in _CONSTS.get(op_type, ()) if c in consts]]
    node = helper.make_node(op_type, names, outs, name=f"{op_type}_0", domain=HW_DOMAIN, **a)
    elem = TensorProto.INT64 if op_type == "LabelSelect" else TensorProto.FLOAT
    graph = helper.make_graph(
        [node],
        "case",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in zip(ins, shapes, strict=True)],
        [helper.make_tensor_value_info(n, elem, None) for n in outs],
        [numpy_helper.from_array(v, n) for n, v in consts.items()],
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    model = ModelWrapper(helper.make_model(graph, opset_imports=imports))
    for name in ins:
        model.set_tensor_datatype(name, DataType.from_name(_input_dtype(op_type, a)))
    from qnncc.transforms import InferShapes

    return model.transform(InferShapes())


def measure_case(case: tuple[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Synthesise one case with Yosys: ``{op_type, attrs, lut, lutram, ff, carry, bram_18k, uram, dsp, source}``.

    ``source`` is the synthesis cache key (:func:`~qnncc.codegen.rtl.yosys.synth_key`
    of the layer's files), the provenance of the counts: a row whose key differs
    from :func:`case_source` today was measured on other RTL.

    Raises:
        RtlToolError: if Yosys is missing or fails; CodegenError if the layer cannot be generated.
    """
    from qnncc.codegen.rtl.generate import rtl_layer
    from qnncc.codegen.rtl.yosys import layer_files, synth_key, synth_sources

    op_type, attrs = case
    model = case_model(op_type, attrs)
    rtl = rtl_layer(model, model.graph.node[0])
    files = layer_files(rtl)
    r = synth_sources(files, rtl.name, rtl.op_type)
    row: dict[str, Any] = {"op_type": op_type, "attrs": dict(attrs)}
    row.update({k: getattr(r, k) for k in ("lut", "lutram", "ff", "carry", "bram_18k", "uram", "dsp")})
    row["source"] = synth_key(files, rtl.name)
    return row


def case_source(op_type: str, attrs: Mapping[str, Any]) -> str:
    """The synthesis cache key a case has with today's RTL (compare with a stored row's ``source``).

    Raises:
        CodegenError: if the layer cannot be generated.
    """
    from qnncc.codegen.rtl.generate import rtl_layer
    from qnncc.codegen.rtl.yosys import layer_files, synth_key

    model = case_model(op_type, attrs)
    rtl = rtl_layer(model, model.graph.node[0])
    return synth_key(layer_files(rtl), rtl.name)
