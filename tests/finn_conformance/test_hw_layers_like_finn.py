"""FINN's HW-layer tests mirrored: FINN-ONNX nodes execute in qnncc with FINN's semantics.

Each case rebuilds, with ``onnx.helper``, a node as one of finn-plus 1.6's
``tests/fpgadataflow`` tests creates it (same op type — generic, or
specialized ``*_hls``/``*_rtl`` in FINN's ``.hls``/``.rtl`` domains — same
attributes, datatypes and parameter grid, reduced), runs it in both qnncc
back ends and compares with FINN's semantics written independently in
:mod:`finn_semantics`. FINN's own tests need Vivado/Vitis for cppsim and
rtlsim, so they are mirrored rather than run.

Mirrored: test_fpgadataflow_mvau, _thresholding, _vvau, _convinputgenerator,
_fmpadding, _labelselect, _addstreams, _duplicatestreams, _globalaccpool,
_dwc, _fifo, _elementwise_binary, _concat, _split, _upsampler, test_squeeze,
test_unsqueeze, test_convert_to_hw_pool_batch (StreamingMaxPool, Pool) and the
ChannelwiseOp of test_convert_to_hw_layers_synthetic.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import finn_semantics as fs
import numpy as np
import onnx
import pytest
from hw_graphs import hw_graph_model
from onnx import TensorProto, helper

import qnncc
from qnncc import ModelWrapper
from qnncc.codegen.hls import layer_code
from qnncc.custom_op.finn_names import mark_finn_vvau_input_order

FINN = "finn.custom_op.fpgadataflow"
BACKENDS = ["fast", "reference"]
RNG = np.random.default_rng(2026)


@dataclass
class Case:
    """A model, its feeds and FINN's expected outputs."""

    model: ModelWrapper
    feeds: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]


def finn_node(op: str, style: str, inputs: list[str], outputs: list[str], **attrs: Any) -> Any:
    """A FINN node: generic (``style=""``) or specialized ``<op>_<style>`` in ``<FINN>.<style>``."""
    op_type = f"{op}_{style}" if style else op
    domain = f"{FINN}.{style}" if style else FINN
    return helper.make_node(op_type, inputs, outputs, domain=domain, name=f"{op_type}_0", **attrs)


def model_of(
    node: Any, inputs: dict[str, list[int]], outputs: list[str], consts: dict[str, Any], out_type: int = 1
) -> ModelWrapper:
    domains = [(FINN, 1), (f"{FINN}.hls", 1), (f"{FINN}.rtl", 1)]
    return hw_graph_model([node], inputs, outputs, consts, domains=domains, opset=18, out_type=out_type)


