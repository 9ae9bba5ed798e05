"""Custom ops: fast (lowered, onnxruntime) == reference (numpy) == qonnx, bit for bit.

Every case builds a one-node model with ``onnx.helper``, executes it with both
qnncc back ends and compares with qonnx's own numpy implementation (when qonnx
is installed). Inputs sit on a fine grid so values land exactly on thresholds
and on rounding ties (x.5).
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper, numpy_helper

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.core import ExecutionError, QnnccError, UnsupportedOpError
from qnncc.custom_op import get_custom_op
from qnncc.execution import lower_to_standard_onnx

HAVE_QONNX = importlib.util.find_spec("qonnx") is not None
QONNX_DOMAIN = "qonnx.custom_op.general"
FINN_DOMAIN = "finn.custom_op.general"
MODES = ["ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "ROUND_TO_ZERO", "HALF_UP", "HALF_DOWN"]
OPSETS = [11, 12, 13, 18]
PROPS = settings(max_examples=60, deadline=None)
f32 = np.float32

Arg = tuple[str, "list[int] | np.ndarray"]


def one_node(
    op_type: str,
    args: Sequence[Arg],
    attrs: dict | None = None,
    *,
    out_shape: list[int],
    opset: int = 13,
    domain: str = QONNX_DOMAIN,
    name: str = "n0",
) -> ModelWrapper:
    """Model with one custom node; an arg is (name, shape) for a graph input or (name, array) for an initializer."""
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in args if isinstance(s, list)]
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in args if not isinstance(v, list)]
    node = helper.make_node(op_type, [n for n, _ in args], ["y"], name=name, domain=domain, **(attrs or {}))
    graph = helper.make_graph(
        [node], "one", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits
    )
    return ModelWrapper(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(domain, 1)])
    )


def run_both(model: ModelWrapper, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """Run both back ends, assert they agree exactly (NaNs included) and return the result."""
    fast = qnncc.execute(model, feeds, backend="fast")["y"]
    ref = qnncc.execute(model, feeds, backend="reference")["y"]
    assert fast.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(fast, ref, err_msg="fast vs reference")
    return ref


def same_as_qonnx(ours: np.ndarray, function: str | Callable[..., np.ndarray], *args: object) -> None:
    """Compare with ``qonnx.custom_op.general.<function>(*args)`` (or a callable) when qonnx is installed."""
    if not HAVE_QONNX:
        return
    if isinstance(function, str):
        module, name = function.rsplit(".", 1)
        function = getattr(importlib.import_module(f"qonnx.custom_op.general.{module}"), name)
    theirs = np.asarray(function(*args))
    assert theirs.shape == ours.shape
    np.testing.assert_array_equal(ours, theirs, err_msg="qnncc vs qonnx")


def qonnx_mode(mode: str) -> str:
    return "DOWN" if mode == "ROUND_TO_ZERO" else mode  # same function; qonnx lacks the alias


def grid(shape, lo: int, hi: int, denom: int):
    """Hypothesis arrays of multiples of 1/denom in [lo/denom, hi/denom]."""
    return hnp.arrays(np.float32, shape, elements=st.integers(lo, hi).map(lambda k: k / denom))


def test_qonnx_available_for_comparisons():
    pytest.importorskip("qonnx")  # a skip here means the qonnx comparisons below were not made


# ====================================================================== MultiThreshold
# (layout attribute, input shape, channel axis)
LAYOUTS = [
    ("NCHW", [2, 3, 4, 5], 1),
    ("NHWC", [2, 4, 5, 3], 3),
    ("NC", [2, 3], 1),
    ("NCW", [2, 3, 5], 1),
    ("NWC", [2, 5, 3], 2),
    ("", [2, 3, 4, 5], 1),  # rank 4 defaults to NCHW
    ("", [2, 3], 1),  # rank 2 defaults to NC
    ("", [2, 5, 3], 2),  # rank 3 defaults to NWC, as in qonnx
]
SCALE_BIAS = [(1.0, 0.0), (2.0, 0.0), (1.0, -3.0), (0.5, -1.5), (-1.0, 0.25)]


def mt_model(layout, shape, thresholds, scale=1.0, bias=0.0, opset=13, domain=FINN_DOMAIN) -> ModelWrapper:
    attrs = {"out_dtype": "UINT3", "out_scale": scale, "out_bias": bias}
    if layout:
        attrs["data_layout"] = layout
    return one_node(
        "MultiThreshold", [("x", shape), ("thr", thresholds)], attrs, out_shape=shape, opset=opset, domain=domain
    )


def qonnx_mt(model: ModelWrapper, x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    from qonnx.custom_op.general.multithreshold import MultiThreshold as QonnxMT

    context = {"x": x, "thr": thresholds}
    QonnxMT(model.graph.node[0]).execute_node(context, model.graph)
    return context["y"]


def expected_mt(x, thresholds, axis, scale, bias):
    """Independent spelling of the semantics: loop over channels and thresholds."""
    out = np.zeros_like(x)
    for c in range(x.shape[axis]):
        row = thresholds[c if thresholds.shape[0] > 1 else 0]
        xc = np.take(x, c, axis=axis)
        count = sum((xc >= t).astype(np.float32) for t in row)
        idx = [slice(None)] * x.ndim
        idx[axis] = c
        out[tuple(idx)] = count
    return (np.float32(scale) * out + np.float32(bias)).astype(np.float32)


@pytest.mark.parametrize(("layout", "shape", "axis"), LAYOUTS)
def test_multithreshold_layouts(layout, shape, axis):
    rng = np.random.default_rng(7)
    channels = shape[axis]
    for k, (opset, per_channel) in enumerate(itertools.product(OPSETS, (True, False))):
        scale, bias = SCALE_BIAS[k % len(SCALE_BIAS)]
        rows = channels if per_channel else 1
        thr = np.sort(rng.integers(-8, 9, size=(rows, 7)), axis=1).astype(np.float32) / 2  # halves, with repeats
        x = rng.integers(-10, 11, size=shape).astype(np.float32) / 2  # hits thresholds exactly
        model = mt_model(layout, shape, thr, scale, bias, opset)
        ours = run_both(model, {"x": x})
        np.testing.assert_array_equal(ours, expected_mt(x, thr, axis, scale, bias))
        same_as_qonnx(ours, qonnx_mt, model, x, thr)


@given(
    case=st.sampled_from(LAYOUTS),
    per_channel=st.booleans(),
    scale_bias=st.sampled_from(SCALE_BIAS),
    opset=st.sampled_from(OPSETS),
    domain=st.sampled_from([FINN_DOMAIN, QONNX_DOMAIN]),
    data=st.data(),
)
@PROPS
def test_multithreshold_random(case, per_channel, scale_bias, opset, domain, data):
    layout, shape, axis = case
    rows = shape[axis] if per_channel else 1
    n_thr = data.draw(st.integers(1, 9), label="thresholds per channel")
    thr = data.draw(grid((rows, n_thr), -12, 12, 4), label="thresholds")  # unsorted is fine
    x = data.draw(grid(shape, -14, 14, 4), label="x")
    model = mt_model(layout, shape, thr, *scale_bias, opset=opset, domain=domain)
    ours = run_both(model, {"x": x})
    np.testing.assert_array_equal(ours, expected_mt(x, thr, axis, *scale_bias))
    same_as_qonnx(ours, qonnx_mt, model, x, thr)


def test_multithreshold_matches_qonnx_function():
    pytest.importorskip("qonnx")
    from qonnx.custom_op.general.multithreshold import multithreshold

    rng = np.random.default_rng(3)
    thr = np.sort(rng.integers(-6, 7, size=(3, 5)), axis=1).astype(np.float32)
    x = rng.integers(-8, 9, size=(2, 3, 4, 4)).astype(np.float32)
    ours = run_both(mt_model("NCHW", [2, 3, 4, 4], thr, 2.0, -5.0), {"x": x})
    np.testing.assert_array_equal(ours, multithreshold(x, thr, 2.0, -5.0))
    x_last = np.moveaxis(x, 1, -1).copy()
    ours = run_both(mt_model("NHWC", [2, 4, 4, 3], thr, 2.0, -5.0), {"x": x_last})
    np.testing.assert_array_equal(ours, multithreshold(x_last, thr, 2.0, -5.0, channels_last=True))


# ====================================================================== Quant
def quant_model(x_shape, scale, zeropt, bits, signed, narrow, mode, opset=13, domain=QONNX_DOMAIN) -> ModelWrapper:
    args = [("x", x_shape), ("scale", scale), ("zeropt", zeropt), ("bitwidth", np.float32(bits))]
    attrs = {"signed": int(signed), "narrow": int(narrow), "rounding_mode": mode}
    return one_node("Quant", args, attrs, out_shape=x_shape, opset=opset, domain=domain)


def qonnx_quant(x, scale, zeropt, bits, signed, narrow, mode):
    from qonnx.custom_op.general.quant import quant

    return quant(x, scale, zeropt, np.float32(bits), int(signed), int(narrow), qonnx_mode(mode))


def quant_expected(x, scale, zeropt, bits, signed, narrow, mode):
    """The QONNX formula in float64 with Python's exact rounding rules (inputs are exact in float32)."""
    lo = -(2 ** (bits - 1)) + int(narrow) if signed else 0
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1 - int(narrow)
    y = x.astype(np.float64) / scale + zeropt
    if bits == 1 and signed:
        q = np.where(y >= 0, 1.0, -1.0)
    else:
        y = np.clip(y, lo, hi)
        a = np.abs(y)
        q = {
            "ROUND": np.round(y),
            "HALF_EVEN": np.round(y),
            "CEIL": np.ceil(y),
            "FLOOR": np.floor(y),
            "UP": np.sign(y) * np.ceil(a),
            "DOWN": np.trunc(y),
            "ROUND_TO_ZERO": np.trunc(y),
            "HALF_UP": np.sign(y) * np.floor(a + 0.5),
            "HALF_DOWN": np.sign(y) * np.ceil(a - 0.5),
        }[mode]
    return ((q - zeropt) * scale).astype(np.float32)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("signed", "narrow"), [(True, False), (True, True), (False, False), (False, True)])
