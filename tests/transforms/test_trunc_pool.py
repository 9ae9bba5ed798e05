"""``ConvertTruncAvgPoolToMultiThreshold`` and the HW global pool it enables, by differential execution."""

from __future__ import annotations

import numpy as np
import pytest
import scale_graphs as sg
from onnx import TensorProto, helper
from qnncc.transforms import ConvertQONNXtoFINN, InferShapes
from qnncc.transforms.qonnx import ConvertTruncAvgPoolToMultiThreshold

import qnncc
from qnncc import ModelWrapper
from qnncc.estimate import estimate


def pool_model(kernel: int, act_bits: int, out_bits: int, signed: bool, mode: str = "FLOOR") -> ModelWrapper:
    """``Quant -> AveragePool(k) -> Mul(k*k) -> Trunc`` on ``[2, 16, k, k]`` (the exporter's TruncAvgPool2d)."""
    e = sg.Exporter(seed=kernel * 100 + act_bits * 10 + out_bits)
    scale = np.float32(e.rng.uniform(0.05, 0.5))
    q = e.quant("x", scale, act_bits, signed=signed)
    y = e.trunc_avg_pool(q, kernel, act_bits, out_bits)
    e.nodes[-1].attribute[0].s = mode.encode()
    graph = helper.make_graph(
        e.nodes,
        "pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16, kernel, kernel])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [2, 16, 1, 1])],
        e.inits,
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(sg.QONNX_DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=opsets)).transform(InferShapes())


def inputs(model: ModelWrapper, seed: int) -> np.ndarray:
    """Random values (even seeds) or values on and half-way between the quantizer's grid (odd seeds: ties)."""
    rng = np.random.default_rng(seed)
    shape = model.get_tensor_shape("x")
    scale = float(model.get_initializer(model.graph.node[0].input[1]))
    grid = rng.integers(-20, 20, shape) * scale * rng.choice([1.0, 0.5], shape)
    return (grid if seed % 2 else rng.normal(0, 2, shape)).astype(np.float32)


@pytest.mark.parametrize("mode", ["FLOOR", "ROUND"])
@pytest.mark.parametrize(
    ("kernel", "act_bits", "out_bits", "signed"),
    [(7, 4, 4, False), (2, 2, 2, True), (3, 4, 8, False), (1, 3, 2, False)],
)
def test_trunc_becomes_thresholds_bit_exactly(
    kernel: int, act_bits: int, out_bits: int, signed: bool, mode: str
) -> None:
    model = pool_model(kernel, act_bits, out_bits, signed, mode)
    before = model.copy()
    model.transform(ConvertTruncAvgPoolToMultiThreshold())
    ops = [n.op_type for n in model.graph.node]
    assert "Trunc" not in ops and ops[-2:] == ["MultiThreshold", "Mul"]
    out = model.graph_output_names()[0]
    seen = set()
    for seed in range(8):
        x = inputs(before, seed)
        want = qnncc.execute(before, {"x": x})[out]
        got = qnncc.execute(model, {"x": x})[out]
        np.testing.assert_array_equal(got, want)
        seen |= set(want.ravel().tolist())
    assert len(seen) > 2  # the check is not vacuous
    # the whole QONNX conversion (activations to thresholds too) keeps the function
    model.transform(ConvertQONNXtoFINN())
    x = inputs(before, 9)
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x})[out], qnncc.execute(before, {"x": x})[out])


def test_unbounded_input_stays_trunc() -> None:
    """Without a quantizer bounding the pool's input the range (and so the thresholds) is unknown."""
    model = pool_model(3, 4, 2, False)
    quant = model.graph.node[0]
    model.graph.node.remove(quant)
    for n in model.graph.node:
        n.input[:] = ["x" if t == quant.output[0] else t for t in n.input]
    _, changed = ConvertTruncAvgPoolToMultiThreshold().apply(model)
    assert not changed


def predictions(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    name = model.graph_output_names()[0]
    out = np.concatenate([qnncc.execute(model, {model.graph_input_names()[0]: xi[None]})[name] for xi in x])
    flat = out.reshape(len(x), -1)
    return flat.reshape(-1) if flat.shape[1] == 1 else flat.argmax(-1)


def test_mobilenet_pool_and_classifier_in_hw_bit_exact() -> None:
    """Only the float head (per-class scale, bias, top-1) stays in software, and the predictions are unchanged."""
    source = sg.mobilenet_v1(width=0.125, resolution=64, classes=10)
    result = estimate(source.copy(), board="ZCU104", input_scale="1/255")
    assert [op for _, op in result.software_nodes] == ["Transpose", "Mul", "Add", "TopK"]
    names = [name for name, _ in result.layers]
    assert any(n.startswith("GlobalAccPool") for n in names)
    pixels = np.random.default_rng(0).integers(0, 256, (6, 3, 64, 64)).astype(np.float32)
    np.testing.assert_array_equal(predictions(result.model, pixels), predictions(source, pixels / np.float32(255)))