def ints(lo: int, hi: int, shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(lo, hi, size=shape, endpoint=True).astype(np.float32)


def dt_range(name: str) -> tuple[int, int]:
    if name == "BIPOLAR":
        return -1, 1
    dt = qnncc.DataType.from_name(name)
    return int(dt.min()), int(dt.max())


# ------------------------------------------------------------------ cases


def mvau_case(style: str, idt: str, wdt: str, act: str | None, pe: int, simd: int) -> Case:
    mw = mh = 16
    xnor = idt == "BIPOLAR" and wdt == "BIPOLAR"

    def draw(dt: str, shape: tuple[int, ...]) -> np.ndarray:
        if dt == "BIPOLAR":
            v = RNG.choice([-1.0, 1.0], size=shape).astype(np.float32)
            return (v + 1) / 2 if xnor else v  # FINN feeds BINARY {0,1} in XNOR mode
        return ints(*dt_range(dt), shape)

    x, w = draw(idt, (1, mw)), draw(wdt, (mw, mh))
    acc = fs.mvau(x, w, xnor)
    consts: dict[str, Any] = {"w": w}
    inputs = ["x", "w"]
    odt = "INT32" if act is None else act
    if act is not None:
        lo, hi = int(acc.min()) - 2, int(acc.max()) + 2
        steps = 1 if act == "BIPOLAR" else 15
        consts["t"] = np.sort(RNG.integers(lo, hi, (mh, steps)), axis=1).astype(np.float32)
        inputs.append("t")
    attrs = {
        "MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "inputDataType": "BINARY" if xnor else idt,
        "weightDataType": "BINARY" if xnor else wdt, "outputDataType": odt, "binaryXnorMode": int(xnor),
        "noActivation": int(act is None), "ActVal": 0 if act in (None, "BIPOLAR") else dt_range(act)[0],
        "numInputVectors": [1], "mem_mode": "internal_decoupled",
    }  # fmt: skip
    node = finn_node("MVAU", style, inputs, ["y"], **attrs)
    expected = (
        acc if act is None else fs.activation(fs.multithreshold(acc, consts["t"]), act == "BIPOLAR", attrs["ActVal"])
    )
    return Case(model_of(node, {"x": [1, mw]}, ["y"], consts), {"x": x}, {"y": expected})


def thresholding_case(style: str, channels: int, act: str, per_tensor: bool, pe: int) -> Case:
    steps = 1 if act == "BIPOLAR" else 15
    x = ints(-40, 40, (1, 3, 3, channels))
    rows = 1 if per_tensor else channels
    t = np.sort(RNG.integers(-40, 40, (rows, steps)), axis=1).astype(np.float32)
    act_val = 0 if act == "BIPOLAR" else dt_range(act)[0]
    attrs = {
        "NumChannels": channels, "PE": pe, "numSteps": steps, "inputDataType": "INT8", "weightDataType": "INT8",
        "outputDataType": act, "ActVal": act_val, "numInputVectors": [1, 3, 3],
    }  # fmt: skip
    node = finn_node("Thresholding", style, ["x", "t"], ["y"], **attrs)
    expected = fs.activation(fs.multithreshold(x, t), act == "BIPOLAR", act_val)
    return Case(model_of(node, {"x": [1, 3, 3, channels]}, ["y"], {"t": t}), {"x": x}, {"y": expected})


def vvau_case(style: str, channels: int, k: int, act: str | None, pe: int, simd: int) -> Case:
    dim = 4
    x = ints(-8, 7, (1, dim, dim, k * k * channels))
    w = ints(-8, 7, (channels, 1, k, k))
    acc = fs.vvau(x, w, k * k, channels)
    inputs, consts = ["x", "w"], {"w": w}
    if act is not None:
        consts["t"] = np.sort(RNG.integers(int(acc.min()), int(acc.max()), (channels, 15)), axis=1).astype(np.float32)
        inputs.append("t")
    attrs = {
        "PE": pe, "SIMD": simd, "Dim": [dim, dim], "Channels": channels, "Kernel": [k, k], "inputDataType": "INT4",
        "weightDataType": "INT4", "outputDataType": act or "INT32", "noActivation": int(act is None), "ActVal": 0,
    }  # fmt: skip
    node = finn_node("VVAU", style, inputs, ["y"], **attrs)
    expected = acc if act is None else fs.multithreshold(acc, consts["t"])
    return Case(model_of(node, {"x": [1, dim, dim, k * k * channels]}, ["y"], consts), {"x": x}, {"y": expected})


def swg_case(style: str, k: list[int], ifm: list[int], ch: int, stride: list[int], dil: list[int], simd: int) -> Case:
    x = ints(0, 15, (1, *ifm, ch))
    expected = fs.im2col(x, k, stride, dil)
    ofm = list(expected.shape[1:3])
    attrs = {
        "ConvKernelDim": k, "IFMChannels": ch, "IFMDim": ifm, "OFMDim": ofm, "SIMD": simd, "Stride": stride,
        "Dilation": dil, "inputDataType": "UINT4", "outputDataType": "UINT4", "depthwise": 0,
    }  # fmt: skip
    node = finn_node("ConvolutionInputGenerator", style, ["x"], ["y"], **attrs)
    return Case(model_of(node, {"x": [1, *ifm, ch]}, ["y"], {}), {"x": x}, {"y": expected})


def fmpadding_case(style: str, idim: list[int], pad: list[int], ch: int, simd: int) -> Case:
    x = ints(-2, 1, (1, *idim, ch))
    attrs = {"ImgDim": idim, "Padding": pad, "NumChannels": ch, "SIMD": simd, "inputDataType": "INT2"}
    node = finn_node("FMPadding", style, ["x"], ["y"], **attrs)
    return Case(model_of(node, {"x": [1, *idim, ch]}, ["y"], {}), {"x": x}, {"y": fs.fmpadding(x, pad)})


def labelselect_case(idt: str, labels: int, pe: int, k: int) -> Case:
    lo, hi = dt_range(idt)
    x = RNG.choice(np.arange(lo, hi + 1), size=labels, replace=False).astype(np.float32)[None]
    attrs = {"Labels": labels, "PE": pe, "K": k, "inputDataType": idt, "outputDataType": "UINT32"}
    node = finn_node("LabelSelect", "hls", ["x"], ["y"], **attrs)
    model = model_of(node, {"x": [1, labels]}, ["y"], {}, out_type=TensorProto.INT64)  # as FINN's test declares it
    return Case(model, {"x": x}, {"y": fs.labelselect(x, k)})


def addstreams_case(ch: int, pe: int) -> Case:
    a, b = ints(-8, 7, (1, 4, 4, ch)), ints(-8, 7, (1, 4, 4, ch))
    attrs = {"NumChannels": ch, "PE": pe, "inputDataTypes": ["INT4", "INT4"], "numInputVectors": [1, 4, 4]}
    node = finn_node("AddStreams", "hls", ["a", "b"], ["y"], **attrs)
    return Case(model_of(node, {"a": [1, 4, 4, ch], "b": [1, 4, 4, ch]}, ["y"], {}), {"a": a, "b": b}, {"y": a + b})


def duplicate_case(ch: int, pe: int, n_out: int) -> Case:
    x = ints(-8, 7, (1, 4, 4, ch))
    outs = [f"y{i}" for i in range(n_out)]
    attrs = {
        "NumChannels": ch,
        "PE": pe,
        "inputDataType": "INT4",
        "numInputVectors": [1, 4, 4],
        "NumOutputStreams": n_out,
    }
    node = finn_node("DuplicateStreams", "hls", ["x"], outs, **attrs)
    return Case(model_of(node, {"x": [1, 4, 4, ch]}, outs, {}), {"x": x}, dict.fromkeys(outs, x))


def globalaccpool_case(idt: str, ch: int, pe: int) -> Case:
    x = ints(*dt_range(idt), (1, 7, 7, ch))
    attrs = {"NumChannels": ch, "PE": pe, "inputDataType": idt, "numInputVectors": [1, 7, 7]}
    node = finn_node("GlobalAccPool", "hls", ["x"], ["y"], **attrs)
    expected = x.astype(np.int64).sum(axis=(1, 2), keepdims=True)
    return Case(model_of(node, {"x": [1, 7, 7, ch]}, ["y"], {}), {"x": x}, {"y": expected})


def channelwise_case(func: str, ch: int, pe: int) -> Case:
    x, p = ints(-8, 7, (1, 3, 3, ch)), ints(-8, 7, (ch,))
    odt = "INT8" if func in ("add", "mul") else "BINARY"
    attrs = {"Func": func, "PE": pe, "NumChannels": ch, "inputDataType": "INT4", "paramDataType": "INT4",
             "outputDataType": odt, "numInputVectors": [1, 3, 3]}  # fmt: skip
    node = finn_node("ChannelwiseOp", "hls", ["x", "p"], ["y"], **attrs)
    expected = {"add": x + p, "mul": x * p, "cmp_le": (p <= x), "cmp_ge": (p >= x)}[func]
    return Case(model_of(node, {"x": [1, 3, 3, ch]}, ["y"], {"p": p}), {"x": x}, {"y": expected})


def dwc_case(style: str, shape: list[int], in_w: int, out_w: int) -> Case:
    x = ints(-2, 1, tuple(shape))
    attrs = {"in_shape": shape, "out_shape": shape, "inWidth": in_w, "outWidth": out_w, "dataType": "INT2"}
    node = finn_node("StreamingDataWidthConverter", style, ["x"], ["y"], **attrs)
    return Case(model_of(node, {"x": shape}, ["y"], {}), {"x": x}, {"y": x})


def fifo_case(depth: int, shape: list[int]) -> Case:
    x = ints(-2, 1, tuple(shape))
    folded = [*shape[:-1], 1, shape[-1]]
    attrs = {"depth": depth, "folded_shape": folded, "normal_shape": shape, "dataType": "INT2"}
    node = finn_node("StreamingFIFO", "rtl", ["x"], ["y"], **attrs)
    return Case(model_of(node, {"x": shape}, ["y"], {}), {"x": x}, {"y": x})


def maxpool_case(style: str, ifm: int, pool: int, ch: int, pe: int, ceil: int) -> Case:
    x = ints(-8, 7, (1, ifm, ifm, ch))
    attrs = {
        "ImgDim": [ifm, ifm],
        "PoolDim": [pool, pool],
        "NumChannels": ch,
        "PE": pe,
        "dataType": "INT4",
        "CeilMode": ceil,
    }
    node = finn_node("StreamingMaxPool", style, ["x"], ["y"], **attrs)
    return Case(
        model_of(node, {"x": [1, ifm, ifm, ch]}, ["y"], {}), {"x": x}, {"y": fs.maxpool_nhwc(x, [pool] * 2, bool(ceil))}
    )


ELEMENTWISE = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Maximum": np.maximum,
    "Minimum": np.minimum, "And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor, "Equal": np.equal,
    "Less": np.less, "LessOrEqual": np.less_equal, "Greater": np.greater, "GreaterOrEqual": np.greater_equal,
    "BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or, "BitwiseXor": np.bitwise_xor,
}  # fmt: skip