def test_quant_every_mode_and_width(mode, signed, narrow):
    rng = np.random.default_rng(11)
    shape = [2, 3, 4, 4]
    # per-channel scale and zero point broadcast over N, H, W; power-of-two scales give exact ties
    scale = np.array([0.5, 1.0, 0.25], np.float32).reshape(1, 3, 1, 1)
    zeropt = np.array([0.0, 1.0, -2.0], np.float32).reshape(1, 3, 1, 1)
    x = (rng.integers(-320, 321, size=shape) / 8).astype(np.float32)
    x.flat[:8] = [0.25, -0.25, 0.75, -0.75, 1.25, -1.25, 0.0, -0.0]  # ties at the channel-0 scale of 0.5
    for bits, opset in itertools.product(range(1, 9), (11, 12, 13)):
        model = quant_model(shape, scale, zeropt, bits, signed, narrow, mode, opset)
        ours = run_both(model, {"x": x})
        np.testing.assert_array_equal(ours, quant_expected(x, scale, zeropt, bits, signed, narrow, mode))
        same_as_qonnx(ours, qonnx_quant, x, scale, zeropt, bits, signed, narrow, mode)


SCALES = [0.125, 0.25, 0.5, 1.0, 2.0, 0.3, 0.1, 3.0]


@given(
    mode=st.sampled_from(MODES),
    bits=st.integers(1, 8),
    signed=st.booleans(),
    narrow=st.booleans(),
    opset=st.sampled_from(OPSETS),
    broadcast=st.sampled_from(["scalar", "channel", "last", "mixed"]),
    data=st.data(),
)
@PROPS
def test_quant_random(mode, bits, signed, narrow, opset, broadcast, data):
    shape = [2, 3, 2, 4]
    pshape = {"scalar": [], "channel": [1, 3, 1, 1], "last": [4], "mixed": [3, 1, 1]}[broadcast]
    zshape = [1, 1, 1, 4] if broadcast == "mixed" else pshape
    scale = data.draw(hnp.arrays(np.float32, pshape, elements=st.sampled_from(SCALES)), label="scale")
    zeropt = data.draw(grid(zshape, -4, 4, 2), label="zeropt")  # integer and half-integer zero points
    x = data.draw(grid(shape, -200, 200, 8), label="x")
    model = quant_model(shape, scale, zeropt, bits, signed, narrow, mode, opset)
    ours = run_both(model, {"x": x})
    same_as_qonnx(ours, qonnx_quant, x, scale, zeropt, bits, signed, narrow, mode)


