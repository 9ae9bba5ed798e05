"""FINN's transformation tests mirrored: their models execute in qnncc as in FINN.

FINN executes standard ONNX nodes one at a time in onnxruntime and its own
custom ops (``MultiThreshold``, ``MaxPoolNHWC``, ...) in numpy. Each case
rebuilds, with ``onnx.helper``, the *before* model of one of finn-plus 1.6's
``tests/transformation`` tests (same ops, attributes, datatypes and a
reduced parameter grid), runs it in both qnncc back ends and compares with
an independent reference: ONNX's numpy ``ReferenceEvaluator`` for standard
ops and numpy code here for FINN's custom ops (within float32 rounding:
``rtol 1e-5`` of the output's magnitude; integer outputs exactly).

Mirrored (tests/transformation/streamline/): test_absorb_mul_into_topk,
test_absorb_transp_into_flatten, test_collapse_repeated_op,
test_extract_multithreshold_scale_bias, test_maxpool_nhwc,
test_move_add_past_mul, test_move_chw_add_past_conv,
test_move_flatten_past_affine, test_move_identical_op_past_join_add,
test_move_mul_past_dw_conv, test_move_mul_past_maxpool,
test_move_scalar_past_conv, test_move_scalar_past_matmul,
test_move_scalar_past_convtranspose, test_move_transpose_past_scalar_mul,
test_round_thresholds, test_scale_resize_nhwc, test_sign_to_thres; and
test_move_identical_op_past_join_concat, test_move_identical_op_past_split,
test_move_past_fork, test_absorb_opposite_transposes,
test_factor_out_mul_sign_magnitude, test_move_maxpool_past_multithreshold;
tests/transformation/test_batchnorm_to_affine_bnn_pynq's BatchNormalization;
tests/fpgadataflow/test_convert_to_hw_pool_batch's MaxPool and QuantAvgPool2d.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from finn_semantics import multithreshold
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import qnncc
from qnncc import ModelWrapper

QONNX = "qonnx.custom_op.general"
BACKENDS = ["fast", "reference"]
RNG = np.random.default_rng(1506)


@dataclass
class Case:
    """A model, its feeds and the expected outputs (None: ONNX's reference evaluator computes them)."""

    model: ModelWrapper
    feeds: dict[str, np.ndarray]
    expected: dict[str, np.ndarray] | None = None
    #: compute ``expected`` with onnxruntime (FINN's executor of standard ops) instead of ONNX's
    #: ReferenceEvaluator, which deviates from the spec for these ops (BatchNormalization on 4-D
    #: inputs, grouped ConvTranspose, MaxPool with ceil_mode and padding).
    onnxruntime: bool = False


def make(
    nodes: list[Any], inputs: dict[str, list[int]], outputs: list[str], consts: dict[str, Any], opset: int = 13
) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "finn_test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in consts.items()],
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(QONNX, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=opsets))


def f32(*shape: int, lo: float = -3, hi: float = 3) -> np.ndarray:
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def ints(lo: int, hi: int, *shape: int) -> np.ndarray:
    return RNG.integers(lo, hi, size=shape, endpoint=True).astype(np.float32)


def node(op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> Any:
    return helper.make_node(op, inputs, outputs, **attrs)


# ------------------------------------------------------------------ cases (the "before" models)


def mul_topk(k: int, scalar: float) -> Case:
    nodes = [node("Mul", ["x", "s"], ["m"]), node("TopK", ["m", "k"], ["v", "i"], axis=-1)]
    m = make(nodes, {"x": [1, 10]}, ["i"], {"s": np.float32(scalar), "k": np.array([k], np.int64)})
    m.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    x = RNG.permutation(10).astype(np.float32)[None]
    return Case(m, {"x": x})


def transpose_flatten(shape: list[int], use_reshape: bool) -> Case:
    flat = node("Reshape", ["t", "shp"], ["y"]) if use_reshape else node("Flatten", ["t"], ["y"], axis=1)
    nodes = [node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]), flat]
    return Case(make(nodes, {"x": shape}, ["y"], {"shp": np.array([1, -1], np.int64)}), {"x": f32(*shape)})