def elementwise_case(op: str, dtypes: tuple[str, str], lhs_shape: list[int], init: str, pe: int, style: str) -> Case:
    rhs_shape, out_shape = [3, 32, 1, 16], list(np.broadcast_shapes(lhs_shape, [3, 32, 1, 16]))
    if op in ("Div",) and "INT8" in dtypes:
        pass

    def draw(dt: str, shape: list[int]) -> np.ndarray:
        v = ints(-128, 127, tuple(shape)) if dt == "INT8" else RNG.uniform(-4, 4, size=shape).astype(np.float32)
        return np.where(v == 0, 1, v).astype(np.float32) if op == "Div" else v

    lhs, rhs = draw(dtypes[0], lhs_shape), draw(dtypes[1], rhs_shape)
    attrs = {"lhs_dtype": dtypes[0], "rhs_dtype": dtypes[1], "out_dtype": "FLOAT32", "lhs_shape": lhs_shape,
             "rhs_shape": rhs_shape, "out_shape": out_shape, "PE": pe}  # fmt: skip
    node = finn_node(f"Elementwise{op}", style, ["in_x", "in_y"], ["out"], **attrs)
    feeds = {"in_x": lhs, "in_y": rhs}
    consts = {k: feeds.pop(k) for k in ([init] if init else [])}
    inputs = {k: list(v.shape) for k, v in feeds.items()}
    a = lhs.astype(np.int64) if dtypes[0] == "INT8" else lhs
    b = rhs.astype(np.int64) if dtypes[1] == "INT8" else rhs
    expected = ELEMENTWISE[op](a, b).astype(np.float32)
    return Case(model_of(node, inputs, ["out"], consts), feeds, {"out": expected})