def test_quant_dynamic_scale_and_zeropt():
    """scale/zeropt may be graph inputs; only the bit width must be constant for lowering."""
    shape = [1, 6]
    args = [("x", shape), ("scale", [1]), ("zeropt", [1]), ("bitwidth", np.float32(4))]
    model = one_node("Quant", args, {"signed": 1, "rounding_mode": "HALF_UP"}, out_shape=shape)
    x = np.array([[-3.0, -1.25, -0.25, 0.25, 1.25, 3.0]], np.float32)
    for s, z in ((0.5, 0.0), (0.25, 1.0)):
        feeds = {"x": x, "scale": np.float32([s]), "zeropt": np.float32([z])}
        fast = qnncc.execute(model, feeds, backend="fast")["y"]
        ref = qnncc.execute(model, feeds, backend="reference")["y"]
        np.testing.assert_array_equal(fast, ref)
        np.testing.assert_array_equal(ref, quant_expected(x, s, z, 4, True, False, "HALF_UP"))


# ====================================================================== BipolarQuant
@given(
    scale=st.sampled_from([np.float32(1.0), np.float32(0.5), np.float32(-2.0), np.float32([[1, 2, 3, 0.25]])]),
    opset=st.sampled_from(OPSETS),
    x=grid([3, 4], -8, 8, 4),
)
@PROPS
def test_bipolar_quant(scale, opset, x):
    x[0, :2] = [0.0, -0.0]  # zero maps to +1, whatever its sign
    model = one_node("BipolarQuant", [("x", [3, 4]), ("scale", scale)], out_shape=[3, 4], opset=opset)
    ours = run_both(model, {"x": x})
    np.testing.assert_array_equal(ours, np.where(x >= 0, 1, -1) * scale)
    same_as_qonnx(ours, "bipolar_quant.binary_quant", x, scale)