def collapse(op: str) -> Case:
    nodes = [node(op, ["x", "a"], ["m"]), node(op, ["m", "b"], ["y"])]
    return Case(make(nodes, {"x": [1, 2]}, ["y"], {"a": f32(1, 2), "b": f32(1, 2)}), {"x": f32(1, 2)})


def mt_scale_bias(scale: float, bias: float, layout: str) -> Case:
    shape = [1, 4, 3, 3] if layout == "NCHW" else [1, 3, 3, 4]
    thr = np.sort(ints(-20, 20, 4, 7), axis=1)
    attrs = {"out_dtype": "UINT3", "out_scale": scale, "out_bias": bias, "data_layout": layout}
    m = make([node("MultiThreshold", ["x", "t"], ["y"], domain=QONNX, **attrs)], {"x": shape}, ["y"], {"t": thr})
    x = ints(-25, 25, *shape)
    xm = np.moveaxis(x, 1, -1) if layout == "NCHW" else x
    y = scale * multithreshold(xm, thr) + bias
    return Case(m, {"x": x}, {"y": np.moveaxis(y, -1, 1) if layout == "NCHW" else y})


def maxpool_nhwc_case(k: int, stride: int, ifm: int, ch: int) -> Case:
    attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [0, 0, 0, 0]}
    n = node("MaxPoolNHWC", ["x"], ["y"], domain=QONNX, **attrs)
    x = f32(1, ifm, ifm, ch)
    oh = (ifm - k) // stride + 1
    exp = np.stack([
        np.stack([x[0, i * stride : i * stride + k, j * stride : j * stride + k].max(axis=(0, 1)) for j in range(oh)])
        for i in range(oh)
    ])[None]  # fmt: skip
    return Case(make([n], {"x": [1, ifm, ifm, ch]}, ["y"], {}), {"x": x}, {"y": exp})


def add_mul(shape: list[int]) -> Case:
    nodes = [node("Add", ["x", "a"], ["s"]), node("Mul", ["s", "m"], ["y"])]
    return Case(make(nodes, {"x": shape}, ["y"], {"a": f32(*shape), "m": f32(*shape)}), {"x": f32(*shape)})