def squeeze_case(op: str, shape: list[int], axes: list[int]) -> Case:
    x = ints(-8, 7, tuple(shape))
    y = np.squeeze(x, axis=tuple(axes)) if op == "Squeeze" else np.expand_dims(x, axis=tuple(axes))
    attrs = {"axes": axes, "inp_dtype": "INT4", "out_dtype": "INT4", "inp_shape": shape, "out_shape": list(y.shape)}
    node = helper.make_node(op, ["x"], ["y"], domain=FINN, backend="fpgadataflow", **attrs)
    return Case(model_of(node, {"x": shape}, ["y"], {}), {"x": x}, {"y": y})


def concat_split_case(op: str, widths: list[int], simd: int) -> Case:
    parts = [ints(-4, 3, (1, 4, 4, w)) for w in widths]
    joined = np.concatenate(parts, axis=-1)
    if op == "StreamingConcat":
        names = [f"x{i}" for i in range(len(widths))]
        attrs = {
            "SIMD": simd,
            "ChannelsPerStream": widths,
            "inputDataTypes": ["INT3"] * len(widths),
            "numInputVectors": [1, 4, 4],
        }
        node = finn_node(op, "hls", names, ["y"], **attrs)
        return Case(
            model_of(node, {n: list(p.shape) for n, p in zip(names, parts, strict=True)}, ["y"], {}),
            dict(zip(names, parts, strict=True)),
            {"y": joined},
        )
    outs = [f"y{i}" for i in range(len(widths))]
    attrs = {"SIMD": simd, "ChannelsPerStream": widths, "inputDataType": "INT3", "numInputVectors": [1, 4, 4]}
    node = finn_node(op, "hls", ["x"], outs, **attrs)
    return Case(model_of(node, {"x": list(joined.shape)}, outs, {}), {"x": joined}, dict(zip(outs, parts, strict=True)))