# ====================================================================== Trunc
TRUNC_MODES = [m for m in MODES if m != "ROUND_TO_ZERO"] + ["ROUND_TO_ZERO"]


def test_trunc_worked_example():
    x = np.array([[-7.5, -3.0, 0.49, 5.0, 12.5, 17.0]], np.float32)  # round() -> -8 -3 0 5 12 17, then / 4
    common = [("x", [1, 6]), ("scale", f32(1)), ("zeropt", f32(0)), ("in_bits", f32(8))]
    v1 = one_node("Trunc", [*common, ("out_bits", f32(6))], {"rounding_mode": "FLOOR"}, out_shape=[1, 6])
    np.testing.assert_array_equal(run_both(v1, {"x": x}), [[-2, -1, 0, 1, 3, 4]])
    # v2: divide by out_scale/scale = 4, clamp to INT3 [-4, 3], floor, rescale by out_scale
    v2 = one_node(
        "Trunc", [*common, ("out_scale", f32(4)), ("out_bits", f32(3))], {"rounding_mode": "FLOOR"}, out_shape=[1, 6]
    )
    np.testing.assert_array_equal(run_both(v2, {"x": x}), [[-8, -4, 0, 4, 12, 12]])


@pytest.mark.parametrize("mode", TRUNC_MODES)
def test_trunc_v1(mode):
    rng = np.random.default_rng(5)
    x = (rng.integers(-600, 601, size=(2, 3, 5)) / 8).astype(np.float32)
    for opset, (in_bits, out_bits), scale, zeropt in itertools.product(
        (11, 12, 13), [(8, 4), (8, 8), (6, 2), (4, 1), (10, 3)], (0.25, 0.5), (0.0, 2.0)
    ):
        args = [
            ("x", [2, 3, 5]),
            ("scale", np.float32(scale)),
            ("zeropt", np.float32(zeropt)),
            ("in_bits", np.float32(in_bits)),
            ("out_bits", np.float32(out_bits)),
        ]
        model = one_node("Trunc", args, {"rounding_mode": mode}, out_shape=[2, 3, 5], opset=opset)
        ours = run_both(model, {"x": x})
        same_as_qonnx(ours, "trunc.trunc_v1", x, f32(scale), f32(zeropt), f32(in_bits), f32(out_bits), qonnx_mode(mode))


