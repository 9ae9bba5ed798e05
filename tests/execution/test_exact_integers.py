"""Integer exactness beyond float32 (issue 15, item 2), in both back ends.

float32 holds integers exactly only up to ``2**24``. A VVAU with UINT24
inputs and INT8 weights (accumulator INT32) used to run in float32 and
mis-threshold 43 of 256 outputs. Now a model whose datatypes allow larger
values or accumulators runs in float64 (exact to ``2**53``); the expected
values here are FINN's semantics written independently in int64 numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.custom_op.shapes import infer_shapes
from qnncc.execution.precision import needs_float64
from qnncc.hw.layers import HW_DOMAIN

BACKENDS = ["fast", "reference"]


def _ints(rng: np.random.Generator, dt: str, shape: tuple[int, ...]) -> np.ndarray:
    d = DataType.from_name(dt)
    return rng.integers(int(d.min()), int(d.max()), size=shape, endpoint=True, dtype=np.int64)


def _thresholds(rng: np.random.Generator, acc: np.ndarray, channels: int, steps: int) -> np.ndarray:
    """Sorted integer thresholds drawn from the accumulator values (so many hit exactly).

    Stored as float64 initializers: float32 could not hold them beyond 2**24.
    """
    flat = acc.reshape(-1, channels)
    picks = np.stack([rng.choice(flat[:, c], size=steps) for c in range(channels)])
    return np.sort(picks + rng.integers(-1, 2, size=picks.shape), axis=1)


def _count(acc: np.ndarray, thr: np.ndarray) -> np.ndarray:
    return np.sum(acc[..., None] >= thr, axis=-1)


def _run(model: ModelWrapper, feed: np.ndarray, backend: str) -> np.ndarray:
    name = model.graph_input_names()[0]
    return qnncc.execute(model, {name: feed.astype(np.float64)}, backend=backend)[model.graph_output_names()[0]]


def vvau_model(x_dt: str, w: np.ndarray, thr: np.ndarray | None, dim: int, k: int, out_dt: str) -> ModelWrapper:
    channels = w.shape[0]
    inputs = ["x", "w"] + (["t"] if thr is not None else [])
    node = helper.make_node(
        "VVAU", inputs, ["y"], domain=HW_DOMAIN, Dim=[dim, dim], Channels=channels, Kernel=[k, k],
        inputDataType=x_dt, weightDataType="INT8", outputDataType=out_dt, accDataType="INT32",
        noActivation=int(thr is None),
    )  # fmt: skip
    consts = {"w": w.astype(np.float32)} if thr is None else {"w": w.astype(np.float32), "t": thr}
    return hw_graph_model([node], {"x": [1, dim, dim, k * k * channels]}, ["y"], consts, float_consts=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vvau_uint24_inputs_int8_weights_thresholds_exactly(backend):
    """The reported case: 256 outputs, accumulators far beyond 2**24, thresholds hit exactly."""
    rng = np.random.default_rng(15)
    dim, k, channels = 4, 3, 16
    x = _ints(rng, "UINT24", (1, dim, dim, k * k * channels))
    w = _ints(rng, "INT8", (channels, 1, k, k))
    windows = x.reshape(1, dim, dim, k * k, channels)
    acc = np.sum(windows * w.reshape(channels, k * k).T, axis=3)
    thr = _thresholds(rng, acc, channels, 3)
    model = vvau_model("UINT24", w, thr.astype(np.float64), dim, k, "UINT2")
    assert needs_float64(model)
    y = _run(model, x, backend)
    np.testing.assert_array_equal(y, _count(acc, thr))
    assert y.size == 256


@pytest.mark.parametrize("backend", BACKENDS)
def test_wide_layer_inside_a_dataflow_partition(backend):
    """The float64 choice looks into StreamingDataflowPartition children, in both back ends."""
    rng = np.random.default_rng(16)
    dim, k, channels = 2, 3, 4
    x = _ints(rng, "UINT24", (1, dim, dim, k * k * channels))
    w = _ints(rng, "INT8", (channels, 1, k, k))
    acc = np.sum(x.reshape(1, dim, dim, k * k, channels) * w.reshape(channels, k * k).T, axis=3)
    thr = _thresholds(rng, acc, channels, 3)
    child = vvau_model("UINT24", w, thr.astype(np.float64), dim, k, "UINT2")
    infer_shapes(child)
    node = helper.make_node("StreamingDataflowPartition", ["x"], ["y"], domain="finn.custom_op.fpgadataflow",
                            model=child.graph, partition_id=0)  # fmt: skip
    parent = hw_graph_model([node], {"x": list(x.shape)}, ["y"], {}, domains=[("finn.custom_op.fpgadataflow", 1)])
    assert needs_float64(parent)
    np.testing.assert_array_equal(_run(parent, x, backend), _count(acc, thr))


def mvau_model(x_dt: str, w: np.ndarray, thr: np.ndarray | None, out_dt: str) -> ModelWrapper:
    mw, mh = w.shape
    inputs = ["x", "w"] + (["t"] if thr is not None else [])
    node = helper.make_node(
        "MVAU", inputs, ["y"], domain=HW_DOMAIN, MW=mw, MH=mh, inputDataType=x_dt, weightDataType="INT16",
        outputDataType=out_dt, noActivation=int(thr is None),
    )  # fmt: skip
    consts = {"w": w.astype(np.float32)} if thr is None else {"w": w.astype(np.float32), "t": thr}
    return hw_graph_model([node], {"x": [1, mw]}, ["y"], consts, float_consts=False)


def standard_model(x_dt: str, w: np.ndarray, thr: np.ndarray | None, conv: bool) -> ModelWrapper:
    """``MatMul`` (or a 1x1... kxk ``Conv``) with a datatype-annotated input, optionally + MultiThreshold."""
    nodes = [helper.make_node("Conv" if conv else "MatMul", ["x", "w"], ["acc"], name="acc")]
    out = "acc"
    inits = [numpy_helper.from_array(w.astype(np.float32), "w")]
    if thr is not None:
        nodes.append(
            helper.make_node("MultiThreshold", ["acc", "t"], ["y"], domain="qonnx.custom_op.general", out_dtype="UINT8")
        )
        inits.append(numpy_helper.from_array(thr.astype(np.float64), "t"))  # exact beyond 2**24
        out = "y"
    shape = [1, w.shape[1], 5, 5] if conv else [1, w.shape[0]]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        inits,
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    model = ModelWrapper(helper.make_model(graph, opset_imports=opsets))
    model.set_tensor_datatype("x", x_dt)
    return model


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    x_bits=st.integers(2, 40),
    w_bits=st.integers(2, 10),
    fan_in=st.integers(1, 24),
    kind=st.sampled_from(["mvau", "mvau_noact", "vvau", "vvau_noact", "matmul", "matmul_mt", "conv", "thresholding"]),
    backend=st.sampled_from(BACKENDS),
)
def test_integer_layers_exact_up_to_2_53(seed, x_bits, w_bits, fan_in, kind, backend):
    """Every integer layer computes FINN's int64 result exactly while the accumulator fits in 2**53."""
    rng = np.random.default_rng(seed)
    x_bits = min(x_bits, 52 - w_bits - int(np.ceil(np.log2(fan_in * 9 + 1))))
    x_dt, w_dt = f"UINT{x_bits}", f"INT{w_bits}"
    if kind.startswith("mvau"):
        mh = 6
        w = _ints(rng, w_dt, (fan_in, mh))
        x = _ints(rng, x_dt, (1, fan_in))
        acc = x @ w
        thr = None if kind.endswith("noact") else _thresholds(rng, acc, mh, 4)
        model = mvau_model(
            x_dt, w, None if thr is None else thr.astype(np.float64), "INT53" if thr is None else "UINT3"
        )
    elif kind.startswith("vvau"):
        dim, k, channels = 2, 3, 4
        w = _ints(rng, w_dt, (channels, 1, k, k))
        x = _ints(rng, x_dt, (1, dim, dim, k * k * channels))
        acc = np.sum(x.reshape(1, dim, dim, k * k, channels) * w.reshape(channels, k * k).T, axis=3)
        thr = None if kind.endswith("noact") else _thresholds(rng, acc, channels, 4)
        model = vvau_model(
            x_dt, w, None if thr is None else thr.astype(np.float64), dim, k, "INT53" if thr is None else "UINT3"
        )
    elif kind == "thresholding":
        channels = 5
        x = _ints(rng, x_dt, (1, 3, channels))
        acc = x
        thr = _thresholds(rng, acc, channels, 3)
        node = helper.make_node(
            "Thresholding", ["x", "t"], ["y"], domain=HW_DOMAIN, NumChannels=channels, numSteps=3,
            inputDataType=x_dt, weightDataType=x_dt, outputDataType="UINT2", numInputVectors=[1, 3],
        )  # fmt: skip
        model = hw_graph_model(
            [node], {"x": [1, 3, channels]}, ["y"], {"t": thr.astype(np.float64)}, float_consts=False
        )
    elif kind == "conv":
        channels, k = 3, 3
        w = _ints(rng, w_dt, (4, channels, k, k))
        x = _ints(rng, x_dt, (1, channels, 5, 5))
        cols = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # [1, C, 3, 3, k, k]
        acc = np.einsum("nchwij,ocij->nohw", cols, w)
        thr = None
        model = standard_model(x_dt, w, None, conv=True)
    else:
        w = _ints(rng, w_dt, (fan_in, 6))
        x = _ints(rng, x_dt, (1, fan_in))
        acc = x @ w
        thr = _thresholds(rng, acc, 6, 4) if kind == "matmul_mt" else None
        model = standard_model(x_dt, w, thr, conv=False)
    if np.max(np.abs(acc)) > 2**24 or (thr is not None and np.max(np.abs(thr)) > 2**24):
        assert needs_float64(model)
    y = _run(model, x, backend)
    expected = acc if thr is None else _count(acc, thr)
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("path", ["tfc", "lfc", "mnist_conv"])
def test_golden_models_stay_in_float32(path):
    """The float64 mode is chosen from the datatypes: models within 2**24 keep float32 (and its speed)."""
    from pathlib import Path

    from qnncc.data import demo_model_path

    data = Path(__file__).resolve().parent.parent / "data"
    file = {
        "tfc": demo_model_path(),
        "lfc": data / "lfc_w1a1" / "LFCW1A1.onnx",
        "mnist_conv": data / "mnist_conv" / "model.onnx",
    }
    model = qnncc.load(file[path])
    assert not needs_float64(model)
    assert qnncc.Executor(model).float64 is False