def add_conv(ch: int, k: int, group: int, pads: int) -> Case:
    attrs = {"kernel_shape": [k, k], "pads": [pads] * 4, "group": group}
    nodes = [node("Add", ["x", "a"], ["s"]), node("Conv", ["s", "w"], ["y"], **attrs)]
    consts = {"a": f32(1, ch, 1, 1), "w": f32(ch, ch // group, k, k)}
    return Case(make(nodes, {"x": [1, ch, 6, 6]}, ["y"], consts), {"x": f32(1, ch, 6, 6)})


def flatten_affine_topk(ch: int) -> Case:
    nodes = [
        node("Flatten", ["x"], ["f"], axis=1), node("MatMul", ["f", "w"], ["mm"]), node("Mul", ["mm", "s"], ["ml"]),
        node("Add", ["ml", "b"], ["ad"]), node("TopK", ["ad", "k"], ["v", "i"], axis=-1),
    ]  # fmt: skip
    consts = {"w": ints(-4, 4, ch * 4, 10), "s": f32(1, 10, lo=0.5), "b": f32(1, 10), "k": np.array([1], np.int64)}
    m = make(nodes, {"x": [1, ch, 2, 2]}, ["v"], consts)
    return Case(m, {"x": ints(0, 7, 1, ch, 2, 2)})


def join_add(perm: list[int]) -> Case:
    nodes = [node("Transpose", ["a"], ["ta"], perm=perm), node("Transpose", ["b"], ["tb"], perm=perm),
             node("Add", ["ta", "tb"], ["y"])]  # fmt: skip
    return Case(
        make(nodes, {"a": [1, 2, 3, 4], "b": [1, 2, 3, 4]}, ["y"], {}), {"a": f32(1, 2, 3, 4), "b": f32(1, 2, 3, 4)}
    )


def mul_dw_conv(ch: int, k: int, stride: int) -> Case:
    attrs = {"kernel_shape": [k, k], "group": ch, "strides": [stride, stride], "pads": [1, 1, 1, 1]}
    nodes = [node("Mul", ["x", "s"], ["m"]), node("Conv", ["m", "w"], ["y"], **attrs)]
    consts = {"s": f32(1, ch, 1, 1, lo=0.1), "w": ints(-4, 4, ch, 1, k, k)}
    return Case(make(nodes, {"x": [1, ch, 5, 5]}, ["y"], consts), {"x": ints(0, 15, 1, ch, 5, 5)})


def mul_maxpool(k: int, stride: int, pad: int, scalar: bool) -> Case:
    attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [pad] * 4}
    nodes = [node("Mul", ["x", "s"], ["m"]), node("MaxPool", ["m"], ["y"], **attrs)]
    s = np.float32(1.7) if scalar else f32(1, 3, 1, 1, lo=0.2)
    return Case(make(nodes, {"x": [1, 3, 6, 6]}, ["y"], {"s": s}), {"x": f32(1, 3, 6, 6)})


def scalar_conv(op: str, k: int, pad: int) -> Case:
    nodes = [node(op, ["x", "s"], ["m"]), node("Conv", ["m", "w"], ["y"], kernel_shape=[k, k], pads=[pad] * 4)]
    return Case(
        make(nodes, {"x": [1, 2, 5, 5]}, ["y"], {"s": np.float32(0.75), "w": f32(3, 2, k, k)}), {"x": f32(1, 2, 5, 5)}
    )


def scalar_matmul(op: str) -> Case:
    nodes = [node(op, ["x", "s"], ["m"]), node("MatMul", ["m", "w"], ["y"])]
    return Case(make(nodes, {"x": [1, 4]}, ["y"], {"s": np.float32(1.25), "w": f32(4, 3)}), {"x": f32(1, 4)})


def scalar_convtranspose(op: str, k: int, stride: int, group: int) -> Case:
    attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "group": group}
    nodes = [node(op, ["x", "s"], ["m"]), node("ConvTranspose", ["m", "w"], ["y"], **attrs)]
    consts = {"s": np.float32(0.5), "w": f32(4, 4 // group, k, k)}
    return Case(make(nodes, {"x": [1, 4, 4, 4]}, ["y"], consts), {"x": f32(1, 4, 4, 4)}, onnxruntime=True)


def transpose_scalar_mul(perm: list[int]) -> Case:
    nodes = [node("Transpose", ["x"], ["t"], perm=perm), node("Mul", ["t", "s"], ["y"])]
    return Case(make(nodes, {"x": [1, 2, 3, 4]}, ["y"], {"s": np.float32(3.0)}), {"x": f32(1, 2, 3, 4)})


def round_thresholds(idt_lo: int, idt_hi: int, thr_lo: float, thr_hi: float) -> Case:
    thr = np.sort(RNG.uniform(thr_lo, thr_hi, (4, 5)).astype(np.float32), axis=1)
    m = make(
        [node("MultiThreshold", ["x", "t"], ["y"], domain=QONNX, out_dtype="UINT3")], {"x": [1, 4]}, ["y"], {"t": thr}
    )
    x = ints(idt_lo, idt_hi, 1, 4)
    return Case(m, {"x": x}, {"y": multithreshold(x, thr).astype(np.float32)})


def resize_transpose(scales: list[float], mode: str, opset: int) -> Case:
    nodes = [node("Resize", ["x", "roi", "sc"], ["r"], mode=mode), node("Transpose", ["r"], ["y"], perm=[0, 2, 3, 1])]
    consts = {"roi": np.zeros(0, np.float32), "sc": np.array(scales, np.float32)}
    return Case(make(nodes, {"x": [1, 3, 4, 4]}, ["y"], consts, opset=opset), {"x": ints(0, 15, 1, 3, 4, 4)})


def sign(shape: list[int]) -> Case:
    return Case(make([node("Sign", ["x"], ["y"])], {"x": shape}, ["y"], {}), {"x": f32(*shape)})


def batchnorm(ch: int) -> Case:
    consts = {"g": f32(ch, lo=0.5), "b": f32(ch), "m": f32(ch), "v": f32(ch, lo=0.5, hi=3)}
    nodes = [node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], epsilon=1e-4)]
    x = ints(-20, 20, 1, ch, 3, 3)
    g, b, m, v = (consts[k].reshape(1, ch, 1, 1) for k in "gbmv")
    return Case(make(nodes, {"x": [1, ch, 3, 3]}, ["y"], consts), {"x": x}, {"y": (x - m) / np.sqrt(v + 1e-4) * g + b})


