"""``MoveMulPastDWConv``: per-channel scales past depthwise convolutions, by differential execution."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferShapes
from qnncc.transforms.streamline import MoveMulPastDWConv
from qnncc.transforms.streamline.depthwise import depthwise_scale

import qnncc
from qnncc import ModelWrapper

RNG = np.random.default_rng(16)


def dw_model(
    scale: np.ndarray, channels: int = 4, multiplier: int = 1, bias: bool = False, group: int = 0, **conv: object
) -> ModelWrapper:
    """``x -> Mul(x, scale) -> Conv(group=C, W [C*mult, 1, 3, 3]) -> y`` on ``[2, C, 6, 6]`` (``group``: override)."""
    group = group or channels
    w = RNG.integers(-3, 4, (channels * multiplier, channels // group, 3, 3))
    inits = {"a": scale.astype(np.float32), "w": w.astype(np.float32)}
    inputs = ["t", "w"]
    if bias:
        inits["b"] = RNG.normal(size=channels * multiplier).astype(np.float32)
        inputs.append("b")
    nodes = [
        helper.make_node("Mul", ["x", "a"], ["t"], name="mul"),
        helper.make_node("Conv", inputs, ["y"], name="conv", group=group, kernel_shape=[3, 3], **conv),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, channels, 6, 6])],
        [helper.make_empty_tensor_value_info("y")],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    return model.transform(InferShapes())


def outputs(model: ModelWrapper, integer: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(-8, 8, (2, 4, 6, 6)) if integer else rng.normal(0, 3, (2, 4, 6, 6))
    return qnncc.execute(model, {"x": x.astype(np.float32)})["y"]


@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("conv", [{}, {"pads": [1, 1, 1, 1]}, {"pads": [1, 1, 1, 1], "strides": [2, 2]}])
@pytest.mark.parametrize("shape", [(1, 4, 1, 1), (4, 1, 1), ()])
def test_scale_moves_past_depthwise_conv(shape: tuple[int, ...], conv: dict, multiplier: int) -> None:
    scale = RNG.uniform(-2, 2, shape) if shape else np.asarray(RNG.uniform(0.1, 2))
    model = dw_model(scale, multiplier=multiplier, **conv)
    before = model.copy()
    model.transform(MoveMulPastDWConv())
    assert [n.op_type for n in model.graph.node] == ["Conv", "Mul"]
    moved = model.get_initializer(model.graph.node[1].input[1])
    assert moved is not None and moved.shape == (1, 4 * multiplier, 1, 1)
    for seed in range(3):
        np.testing.assert_allclose(outputs(model, False, seed), outputs(before, False, seed), rtol=1e-5, atol=1e-4)
    # power-of-two factors on integer inputs: real and float arithmetic agree, so bit for bit
    pow2 = dw_model(2.0 ** RNG.integers(-3, 3, (1, 4, 1, 1)), multiplier=multiplier, **conv)
    ref = pow2.copy()
    pow2.transform(MoveMulPastDWConv())
    for seed in range(3):
        np.testing.assert_array_equal(outputs(pow2, True, seed), outputs(ref, True, seed))


def test_depthwise_scale_follows_onnx_group_order() -> None:
    np.testing.assert_array_equal(depthwise_scale(np.array([1.0, 2.0, 3.0]), 3, 6), [1, 1, 2, 2, 3, 3])


def test_unsafe_matches_are_left_alone() -> None:
    cases = [
        dw_model(RNG.uniform(0.5, 2, (1, 4, 1, 1)), bias=True),  # the bias would not be scaled
        dw_model(RNG.uniform(0.5, 2, (1, 1, 6, 1))),  # varies along H, not per channel
    ]
    for model in cases:
        before = model.serialize()
        _, changed = MoveMulPastDWConv().apply(model)
        assert not changed and model.serialize() == before
    for group in (1, 2):  # dense and grouped convs mix channels
        _, changed = MoveMulPastDWConv().apply(dw_model(RNG.uniform(0.5, 2, (1, 4, 1, 1)), group=group))
        assert not changed


def test_mobilenet_depthwise_layers_reach_hw() -> None:
    """Brevitas' MobileNet scales pointwise outputs per channel: every depthwise conv becomes a VVAU."""
    import scale_graphs as sg

    from qnncc.estimate import estimate

    result = estimate(sg.mobilenet_v1(width=0.125, resolution=32, classes=10), board="ZCU104", input_scale="1/255")
    vvaus = [name for name, _ in result.layers if name.startswith("VVAU")]
    assert len(vvaus) == 13
    assert not any(op in ("Conv", "Im2Col") for _, op in result.software_nodes)