def _scaled_matmul(mul_first: bool, w: np.ndarray, scale: float) -> ModelWrapper:
    """``x [UINT8] -> Mul scale -> MatMul w`` (``mul_first``) or ``x -> MatMul w -> Mul scale``: one function."""
    consts = {"s": np.array(scale, np.float32), "w": w.astype(np.float32)}
    if mul_first:
        nodes = [helper.make_node("Mul", ["x", "s"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["y"])]
    else:
        nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Mul", ["h", "s"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "scaled",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, w.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, w.shape[1]])],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model.set_tensor_datatype("x", DataType["UINT8"])
    return model


@pytest.mark.parametrize("backend", BACKENDS)
def test_precision_is_stable_across_moving_a_scale_past_the_matmul(backend):
    """MoveScalarMulPastMatMul must not change the precision: the scaled integer still accumulates beyond 2**24.

    Before the fix the MatMul after the Mul saw the float annotation of the scaled tensor (float32, inexact),
    after the move it saw UINT8 (float64): the two gave outputs an ulp apart (the slow streamline property).
    """
    from qnncc.transforms.streamline import MoveScalarMulPastMatMul

    rng = np.random.default_rng(53)
    w = rng.integers(2**15, 2**16, size=(512, 3))
    x = rng.integers(0, 256, size=(4, 512))
    before = _scaled_matmul(True, w, 2.0**-7)
    after = before.copy().transform(MoveScalarMulPastMatMul())
    assert [n.op_type for n in after.graph.node] == ["MatMul", "Mul"]
    assert needs_float64(before) and needs_float64(after)
    expected = (x @ w).astype(np.float64) * 2.0**-7  # exact: the sums stay below 2**53
    for model in (before, after):
        y = qnncc.execute(model, {"x": x.astype(np.float32)}, backend=backend)["y"]
        np.testing.assert_array_equal(y, expected)