def maxpool_standard(k: int, stride: int, pads: int, ceil: int) -> Case:
    attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [pads] * 4, "ceil_mode": ceil}
    model = make([node("MaxPool", ["x"], ["y"], **attrs)], {"x": [1, 2, 7, 7]}, ["y"], {})
    return Case(model, {"x": f32(1, 2, 7, 7)}, onnxruntime=bool(ceil))


def quant_avg_pool(idt: str, odt: str, k: int, stride: int, ifm: int, ch: int, layout: str) -> Case:
    """test_convert_to_hw_pool_batch's QuantAvgPool2d (QONNX semantics: window sum >> shift)."""
    dt_i, dt_o = qnncc.DataType.from_name(idt), qnncc.DataType.from_name(odt)
    attrs = {"stride": stride, "kernel": k, "ibits": dt_i.bitwidth(), "obits": dt_o.bitwidth(),
             "signed": int(dt_i.signed()), "data_layout": layout}  # fmt: skip
    shape = [1, ch, ifm, ifm] if layout == "NCHW" else [1, ifm, ifm, ch]
    n = node("QuantAvgPool2d", ["x"], ["y"], domain=QONNX, **attrs)
    x = ints(int(dt_i.min()), int(dt_i.max()), *shape)
    nchw = x if layout == "NCHW" else x.transpose(0, 3, 1, 2)
    o = (ifm - k) // stride + 1
    sums = np.zeros((1, ch, o, o))
    for i in range(o):
        for j in range(o):
            sums[:, :, i, j] = nchw[:, :, i * stride : i * stride + k, j * stride : j * stride + k].sum(axis=(2, 3))
    shift = max(int((2 ** dt_i.bitwidth() - 1) * k * k).bit_length() - dt_o.bitwidth(), 0)
    y = np.floor(sums / 2**shift)
    return Case(make([n], {"x": shape}, ["y"], {}), {"x": x}, {"y": y if layout == "NCHW" else y.transpose(0, 2, 3, 1)})


def join_concat(perm: list[int], axis: int) -> Case:
    nodes = [node("Transpose", ["a"], ["ta"], perm=perm), node("Transpose", ["b"], ["tb"], perm=perm),
             node("Concat", ["ta", "tb"], ["y"], axis=axis)]  # fmt: skip
    return Case(
        make(nodes, {"a": [1, 2, 3, 4], "b": [1, 2, 3, 4]}, ["y"], {}), {"a": f32(1, 2, 3, 4), "b": f32(1, 2, 3, 4)}
    )


def split_transpose(split: list[int], axis: int) -> Case:
    outs = [f"s{i}" for i in range(len(split))]
    nodes = [node("Split", ["x", "split"], outs, axis=axis)]
    nodes += [node("Transpose", [o], [f"y{i}"], perm=[0, 2, 3, 1]) for i, o in enumerate(outs)]
    shape = [1, 6, 4, 4] if axis == 1 else [1, 4, 6, 4]
    model = make(nodes, {"x": shape}, [f"y{i}" for i in range(len(split))], {"split": np.array(split, np.int64)})
    return Case(model, {"x": f32(*shape)})