def upsample_case(ifm: int, scale: int, ch: int, dim_mode: int) -> Case:
    ofm = ifm * scale
    shape = [1, ifm, 1 if dim_mode else ifm, ch]
    x = ints(-8, 7, tuple(shape))
    y = x.repeat(scale, axis=1)
    y = y if dim_mode else y.repeat(scale, axis=2)
    attrs = {
        "OFMDim": ofm,
        "IFMDim": ifm,
        "NumChannels": ch,
        "inputDataType": "INT4",
        "DimMode": dim_mode,
        "numInputVectors": 1,
    }
    node = finn_node("UpsampleNearestNeighbour", "hls", ["x"], ["y"], **attrs)
    return Case(model_of(node, {"x": shape}, ["y"], {}), {"x": x}, {"y": y})


def pool_case(func: str, idt: str, odt: str, k: int, ch: int, pe: int) -> Case:
    """test_convert_to_hw_pool_batch's ``Pool`` (after a depthwise SWG): windows ``[.., k*k*C]`` in Im2Col order."""
    odim = 3
    x = ints(*dt_range(idt), (1, odim, odim, k * k * ch))
    windows = x.reshape(1, odim, odim, k * k, ch).astype(np.int64)
    if func == "MaxPool":
        y = windows.max(axis=3)
    else:
        shift = max(int((2 ** qnncc.DataType.from_name(idt).bitwidth() - 1) * k * k).bit_length()
                    - qnncc.DataType.from_name(odt).bitwidth(), 0)  # fmt: skip
        y = np.floor(windows.sum(axis=3) / 2**shift)
    attrs = {"Channels": ch, "PE": pe, "KernelSize": [k, k], "Function": func, "OutImgDims": [odim, odim],
             "InputDataType": idt, "OutputDataType": idt if func == "MaxPool" else odt, "BatchSize": 1}  # fmt: skip
    node = finn_node("Pool", "hls", ["x"], ["y"], **attrs)
    return Case(model_of(node, {"x": list(x.shape)}, ["y"], {}), {"x": x}, {"y": y})


# ------------------------------------------------------------------ the grid

CASES: dict[str, Callable[[], Case]] = {}


def _add(prefix: str, fn: Callable[..., Case], grid: list[tuple[Any, ...]]) -> None:
    for args in grid:
        CASES[f"{prefix}-{'-'.join(str(a) for a in args)}"] = lambda fn=fn, args=args: fn(*args)