@pytest.mark.parametrize("mode", TRUNC_MODES)
@pytest.mark.parametrize(("signed", "narrow"), [(1, 0), (1, 1), (0, 0), (0, 1)])
def test_trunc_v2(mode, signed, narrow):
    rng = np.random.default_rng(6)
    x = (rng.integers(-600, 601, size=(2, 3, 5)) / 16).astype(np.float32)
    # (in bits, out bits, scale, out_scale): out_scale/scale a power of two, or rounded to one (3, 0.75, 1/3)
    cases = [
        (8, 4, 0.25, 4.0),
        (8, 8, 1.0, 1.0),
        (6, 2, 0.5, 8.0),
        (8, 3, 0.125, 2.0),
        (8, 4, 0.25, 0.75),
        (8, 4, 1.0, 3.0),
        (8, 4, 0.75, 0.25),
    ]
    for opset, (in_bits, out_bits, scale, out_scale), zeropt in itertools.product((11, 13), cases, (0.0, 1.0)):
        args = [
            ("x", [2, 3, 5]),
            ("scale", f32(scale)),
            ("zeropt", f32(zeropt)),
            ("in_bits", f32(in_bits)),
            ("out_scale", f32(out_scale)),
            ("out_bits", f32(out_bits)),
        ]
        attrs = {"rounding_mode": mode, "signed": signed, "narrow": narrow}
        model = one_node("Trunc", args, attrs, out_shape=[2, 3, 5], opset=opset)
        ours = run_both(model, {"x": x})
        same_as_qonnx(
            ours,
            "trunc.trunc_v2",
            x,
            f32(scale),
            f32(zeropt),
            f32(in_bits),
            narrow,
            signed,
            f32(out_scale),
            f32(out_bits),
            qonnx_mode(mode),
        )


# ====================================================================== XnorPopcountMatMul
@given(
    batch=st.sampled_from([[], [2], [2, 3]]),
    m=st.integers(1, 4),
    k=st.integers(1, 64),
    n=st.integers(1, 5),
    const_b=st.booleans(),
    opset=st.sampled_from(OPSETS),
    data=st.data(),
)
@PROPS
def test_xnor_popcount_matmul(batch, m, k, n, const_b, opset, data):
    a = data.draw(hnp.arrays(np.float32, [*batch, m, k], elements=st.sampled_from([0.0, 1.0])), label="a")
    b = data.draw(hnp.arrays(np.float32, [k, n], elements=st.sampled_from([0.0, 1.0])), label="b")
    args = [("a", [*batch, m, k]), ("b", b if const_b else [k, n])]
    model = one_node("XnorPopcountMatMul", args, out_shape=[*batch, m, n], opset=opset, domain=FINN_DOMAIN)
    feeds = {"a": a} if const_b else {"a": a, "b": b}
    ours = run_both(model, feeds)
    agree = (a[..., :, :, None] == b[None, :, :]).sum(axis=-2)  # popcount of XNOR, counted directly
    np.testing.assert_array_equal(ours, agree.astype(np.float32))

    same_as_qonnx(ours, "xnorpopcount.xnorpopcountmatmul", a, b)


# ====================================================================== lowering per opset
def lowered_ops(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in lower_to_standard_onnx(model).graph.node]


@pytest.mark.parametrize("opset", [9, 10, 11, 12, 13, 17, 18, 21])
def test_multithreshold_lowering_branches(opset):
    model = mt_model("NC", [1, 3], np.zeros((3, 2), np.float32), opset=opset)
    proto = lower_to_standard_onnx(model)
    ops = [n.op_type for n in proto.graph.node]
    assert all(n.domain == "" for n in proto.graph.node)
    assert [(i.domain, i.version) for i in proto.opset_import] == [("", opset)]  # custom domains dropped
    assert len(proto.graph.quantization_annotation) == 0
    if opset >= 12:
        assert "GreaterOrEqual" in ops and "Less" not in ops and "Not" not in ops
    else:
        assert "GreaterOrEqual" not in ops and {"Less", "Not", "IsNaN"} <= set(ops)
    (reduce,) = [n for n in proto.graph.node if n.op_type == "ReduceSum"]
    if opset >= 13:
        assert len(reduce.input) == 2 and not any(a.name == "axes" for a in reduce.attribute)
    else:
        assert len(reduce.input) == 1 and [list(a.ints) for a in reduce.attribute if a.name == "axes"] == [[0]]