def fork(op: str) -> Case:
    nodes = [node(op, ["x", "c"], ["f"]), node("Mul", ["f", "m"], ["y0"]), node("Add", ["f", "a"], ["y1"])]
    consts = {"c": f32(1, 4, 1, 1), "m": f32(1, 4, 1, 1), "a": f32(1, 4, 1, 1)}
    return Case(make(nodes, {"x": [1, 4, 3, 3]}, ["y0", "y1"], consts), {"x": f32(1, 4, 3, 3)})


def opposite_transposes(perm: list[int], inverse: list[int]) -> Case:
    nodes = [node("Transpose", ["x"], ["t"], perm=perm), node("Add", ["t", "c"], ["a"]),
             node("Transpose", ["a"], ["y"], perm=inverse)]  # fmt: skip
    shape = [1, 2, 3, 4]
    return Case(make(nodes, {"x": shape}, ["y"], {"c": np.float32(1.5)}), {"x": f32(*shape)})


def sign_magnitude_mul(sign: float) -> Case:
    nodes = [node("Mul", ["x", "s"], ["m"]), node("MatMul", ["m", "w"], ["y"])]
    s = (sign * RNG.uniform(0.5, 2, (1, 4))).astype(np.float32)
    return Case(make(nodes, {"x": [1, 4]}, ["y"], {"s": s, "w": f32(4, 3)}), {"x": f32(1, 4)})


def maxpool_multithreshold(k: int, stride: int) -> Case:
    thr = np.sort(ints(-10, 10, 3, 4), axis=1)
    nodes = [
        node("MaxPool", ["x"], ["p"], kernel_shape=[k, k], strides=[stride, stride]),
        node("MultiThreshold", ["p", "t"], ["y"], domain=QONNX, out_dtype="UINT3"),
    ]
    x = ints(-15, 15, 1, 3, 6, 6)
    model = make(nodes, {"x": [1, 3, 6, 6]}, ["y"], {"t": thr})
    o = (6 - k) // stride + 1
    pooled = np.stack([np.stack([x[0, :, i * stride : i * stride + k, j * stride : j * stride + k].max(axis=(1, 2))
                                 for j in range(o)], -1) for i in range(o)], -2)[None]  # fmt: skip
    expected = np.moveaxis(multithreshold(np.moveaxis(pooled, 1, -1), thr), -1, 1).astype(np.float32)
    return Case(model, {"x": x}, {"y": expected})


CASES: dict[str, Callable[[], Case]] = {}


def _add(prefix: str, fn: Callable[..., Case], grid: list[tuple[Any, ...]]) -> None:
    for args in grid:
        CASES[f"{prefix}-{'-'.join(str(a) for a in args)}"] = lambda fn=fn, args=args: fn(*args)