_add("mvau", mvau_case, [
    (s, i, w, a, pe, simd) for s in ("", "hls", "rtl") for i in ("BIPOLAR", "INT4") for w in ("BIPOLAR", "INT4")
    for a in (None, "BIPOLAR", "INT4") for pe, simd in ((16, 16), (2, 2), (1, 1))
    if not (s == "rtl" and "BIPOLAR" in (i, w))
])  # fmt: skip
_add("thresholding", thresholding_case, [
    (s, c, a, pt, pe) for s in ("", "hls", "rtl") for c in (6, 16) for a in ("UINT4", "INT4", "BIPOLAR")
    for pt in (True, False) for pe in (1, 2)
])  # fmt: skip
_add("vvau", vvau_case, [
    (s, c, k, a, pe, simd) for s in ("", "hls", "rtl") for c in (3, 6) for k in (1, 3) for a in (None, "UINT4")
    for pe, simd in ((c, 1), (c, k * k)) if not (s == "rtl" and a is not None)
])  # fmt: skip
_add("swg", swg_case, [
    (s, k, ifm, ch, st, d, simd) for s in ("", "hls", "rtl") for k in ([2, 2], [3, 3], [1, 5])
    for ifm in ([8, 8], [1, 21]) for ch in (2, 4) for st in ([1, 1], [2, 1]) for d in ([1, 1], [2, 1])
    for simd in (1, ch) if k[0] <= ifm[0] and (k[0] - 1) * d[0] < ifm[0] and (k[1] - 1) * d[1] < ifm[1]
    and not (ifm[0] == 1 and (st[0] != 1 or d[0] != 1))
])  # fmt: skip
_add("fmpadding", fmpadding_case, [
    (s, idim, pad, ch, simd) for s in ("", "hls", "rtl") for idim in ([8, 8], [10, 8])
    for pad in ([1, 1, 1, 1], [1, 1, 2, 2], [1, 3, 2, 3], [7, 0, 8, 0]) for ch in (2, 4) for simd in (1, 2)
])  # fmt: skip
_add("labelselect", labelselect_case, [
    (i, lab, pe, k) for i in ("UINT8", "UINT16", "INT16") for lab in (10, 100) for pe in (1, 2, 10) for k in (1, 5)
])  # fmt: skip
_add("addstreams", addstreams_case, [(ch, pe) for ch in (1, 2, 4, 8) for pe in (1, 2, 4) if ch % pe == 0])
_add("duplicatestreams", duplicate_case, [(ch, pe, n) for ch in (4, 8) for pe in (1, 2, 4) for n in (2, 3)])
_add("globalaccpool", globalaccpool_case, [(i, 64, pe) for i in ("UINT4", "UINT16") for pe in (1, 2, 64)])
_add("channelwise", channelwise_case, [(f, 8, pe) for f in ("add", "mul", "cmp_le", "cmp_ge") for pe in (1, 4)])
_add("dwc", dwc_case, [
    (s, shape, iw, ow) for s in ("hls", "rtl") for shape, iw, ow in (([1, 24], 6, 4), ([1, 24], 4, 6),
    ([1, 4], 2, 4), ([1, 2, 8], 2, 4), ([1, 2, 8], 8, 16))
])  # fmt: skip
_add("fifo", fifo_case, [(d, s) for d in (16, 256) for s in ([1, 128], [1, 4, 4, 8])])
_add("maxpool", maxpool_case, [
    (s, ifm, p, ch, pe, c) for s in ("", "hls") for ifm, p, c in ((4, 2, 0), (6, 3, 0), (5, 2, 1)) for ch in (1, 4)
    for pe in (1, ch)
])  # fmt: skip
_add("elementwise", elementwise_case, [
    (op, dts, lhs, init, pe, s) for op in ELEMENTWISE for dts in (("INT8", "INT8"), ("INT8", "FLOAT32"),
    ("FLOAT32", "FLOAT32")) for lhs in ([3, 1, 7, 1], [1]) for init in ("", "in_x", "in_y") for pe in (1, 4)
    for s in ("", "hls") if not (op.startswith("Bitwise") and dts != ("INT8", "INT8"))
])  # fmt: skip
_add("squeeze", squeeze_case, [
    ("Squeeze", [1, 1, 8, 1, 4], [1, 3]), ("Squeeze", [1, 4, 1], [2]), ("Squeeze", [3, 1, 8], [-2]),
    ("Unsqueeze", [1, 8, 4], [1]), ("Unsqueeze", [1, 8], [0, 3]), ("Unsqueeze", [2, 3, 4], [-1]),
])  # fmt: skip
_add("concat_split", concat_split_case, [
    (op, w, simd) for op in ("StreamingConcat", "StreamingSplit") for w in ([8, 8], [4, 8, 12], [2, 6])
    for simd in (1, 2)
])  # fmt: skip
_add(
    "upsample", upsample_case, [(ifm, sc, ch, dm) for ifm in (4, 5) for sc in (2, 3) for ch in (1, 3) for dm in (0, 1)]
)