@pytest.mark.parametrize("opset", [9, 10, 11, 12, 13])
def test_nan_and_infinities_agree(opset):
    """Not(Less(x, t)) alone would count NaN as >= t below opset 12; the lowering masks it."""
    x = np.array([[np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 0.5, -0.5, 2.5, -2.5, 1e30, -1e30]], np.float32)
    shape = list(x.shape)
    thr = np.array([[-1.0, 0.0, 1.0]], np.float32)
    ours = run_both(mt_model("NC", shape, thr, opset=opset), {"x": x})
    assert ours[0, 0] == 0  # NaN crosses no threshold
    np.testing.assert_array_equal(ours, expected_mt(x, thr, 1, 1.0, 0.0))
    bq = one_node("BipolarQuant", [("x", shape), ("s", np.float32(1))], out_shape=shape, opset=opset)
    np.testing.assert_array_equal(run_both(bq, {"x": x}), np.where(x >= 0, 1, -1))
    if opset >= 11:  # Round exists from opset 11
        for bits, signed in ((1, True), (4, True), (4, False)):
            q = quant_model(shape, np.float32(1), np.float32(0), bits, signed, False, "ROUND", opset)
            ours = run_both(q, {"x": x})
            same_as_qonnx(ours, qonnx_quant, x, np.float32(1), np.float32(0), bits, signed, False, "ROUND")
            assert np.isnan(ours[0, 0]) == (bits > 1)  # the bipolar case maps NaN to -1, as qonnx


def test_round_below_opset_11_fails_cleanly_on_fast_path_only():
    x = np.array([[0.5, 1.5, -2.5]], np.float32)
    model = quant_model([1, 3], np.float32(1), np.float32(0), 4, True, False, "ROUND", opset=10)
    with pytest.raises(UnsupportedOpError, match="opset"):
        qnncc.execute(model, {"x": x}, backend="fast")
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend="reference")["y"], [[0, 2, -2]])
    floor = quant_model([1, 3], np.float32(1), np.float32(0), 4, True, False, "FLOOR", opset=10)
    np.testing.assert_array_equal(run_both(floor, {"x": x}), [[0, 1, -3]])


# ====================================================================== errors
def both_raise(model: ModelWrapper, feeds: dict[str, np.ndarray], exc: type[QnnccError], match: str | None) -> None:
    for backend in ("fast", "reference"):
        with pytest.raises(exc, match=match) as err:
            qnncc.execute(model, feeds, backend=backend)
        assert "\n" not in str(err.value), backend


def test_wrong_arity_is_rejected():
    x = ("x", [1, 4])
    cases = [
        one_node("Quant", [x, ("s", np.float32(1)), ("z", np.float32(0))], out_shape=[1, 4]),
        one_node("MultiThreshold", [x], {"out_dtype": "UINT2"}, out_shape=[1, 4], domain=FINN_DOMAIN),
        one_node("Trunc", [x, ("s", np.float32(1)), ("z", np.float32(0)), ("b", np.float32(8))], out_shape=[1, 4]),
        one_node("BipolarQuant", [x, ("s", np.float32(1)), ("t", np.float32(1))], out_shape=[1, 4]),
    ]
    for model in cases:
        both_raise(model, {"x": np.zeros((1, 4), np.float32)}, UnsupportedOpError, "expects .* inputs, got")
    no_output = helper.make_node("BipolarQuant", ["x", "s"], [], name="mute", domain=QONNX_DOMAIN)
    with pytest.raises(UnsupportedOpError, match="'mute': expects 1 outputs, got 0"):
        get_custom_op(no_output)


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({"signed": 2}, "signed=2 not in"),
        ({"narrow": -1}, "narrow=-1 not in"),
        ({"rounding_mode": b"\xff\xfe"}, "rounding_mode' is not UTF-8"),
    ],
)
def test_bad_quant_attributes(attrs, match):
    args = [("x", [1, 2]), ("s", np.float32(1)), ("z", np.float32(0)), ("b", np.float32(4))]
    both_raise(
        one_node("Quant", args, attrs, out_shape=[1, 2]), {"x": np.zeros((1, 2), np.float32)}, UnsupportedOpError, match
    )


def test_unknown_rounding_mode():
    args = [("x", [1, 2]), ("s", np.float32(1)), ("z", np.float32(0)), ("b", np.float32(4))]
    model = one_node("Quant", args, {"rounding_mode": "BANKERS"}, out_shape=[1, 2])
    feeds = {"x": np.zeros((1, 2), np.float32)}
    with pytest.raises(UnsupportedOpError, match="BANKERS"):
        qnncc.execute(model, feeds, backend="fast")
    with pytest.raises(ExecutionError, match="BANKERS"):
        qnncc.execute(model, feeds, backend="reference")