_add("mul_topk", mul_topk, [(k, s) for k in (1, 2, 5) for s in (2.0, 0.5, -1.0)])
_add("transpose_flatten", transpose_flatten, [(s, r) for s in ([1, 3, 4, 4], [1, 5, 1, 1]) for r in (False, True)])
_add("collapse", collapse, [("Add",), ("Mul",)])
_add(
    "mt_scale_bias",
    mt_scale_bias,
    [(s, b, lay) for s in (1.0, 0.5, 2.0) for b in (0.0, -3.0, 1.5) for lay in ("NCHW", "NHWC")],
)
_add("maxpool_nhwc", maxpool_nhwc_case, [(k, s, i, c) for k in (2, 3) for s in (1, 2) for i in (4, 7) for c in (1, 3)])
_add("add_mul", add_mul, [([1, 4],), ([1, 2, 3, 3],)])
_add("add_conv", add_conv, [(c, k, g, p) for c in (2, 4) for k in (1, 3) for g in (1, c) for p in (0, 1)])
_add("flatten_affine_topk", flatten_affine_topk, [(1,), (3,)])
_add("join_add", join_add, [([0, 2, 3, 1],), ([0, 3, 1, 2],), ([0, 1, 3, 2],)])
_add("mul_dw_conv", mul_dw_conv, [(c, k, s) for c in (2, 4) for k in (3, 5) for s in (1, 2)])
_add(
    "mul_maxpool",
    mul_maxpool,
    [(k, s, p, sc) for k in (2, 3) for s in (1, 2) for p in (0, 1) for sc in (True, False) if p < k],
)
_add("scalar_conv", scalar_conv, [(op, k, p) for op in ("Add", "Mul") for k in (1, 3) for p in (0, 1)])
_add("scalar_matmul", scalar_matmul, [("Add",), ("Mul",)])
_add(
    "scalar_convtranspose",
    scalar_convtranspose,
    [(op, k, s, g) for op in ("Add", "Mul") for k in (2, 3) for s in (1, 2) for g in (1, 2)],
)
_add("transpose_scalar_mul", transpose_scalar_mul, [([0, 2, 3, 1],), ([0, 3, 1, 2],)])
_add(
    "round_thresholds",
    round_thresholds,
    [(lo, hi, tl, th) for lo, hi in ((0, 15), (-8, 7)) for tl, th in ((-9.5, 16.5), (-1e3, 1e3), (0.1, 0.9))],
)
_add(
    "resize_transpose",
    resize_transpose,
    [(s, m, o) for s in ([1, 1, 2, 2], [1, 1, 3, 2]) for m in ("nearest",) for o in (11, 13)],
)
_add("sign", sign, [([1, 5],), ([1, 2, 3, 3],)])
_add("batchnorm", batchnorm, [(1,), (8,)])
_add(
    "maxpool", maxpool_standard, [(k, s, p, c) for k in (2, 3) for s in (1, 2) for p in (0, 1) for c in (0, 1) if p < k]
)

_add(
    "quant_avg_pool",
    quant_avg_pool,
    [
        (i, o, k, s, ifm, ch, lay) for i in ("UINT4", "INT4", "INT8") for o in ("UINT4", "INT4")
        for k, s, ifm in ((7, 7, 7), (3, 2, 5), (2, 2, 6)) for ch in (1, 4) for lay in ("NCHW", "NHWC")
        if qnncc.DataType.from_name(i).signed() == qnncc.DataType.from_name(o).signed()
    ],
)  # fmt: skip

_add("join_concat", join_concat, [(p, a) for p in ([0, 2, 3, 1], [0, 3, 1, 2]) for a in (1, 3)])
_add("split_transpose", split_transpose, [(sp, a) for sp in ([3, 3], [2, 4], [1, 2, 3]) for a in (1, 2)])
_add("fork", fork, [("Add",), ("Mul",)])
_add("opposite_transposes", opposite_transposes, [([0, 2, 3, 1], [0, 3, 1, 2]), ([0, 3, 1, 2], [0, 2, 3, 1])])
_add("sign_magnitude_mul", sign_magnitude_mul, [(1.0,), (-1.0,)])
_add("maxpool_multithreshold", maxpool_multithreshold, [(k, s) for k in (2, 3) for s in (1, 2)])


def _expected(case: Case) -> dict[str, np.ndarray]:
    if case.expected is not None:
        return case.expected
    if case.onnxruntime:
        import onnxruntime as ort

        sess = ort.InferenceSession(case.model.model.SerializeToString(), providers=["CPUExecutionProvider"])
        return dict(zip(case.model.graph_output_names(), sess.run(None, case.feeds), strict=True))
    ref = ReferenceEvaluator(case.model.model)
    names = case.model.graph_output_names()
    return dict(zip(names, ref.run(None, case.feeds), strict=True))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_executes_like_finn(case_id, backend):
    case = CASES[case_id]()
    out = qnncc.execute(case.model, case.feeds, backend=backend)
    for name, expected in _expected(case).items():
        got, want = out[name], np.asarray(expected)
        if got.dtype.kind in "iu" or (np.array_equal(want, np.round(want)) and np.array_equal(got, np.round(got))):
            np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=name)
        else:
            scale = max(float(np.max(np.abs(want))), 1.0)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale, err_msg=name)