_add("pool", pool_case, [
    (f, i, o, k, ch, pe) for f in ("MaxPool", "QuantAvgPool") for i, o in (("UINT4", "UINT4"), ("INT4", "INT4"),
    ("INT8", "INT4")) for k in (2, 3, 7) for ch in (1, 4) for pe in (1, ch)
])  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_executes_like_finn(case_id, backend):
    case = CASES[case_id]()
    out = qnncc.execute(case.model, case.feeds, backend=backend)
    for name, expected in case.expected.items():
        np.testing.assert_array_equal(out[name], np.asarray(expected, dtype=out[name].dtype), err_msg=name)


def test_the_grid_covers_the_mirrored_tests():
    kinds = {k.split("-")[0] for k in CASES}
    assert len(kinds) == 18 and len(CASES) > 900, (len(kinds), len(CASES))
    assert sum(itertools.starmap(lambda k, _: k.startswith(("mvau-hls", "mvau-rtl")), CASES.items())) > 30


def vvau_interleaved_case(channels: int, pe: int) -> Case:
    """FINN's VVAU test input with ``PE < Channels``: the windows interleaved by PE, ``[C/PE, k*k, PE]``."""
    k, dim = 3, 4
    x = ints(-8, 7, (1, dim, dim, k * k * channels))
    w = ints(-8, 7, (channels, 1, k, k))
    acc = fs.vvau(x, w, k * k, channels)
    finn_x = x.reshape(1, dim, dim, k * k, channels // pe, pe).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
    attrs = {"PE": pe, "SIMD": 1, "Dim": [dim, dim], "Channels": channels, "Kernel": [k, k], "inputDataType": "INT4",
             "weightDataType": "INT4", "outputDataType": "INT32", "noActivation": 1}  # fmt: skip
    node = finn_node("VVAU", "hls", ["x", "w"], ["y"], **attrs)
    return Case(model_of(node, {"x": list(x.shape)}, ["y"], {"w": w}), {"x": finn_x}, {"y": acc})


@pytest.mark.parametrize(("channels", "pe"), [(4, 1), (4, 2), (6, 2), (6, 3)])
def test_vvau_with_pe_below_channels_reads_finn_order(tmp_path, channels, pe):
    """A lone VVAU reads FINN's PE-interleaved order, raw and after loading, in both back ends."""
    case = vvau_interleaved_case(channels, pe)
    path = tmp_path / "vvau.onnx"
    case.model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, channels]))
    onnx.save(case.model.model, path)
    loaded = qnncc.load(path)
    assert loaded.get_nodeattr(loaded.graph.node[0], "inputOrder") == "pe_interleaved"
    for model in (case.model, loaded):
        for backend in BACKENDS:
            np.testing.assert_array_equal(qnncc.execute(model, case.feeds, backend=backend)["y"], case.expected["y"])
    with pytest.raises(qnncc.QnnccError, match="pe_interleaved"):
        layer_code(loaded, loaded.graph.node[0])


def test_vvau_after_a_window_generator_reads_im2col_order():
    """FINN reads a VVAU's input in Im2Col order when a window generator produces it (and qnncc does too)."""
    case = vvau_interleaved_case(4, 2)
    proto = case.model.model
    swg = finn_node("ConvolutionInputGenerator", "rtl", ["x0"], ["x"], ConvKernelDim=[1, 1], IFMChannels=36,
                    IFMDim=[4, 4], OFMDim=[4, 4], SIMD=1, Stride=[1, 1], Dilation=[1, 1], inputDataType="INT4",
                    outputDataType="INT4")  # fmt: skip
    proto.graph.node.insert(0, swg)
    proto.graph.input[0].name = "x0"
    marked = qnncc.ModelWrapper(proto).copy()
    mark_finn_vvau_input_order(marked.model.graph)
    assert marked.get_nodeattr(marked.graph.node[1], "inputOrder") == "im2col"