@pytest.mark.parametrize("bitwidth", [0.0, -3.0, 65.0, 1e5, 2.5, np.nan, np.inf, [4.0, 4.0]])
def test_bad_bitwidth(bitwidth):
    args = [("x", [1, 2]), ("s", np.float32(1)), ("z", np.float32(0)), ("b", np.float32(bitwidth))]
    both_raise(
        one_node("Quant", args, out_shape=[1, 2]),
        {"x": np.zeros((1, 2), np.float32)},
        UnsupportedOpError,
        "bitwidth must be",
    )


def test_bad_trunc_v2_output_width():
    args = [("x", [1, 2]), ("s", f32(1)), ("z", f32(0)), ("ib", f32(8)), ("os", f32(1)), ("ob", f32(1e6))]
    both_raise(
        one_node("Trunc", args, out_shape=[1, 2]),
        {"x": np.zeros((1, 2), np.float32)},
        UnsupportedOpError,
        "output_bit_width must be 1..64",
    )


def test_non_constant_bitwidth_needs_reference():
    args = [("x", [1, 2]), ("s", np.float32(0.5)), ("z", np.float32(0)), ("b", [])]
    model = one_node("Quant", args, out_shape=[1, 2])
    feeds = {"x": np.float32([[0.3, -2.0]]), "b": np.float32(2)}
    with pytest.raises(UnsupportedOpError, match="must be a constant"):
        qnncc.execute(model, feeds, backend="fast")
    np.testing.assert_array_equal(qnncc.execute(model, feeds, backend="reference")["y"], [[0.5, -1.0]])


@pytest.mark.parametrize(
    ("layout", "thr", "match"),
    [
        ("NC", np.zeros((2, 4)), None),  # 2 threshold rows for 3 channels (fast: onnxruntime's message)
        ("NC", np.zeros((3, 2, 2)), "thresholds"),  # not [C, B]
        ("NHWC", np.zeros((3, 4)), "data_layout 'NHWC' does not fit an input of rank 2"),
    ],
)
def test_bad_multithreshold(layout, thr, match):
    both_raise(mt_model(layout, [2, 3], thr), {"x": np.zeros((2, 3), np.float32)}, ExecutionError, match)


def test_unknown_custom_op():
    model = one_node("Frobnicate", [("x", [1, 2])], out_shape=[1, 2])
    both_raise(model, {"x": np.zeros((1, 2), np.float32)}, UnsupportedOpError, "'Frobnicate' .*'n0'")


# ====================================================================== datatypes
def test_infer_datatype():
    def quant_dt(scale, zeropt, bits, signed):
        model = quant_model([1, 2], np.float32(scale), np.float32(zeropt), bits, signed, False, "ROUND")
        return get_custom_op(model.graph.node[0]).infer_datatype(model)[0].name

    assert quant_dt(1, 0, 4, True) == "INT4"
    assert quant_dt(1, 0, 4, False) == "UINT4"
    assert quant_dt(1, 0, 1, True) == "BIPOLAR"
    assert quant_dt(0.5, 0, 4, True) == "FLOAT32"
    assert quant_dt(1, 1, 4, True) == "FLOAT32"

    def mt_dt(scale, bias):
        model = mt_model("NC", [1, 3], np.zeros((1, 3), np.float32), scale, bias)
        return get_custom_op(model.graph.node[0]).infer_datatype(model)[0]

    assert mt_dt(1.0, 0.0) == DataType["UINT3"] and mt_dt(2.0, -4.0) == DataType["UINT3"]
    assert mt_dt(0.5, 0.0) == DataType["FLOAT32"] and mt_dt(1.0, 0.5) == DataType["FLOAT32"]

    b = np.ones((10, 2), np.float32)
    xn = one_node("XnorPopcountMatMul", [("a", [1, 10]), ("b", b)], out_shape=[1, 2], domain=FINN_DOMAIN)
    assert get_custom_op(xn.graph.node[0]).infer_datatype(xn) == [DataType["UINT4"]]  # popcount 0..10
    bq = one_node("BipolarQuant", [("x", [1, 2]), ("s", np.float32(1))], out_shape=[1, 2])
    assert get_custom_op(bq.graph.node[0]).infer_datatype(bq) == [DataType["BIPOLAR"]]
