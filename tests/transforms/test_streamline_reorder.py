"""Reordering and collapsing streamline passes on small hand-built graphs.

Each pass: it fires on its pattern (the node sequence changes as expected),
the rewritten graph computes the same function on random inputs (bit-exact
where the pass claims so, else within float32 rounding), and it leaves unsafe
matches alone (fan-out, graph outputs, padding, non-positive factors, ...).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferShapes
from qnncc.transforms.streamline.collapse import CollapseRepeatedAdd, CollapseRepeatedMul
from qnncc.transforms.streamline.reorder import (
    MoveAddPastConv,
    MoveAddPastMul,
    MoveLinearPastEltwiseAdd,
    MoveLinearPastTranspose,
    MoveMulPastMaxPool,
    MoveScalarAddPastMatMul,
    MoveScalarLinearPastInvariants,
    MoveScalarMulPastConv,
    MoveScalarMulPastMatMul,
)

import qnncc
from qnncc import ModelWrapper, Transformation

F = TensorProto.FLOAT
RNG = np.random.default_rng(1234)


def rand(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return RNG.uniform(low, high, size=shape).astype(np.float32)


def build(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, list[int]],
    outputs: list[str],
    inits: dict[str, np.ndarray],
    infer: bool = True,
) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, F, v) for k, v in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model.model.ir_version = 8
    return model.transform(InferShapes()) if infer else model


def node(op: str, inputs: list[str], output: str, **attrs: object) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [output], name=f"{op}_{output}", **attrs)


def ops(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in model.graph.node]


def feeds(model: ModelWrapper, seed: int, integer: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name in model.graph_input_names():
        shape = model.get_tensor_shape(name)
        assert shape is not None
        x = rng.integers(-8, 8, size=shape) if integer else rng.normal(0, 3, size=shape)
        out[name] = x.astype(np.float32)
    return out


def check_same(before: ModelWrapper, after: ModelWrapper, exact: bool = False, integer: bool = False) -> None:
    """Outputs agree on random inputs: bit for bit if ``exact``, else within float32 rounding.

    The absolute tolerance (1e-6) is scaled by the largest output magnitude: a
    reordered sum of terms of that size rounds by a few ulps of it, even where
    the result itself is near zero.
    """
    after.check()
    assert after.graph_output_names() == before.graph_output_names()
    for seed in range(3):
        x = feeds(before, seed, integer)
        ref, out = qnncc.execute(before, x), qnncc.execute(after, x)
        for name in before.graph_output_names():
            assert out[name].shape == ref[name].shape
            if exact:
                np.testing.assert_array_equal(out[name], ref[name])
            else:
                scale = max(1.0, float(np.abs(ref[name]).max()))
                np.testing.assert_allclose(out[name], ref[name], rtol=1e-5, atol=1e-6 * scale)
    for name in after.graph_output_names():
        if before.get_tensor_shape(name) is not None:
            assert after.get_tensor_shape(name) == before.get_tensor_shape(name)


def run(model: ModelWrapper, p: Transformation) -> tuple[ModelWrapper, ModelWrapper]:
    """(copy before, model after ``p`` to its fixpoint)."""
    before = model.copy()
    return before, model.transform(p)


def assert_unchanged(model: ModelWrapper, p: Transformation) -> None:
    before = model.serialize()
    _, changed = p.apply(model)
    assert changed is False
    assert model.serialize() == before


def const_of(model: ModelWrapper, n: onnx.NodeProto) -> np.ndarray:
    values = [model.get_initializer(t) for t in n.input]
    found = [v for v in values if v is not None]
    assert len(found) == 1
    return found[0]


# ----------------------------------------------------------------- MoveScalarLinearPastInvariants
X4 = [1, 2, 4, 6]
I64 = np.int64
INVARIANTS = {  # name: (node(t -> y), extra initializers, exact)
    "Identity": (node("Identity", ["t"], "y"), {}, True),
    "Reshape": (node("Reshape", ["t", "shp"], "y"), {"shp": np.array([1, 48], I64)}, True),
    "Flatten": (node("Flatten", ["t"], "y", axis=1), {}, True),
    "Transpose": (node("Transpose", ["t"], "y", perm=[0, 2, 3, 1]), {}, True),
    "Squeeze": (node("Squeeze", ["t", "ax"], "y"), {"ax": np.array([0], I64)}, True),
    "Unsqueeze": (node("Unsqueeze", ["t", "ax"], "y"), {"ax": np.array([0], I64)}, True),
    "Expand": (node("Expand", ["t", "shp"], "y"), {"shp": np.array([3, 2, 4, 6], I64)}, True),
    "Slice": (
        node("Slice", ["t", "st", "en", "ax"], "y"),
        {"st": np.array([1], I64), "en": np.array([5], I64), "ax": np.array([3], I64)},
        True,
    ),
    "MaxPool": (node("MaxPool", ["t"], "y", kernel_shape=[2, 2], pads=[1, 1, 1, 1]), {}, True),
    "GlobalMaxPool": (node("GlobalMaxPool", ["t"], "y"), {}, True),
    "ReduceMax": (node("ReduceMax", ["t"], "y", axes=[1]), {}, True),
    "ReduceMin": (node("ReduceMin", ["t"], "y", axes=[2, 3], keepdims=0), {}, True),
    "GlobalAveragePool": (node("GlobalAveragePool", ["t"], "y"), {}, False),
    "ReduceMean": (node("ReduceMean", ["t"], "y", axes=[-1, -2], keepdims=0), {}, False),
    "AveragePool": (node("AveragePool", ["t"], "y", kernel_shape=[2, 3], strides=[2, 1]), {}, False),
    "AveragePoolPadExcluded": (
        node("AveragePool", ["t"], "y", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0),
        {},
        False,
    ),
}

ORDER_STATISTICS = {"MaxPool", "GlobalMaxPool", "ReduceMax", "ReduceMin"}


def invariant_model(f: str, op: str, c: np.ndarray, const_first: bool = False) -> ModelWrapper:
    fnode, extra, _ = INVARIANTS[f]
    lin = node(op, ["c", "x"] if const_first else ["x", "c"], "t")
    g = onnx.NodeProto()
    g.CopyFrom(fnode)
    return build([lin, g, node("Relu", ["y"], "out")], {"x": X4}, ["out"], {"c": c, **extra})


@pytest.mark.parametrize("f", sorted(INVARIANTS))
@pytest.mark.parametrize("op", ["Mul", "Add"])
@pytest.mark.parametrize("cshape", [(), (1,), (1, 1, 1, 1)])
def test_invariants_move_scalar(f, op, cshape):
    value = 1.75 if op == "Mul" and f in ORDER_STATISTICS else -1.75  # negative factors only where allowed
    model = invariant_model(f, op, np.full(cshape, value, np.float32), const_first=cshape == (1,))
    fop = INVARIANTS[f][0].op_type
    before, after = run(model, MoveScalarLinearPastInvariants())
    assert ops(after) == [fop, op, "Relu"]
    lin = after.graph.node[1]
    assert after.graph.node[0].output[0] in lin.input
    assert after.graph.node[0].input[0] == "x"
    assert float(const_of(after, lin).reshape(-1)[0]) == value
    check_same(before, after, exact=INVARIANTS[f][2])


@pytest.mark.parametrize(
    ("f", "op", "value"),
    [
        ("MaxPool", "Mul", -1.5),  # max turns into min
        ("MaxPool", "Mul", 0.0),
        ("GlobalMaxPool", "Mul", -0.5),
        ("ReduceMin", "Mul", -2.0),
    ],
)
def test_invariants_skip_non_positive_factor_before_max(f, op, value):
    assert_unchanged(invariant_model(f, op, np.float32(value)), MoveScalarLinearPastInvariants())


def test_invariants_avgpool_padding_counted_blocks_add_only():
    fnode = node("AveragePool", ["t"], "y", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)
    make = lambda op: build([node(op, ["x", "c"], "t"), fnode], {"x": X4}, ["y"], {"c": np.float32(0.5)})  # noqa: E731
    assert_unchanged(make("Add"), MoveScalarLinearPastInvariants())  # borders average in zeros, not zeros + c
    before, after = run(make("Mul"), MoveScalarLinearPastInvariants())
    assert ops(after) == ["AveragePool", "Mul"]
    check_same(before, after)


def test_invariants_skip_unsafe():
    p = MoveScalarLinearPastInvariants()
    flat = node("Flatten", ["t"], "y", axis=1)
    per_channel = build([node("Mul", ["x", "c"], "t"), flat], {"x": X4}, ["y"], {"c": rand(1, 2, 1, 1)})
    assert_unchanged(per_channel, p)
    fan_out = build(
        [node("Mul", ["x", "c"], "t"), flat, node("Relu", ["t"], "r")], {"x": X4}, ["y", "r"], {"c": np.float32(2)}
    )
    assert_unchanged(fan_out, p)
    t_is_output = build([node("Mul", ["x", "c"], "t"), flat], {"x": X4}, ["y", "t"], {"c": np.float32(2)})
    assert_unchanged(t_is_output, p)
    # the scalar [1, 1] broadcasts x [6] up to [1, 6]: moving it past Flatten would change shapes
    grows = build([node("Mul", ["x", "c"], "t"), flat], {"x": [6]}, ["y"], {"c": np.ones((1, 1), np.float32)})
    assert_unchanged(grows, p)
    infinite = build([node("Mul", ["x", "c"], "t"), flat], {"x": X4}, ["y"], {"c": np.float32(np.inf)})
    assert_unchanged(infinite, p)
    dynamic = build([node("Mul", ["x", "z"], "t"), flat], {"x": X4, "z": [1]}, ["y"], {})
    assert_unchanged(dynamic, p)
    with_indices = helper.make_node("MaxPool", ["t"], ["y", "idx"], kernel_shape=[2, 2])
    indices = build([node("Add", ["x", "c"], "t"), with_indices], {"x": X4}, ["y", "idx"], {"c": np.float32(1)})
    assert_unchanged(indices, p)


def test_invariants_chain_moves_to_the_end_and_keeps_annotations():
    nodes = [
        node("Mul", ["x", "c"], "t"),
        node("Transpose", ["t"], "u", perm=[0, 2, 3, 1]),
        node("Reshape", ["u", "shp"], "v"),
        node("Flatten", ["v"], "y"),
    ]
    model = build(nodes, {"x": X4}, ["y"], {"c": np.float32(-3), "shp": np.array([1, 4, 12], I64)})
    model.set_tensor_datatype("x", "INT4")
    model.set_tensor_datatype("y", "INT8")
    before, after = run(model, MoveScalarLinearPastInvariants())
    assert ops(after) == ["Transpose", "Reshape", "Flatten", "Mul"]
    assert after.graph.node[-1].output[0] == "y"
    assert after.get_tensor_datatype("y").name == "INT8"  # bit-exact move: annotation kept
    assert after.get_tensor_datatype(after.graph.node[2].output[0]).name == "INT4"  # data movement of x
    assert MoveScalarLinearPastInvariants().apply(after)[1] is False
    check_same(before, after, exact=True)


def test_all_rewrites_in_one_apply_and_shapes_inferred_on_demand():
    nodes = [
        node("Mul", ["x", "c"], "t"),
        node("Flatten", ["t"], "u", axis=1),
        node("Add", ["u", "d"], "v"),
        node("Reshape", ["v", "shp"], "y"),
    ]
    inits = {"c": np.float32(2), "d": np.float32(-1), "shp": np.array([2, 24], I64)}
    model = build(nodes, {"x": X4}, ["y"], inits, infer=False)  # no value infos yet
    before = model.copy()
    model, changed = MoveScalarLinearPastInvariants().apply(model)
    # one round: the Mul moves past the Flatten, then (same round) past the Add... and the Add
    # past the Reshape once its shapes are known; what is left waits for the next round
    assert changed and ops(model)[0] == "Flatten"
    rounds = 1
    while MoveScalarLinearPastInvariants().apply(model)[1]:
        rounds += 1
    assert rounds <= 2
    assert ops(model) == ["Flatten", "Reshape", "Mul", "Add"]
    check_same(before, model, exact=True)


# ----------------------------------------------------------------- MoveAddPastMul
@pytest.mark.parametrize("swap_inputs", [False, True])
def test_move_add_past_mul_per_channel(swap_inputs):
    b, a = rand(1, 3, 1, 1), rand(3, 1, 1)
    add = node("Add", ["b", "x"] if swap_inputs else ["x", "b"], "t")
    mul = node("Mul", ["a", "t"] if swap_inputs else ["t", "a"], "y")
    model = build([add, mul], {"x": [2, 3, 4, 4]}, ["y"], {"a": a, "b": b})
    model.set_tensor_datatype("y", "INT8")
    before, after = run(model, MoveAddPastMul())
    assert ops(after) == ["Mul", "Add"]
    np.testing.assert_allclose(const_of(after, after.graph.node[1]), a * b, rtol=1e-6)
    assert after.get_tensor_datatype("y").name == "FLOAT32"  # not bit-exact: annotation dropped
    check_same(before, after)


def test_move_add_past_mul_shared_constant_and_integers():
    nodes = [node("Add", ["x", "b"], "t"), node("Mul", ["t", "a"], "u"), node("Add", ["u", "b"], "y")]
    b, a = np.array([3.0, -2.0, 5.0], np.float32), np.array([-4.0, 2.0, 7.0], np.float32)
    model = build(nodes, {"x": [4, 3]}, ["y"], {"a": a, "b": b})
    before, after = run(model, MoveAddPastMul())
    assert ops(after) == ["Mul", "Add", "Add"]
    np.testing.assert_array_equal(after.get_initializer("b"), b)  # still read by the last Add
    check_same(before, after, exact=True, integer=True)


def test_move_add_past_mul_skips_unsafe():
    p = MoveAddPastMul()
    fan_out = build(
        [node("Add", ["x", "b"], "t"), node("Mul", ["t", "a"], "y"), node("Relu", ["t"], "r")],
        {"x": [2, 3]},
        ["y", "r"],
        {"a": rand(3), "b": rand(3)},
    )
    assert_unchanged(fan_out, p)
    dynamic_mul = build(
        [node("Add", ["x", "b"], "t"), node("Mul", ["t", "z"], "y")], {"x": [2, 3], "z": [3]}, ["y"], {"b": rand(3)}
    )
    assert_unchanged(dynamic_mul, p)


# ----------------------------------------------------------------- MoveScalarAddPastMatMul
@pytest.mark.parametrize("bshape", [(), (1, 1), (5,), (1, 5)])
def test_move_scalar_add_past_matmul(bshape):
    w, b = rand(5, 3), rand(*bshape)
    model = build(
        [node("Add", ["x", "b"], "t"), node("MatMul", ["t", "w"], "y")], {"x": [4, 5]}, ["y"], {"w": w, "b": b}
    )
    before, after = run(model, MoveScalarAddPastMatMul())
    assert ops(after) == ["MatMul", "Add"]
    assert list(after.graph.node[0].input) == ["x", "w"]
    expected = np.broadcast_to(b.reshape(-1), (5,)).astype(np.float64) @ w
    np.testing.assert_allclose(const_of(after, after.graph.node[1]), expected, rtol=1e-6)
    check_same(before, after)


def test_move_scalar_add_past_matmul_integers_exact():
    w = RNG.integers(-3, 4, size=(6, 4)).astype(np.float32)
    model = build(
        [node("Add", ["x", "b"], "t"), node("MatMul", ["t", "w"], "y")],
        {"x": [3, 6]},
        ["y"],
        {"w": w, "b": np.float32(-5)},
    )
    before, after = run(model, MoveScalarAddPastMatMul())
    assert ops(after) == ["MatMul", "Add"]
    check_same(before, after, exact=True, integer=True)


def test_move_scalar_add_past_matmul_skips_unsafe():
    p = MoveScalarAddPastMatMul()
    mm = node("MatMul", ["t", "w"], "y")
    per_row = build([node("Add", ["x", "b"], "t"), mm], {"x": [4, 5]}, ["y"], {"w": rand(5, 3), "b": rand(4, 1)})
    assert_unchanged(per_row, p)  # varies along the batch axis: not b' W
    dynamic_w = build([node("Add", ["x", "b"], "t"), mm], {"x": [4, 5], "w": [5, 3]}, ["y"], {"b": np.float32(1)})
    assert_unchanged(dynamic_w, p)
    fan_out = build(
        [node("Add", ["x", "b"], "t"), mm, node("Neg", ["t"], "n")],
        {"x": [4, 5]},
        ["y", "n"],
        {"w": rand(5, 3), "b": np.float32(1)},
    )
    assert_unchanged(fan_out, p)


# ----------------------------------------------------------------- MoveAddPastConv
def conv_model(b: np.ndarray, w: np.ndarray, bias: bool = False, **attrs: object) -> ModelWrapper:
    inits = {"b": b, "w": w}
    inputs = ["t", "w"]
    if bias:
        inits["B"] = rand(w.shape[0])
        inputs.append("B")
    nodes = [node("Add", ["x", "b"], "t"), node("Conv", inputs, "y", **attrs)]
    return build(nodes, {"x": [2, 4, 7, 7]}, ["y"], inits)


@pytest.mark.parametrize(
    ("bshape", "group", "attrs", "bias"),
    [
        ((), 1, {}, False),
        ((1, 4, 1, 1), 1, {"strides": [2, 2]}, True),
        ((4, 1, 1), 2, {"dilations": [2, 1]}, False),
        ((1, 4, 1, 1), 4, {"auto_pad": "VALID"}, True),
    ],
)
def test_move_add_past_conv(bshape, group, attrs, bias):
    w = rand(6 if group != 4 else 8, 4 // group, 3, 3)
    model = conv_model(rand(*bshape), w, bias=bias, group=group, **attrs)
    before, after = run(model, MoveAddPastConv())
    assert ops(after) == ["Conv", "Add"]
    assert after.graph.node[0].input[0] == "x"
    assert const_of(after, after.graph.node[1]).shape == (1, w.shape[0], 1, 1)
    check_same(before, after)


def test_move_add_past_conv1d_per_channel():
    b, w = rand(4, 1), rand(5, 4, 3)
    model = build(
        [node("Add", ["b", "x"], "t"), node("Conv", ["t", "w"], "y", strides=[2])],
        {"x": [2, 4, 9]},
        ["y"],
        {"b": b, "w": w},
    )
    before, after = run(model, MoveAddPastConv())
    assert ops(after) == ["Conv", "Add"]
    np.testing.assert_allclose(
        const_of(after, after.graph.node[1]).reshape(-1), np.einsum("oik,i->o", w, b[:, 0]), rtol=1e-5
    )
    check_same(before, after)


def test_move_add_past_conv_integers_exact():
    w = RNG.integers(-2, 3, size=(3, 4, 2, 2)).astype(np.float32)
    b = RNG.integers(-4, 5, size=(1, 4, 1, 1)).astype(np.float32)
    before, after = run(conv_model(b, w), MoveAddPastConv())
    assert ops(after) == ["Conv", "Add"]
    check_same(before, after, exact=True, integer=True)


def test_move_add_past_conv_skips_padding_and_spatial_constants():
    p = MoveAddPastConv()
    w = rand(6, 4, 3, 3)
    assert_unchanged(conv_model(rand(1, 4, 1, 1), w, pads=[1, 1, 1, 1]), p)
    assert_unchanged(conv_model(np.float32(0.5), w, pads=[0, 1, 0, 0]), p)
    assert_unchanged(conv_model(np.float32(0.5), w, auto_pad="SAME_UPPER"), p)
    assert_unchanged(conv_model(rand(1, 1, 7, 7), w), p)  # not per channel


# ----------------------------------------------------------------- MoveScalarMulPastMatMul / Conv
@pytest.mark.parametrize("ashape", [(), (1,), (1, 1)])
def test_move_scalar_mul_past_matmul(ashape):
    model = build(
        [node("Mul", ["x", "a"], "t"), node("MatMul", ["t", "w"], "y")],
        {"x": [3, 5]},
        ["y"],
        {"w": rand(5, 2), "a": np.full(ashape, -0.37, np.float32)},
    )
    before, after = run(model, MoveScalarMulPastMatMul())
    assert ops(after) == ["MatMul", "Mul"]
    assert list(after.graph.node[0].input) == ["x", "w"]
    check_same(before, after)


def test_move_scalar_mul_past_conv_with_padding():
    model = build(
        [node("Mul", ["a", "x"], "t"), node("Conv", ["t", "w"], "y", pads=[1, 1, 1, 1], group=2)],
        {"x": [1, 4, 5, 5]},
        ["y"],
        {"w": rand(6, 2, 3, 3), "a": np.full((1, 1, 1, 1), -1.3, np.float32)},
    )
    before, after = run(model, MoveScalarMulPastConv())
    assert ops(after) == ["Conv", "Mul"]
    check_same(before, after)


def test_move_scalar_mul_skips_unsafe():
    conv_bias = build(
        [node("Mul", ["x", "a"], "t"), node("Conv", ["t", "w", "B"], "y")],
        {"x": [1, 4, 5, 5]},
        ["y"],
        {"w": rand(6, 4, 3, 3), "a": np.float32(2), "B": rand(6)},
    )
    assert_unchanged(conv_bias, MoveScalarMulPastConv())  # a (conv(x) + B) != conv(a x) + B
    per_channel = build(
        [node("Mul", ["x", "a"], "t"), node("MatMul", ["t", "w"], "y")],
        {"x": [3, 5]},
        ["y"],
        {"w": rand(5, 2), "a": rand(5)},
    )
    assert_unchanged(per_channel, MoveScalarMulPastMatMul())
    fan_out = build(
        [node("Mul", ["x", "a"], "t"), node("MatMul", ["t", "w"], "y")],
        {"x": [3, 5]},
        ["y", "t"],
        {"w": rand(5, 2), "a": np.float32(2)},
    )
    assert_unchanged(fan_out, MoveScalarMulPastMatMul())
    dynamic_w = build(
        [node("Mul", ["x", "a"], "t"), node("MatMul", ["t", "w"], "y")],
        {"x": [3, 5], "w": [5, 2]},
        ["y"],
        {"a": np.float32(2)},
    )
    assert_unchanged(dynamic_w, MoveScalarMulPastMatMul())


# ----------------------------------------------------------------- MoveMulPastMaxPool
def maxpool_model(a: np.ndarray, op: str = "MaxPool", **attrs: object) -> ModelWrapper:
    nodes = [node("Mul", ["x", "a"], "t"), node(op, ["t"], "y", **attrs)]
    return build(nodes, {"x": [2, 3, 6, 6]}, ["y"], {"a": a})


@pytest.mark.parametrize(
    ("a", "op", "attrs"),
    [
        (rand(1, 3, 1, 1, low=0.1, high=3.0), "MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
        (rand(3, 1, 1, low=0.1, high=3.0), "MaxPool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        (np.float32(0.3), "MaxPool", {"kernel_shape": [2, 2], "ceil_mode": 1, "strides": [2, 2]}),
        (rand(1, 3, 1, 1, low=0.1, high=3.0), "GlobalMaxPool", {}),
    ],
)
def test_move_mul_past_maxpool(a, op, attrs):
    model = maxpool_model(a, op, **attrs)
    model.set_tensor_datatype("x", "INT4")
    model.set_tensor_datatype("y", "INT8")
    before, after = run(model, MoveMulPastMaxPool())
    assert ops(after) == [op, "Mul"]
    assert after.get_tensor_datatype(after.graph.node[0].output[0]).name == "INT4"
    assert after.get_tensor_datatype("y").name == "INT8"
    check_same(before, after, exact=True)


@pytest.mark.parametrize(
    "a",
    [
        np.array([[[[1.0]], [[-2.0]], [[0.5]]]], np.float32),  # one negative factor
        np.array([[[[1.0]], [[0.0]], [[0.5]]]], np.float32),  # a zero factor
        np.float32(-1.0),
        rand(1, 1, 6, 6, low=0.5, high=1.0),  # positive but not per channel
    ],
)
def test_move_mul_past_maxpool_skips_non_positive_or_spatial(a):
    assert_unchanged(maxpool_model(a, kernel_shape=[2, 2]), MoveMulPastMaxPool())


# ----------------------------------------------------------------- MoveLinearPastTranspose
@pytest.mark.parametrize("op", ["Mul", "Add"])
@pytest.mark.parametrize(
    ("cshape", "perm"), [((1, 3, 1, 1), [0, 2, 3, 1]), ((3, 1, 1), [0, 2, 3, 1]), ((3, 1, 1), None)]
)
def test_move_linear_past_transpose(op, cshape, perm):
    c = rand(*cshape)
    attrs = {} if perm is None else {"perm": perm}
    model = build(
        [node(op, ["x", "c"], "t"), node("Transpose", ["t"], "y", **attrs)], {"x": [2, 3, 4, 5]}, ["y"], {"c": c}
    )
    model.set_tensor_datatype("x", "UINT4")
    before, after = run(model, MoveLinearPastTranspose())
    assert ops(after) == ["Transpose", op]
    padded = c.reshape((1,) * (4 - c.ndim) + c.shape)
    np.testing.assert_array_equal(const_of(after, after.graph.node[1]), np.transpose(padded, perm or [3, 2, 1, 0]))
    assert after.get_tensor_datatype(after.graph.node[0].output[0]).name == "UINT4"
    check_same(before, after, exact=True)


def test_move_linear_past_transpose_skips_broadcasting_and_fan_out():
    p = MoveLinearPastTranspose()
    grows = build(
        [node("Mul", ["x", "c"], "t"), node("Transpose", ["t"], "y", perm=[0, 2, 1])],
        {"x": [3, 4]},
        ["y"],
        {"c": rand(2, 3, 4)},
    )
    assert_unchanged(grows, p)
    fan_out = build(
        [node("Mul", ["x", "c"], "t"), node("Transpose", ["t"], "y", perm=[1, 0]), node("Neg", ["t"], "n")],
        {"x": [3, 4]},
        ["y", "n"],
        {"c": rand(4)},
    )
    assert_unchanged(fan_out, p)


# ----------------------------------------------------------------- MoveLinearPastEltwiseAdd
def eltwise_model(
    op: str, c0: np.ndarray, c1: np.ndarray, same_source: bool = False, extra: bool = False
) -> ModelWrapper:
    nodes = [
        node(op, ["x", "c0"], "t0"),
        node(op, ["c1", "x" if same_source else "z"], "t1"),
        node("Add", ["t0", "t1"], "y"),
    ]
    outputs = ["y"]
    if extra:
        nodes.append(node("Relu", ["t1"], "r"))
        outputs.append("r")
    inputs = {"x": [2, 3, 4, 4]} if same_source else {"x": [2, 3, 4, 4], "z": [2, 3, 4, 4]}
    return build(nodes, inputs, outputs, {"c0": c0, "c1": c1})


@pytest.mark.parametrize("same_source", [False, True])
def test_move_equal_muls_past_eltwise_add(same_source):
    c = rand(1, 3, 1, 1)
    model = eltwise_model("Mul", c, c.copy(), same_source)
    before, after = run(model, MoveLinearPastEltwiseAdd())
    assert ops(after) == ["Add", "Mul"]
    assert list(after.graph.node[0].input) == (["x", "x"] if same_source else ["x", "z"])
    np.testing.assert_array_equal(const_of(after, after.graph.node[1]), c)
    check_same(before, after)


def test_move_adds_past_eltwise_add():
    c0, c1 = rand(1, 3, 1, 1), rand(4)
    before, after = run(eltwise_model("Add", c0, c1), MoveLinearPastEltwiseAdd())
    assert ops(after) == ["Add", "Add"]
    np.testing.assert_allclose(const_of(after, after.graph.node[1]), c0 + c1, rtol=1e-6)
    check_same(before, after)


def test_move_linear_past_eltwise_add_skips_unsafe():
    p = MoveLinearPastEltwiseAdd()
    assert_unchanged(eltwise_model("Mul", rand(1, 3, 1, 1), rand(1, 3, 1, 1)), p)  # different factors
    c = rand(1, 3, 1, 1)
    assert_unchanged(eltwise_model("Mul", c, c.copy(), extra=True), p)  # t1 also read elsewhere
    mixed = build(
        [node("Mul", ["x", "c0"], "t0"), node("Add", ["z", "c1"], "t1"), node("Add", ["t0", "t1"], "y")],
        {"x": [3], "z": [3]},
        ["y"],
        {"c0": rand(3), "c1": rand(3)},
    )
    assert_unchanged(mixed, p)


# ----------------------------------------------------------------- CollapseRepeated*
@pytest.mark.parametrize(
    ("op", "p", "combine"), [("Add", CollapseRepeatedAdd, np.add), ("Mul", CollapseRepeatedMul, np.multiply)]
)
def test_collapse_repeated(op, p, combine):
    c1, c2, c3 = rand(1, 3, 1, 1), rand(1), rand(3, 1, 1)
    nodes = [
        node(op, ["x", "c1"], "t"),
        node(op, ["c2", "t"], "u"),
        node(op, ["u", "c3"], "y"),
        node("Relu", ["y"], "r"),
    ]
    model = build(nodes, {"x": [2, 3, 4, 4]}, ["r"], {"c1": c1, "c2": c2, "c3": c3})
    before, after = run(model, p())
    assert ops(after) == [op, "Relu"]
    assert after.graph.node[0].output[0] == "y"
    np.testing.assert_allclose(const_of(after, after.graph.node[0]), combine(combine(c1, c2), c3), rtol=1e-6)
    assert const_of(after, after.graph.node[0]).shape == (1, 3, 1, 1)
    check_same(before, after)


def test_collapse_repeated_shared_constant_and_integers():
    c = np.array([2.0, -3.0, 1.0], np.float32)
    nodes = [node("Mul", ["x", "c"], "t"), node("Mul", ["t", "c"], "y")]
    before, after = run(build(nodes, {"x": [4, 3]}, ["y"], {"c": c}), CollapseRepeatedMul())
    assert ops(after) == ["Mul"]
    np.testing.assert_array_equal(const_of(after, after.graph.node[0]), c * c)
    check_same(before, after, exact=True, integer=True)


def test_collapse_repeated_skips_unsafe():
    fan_out = build(
        [node("Add", ["x", "a"], "t"), node("Add", ["t", "b"], "y"), node("Neg", ["t"], "n")],
        {"x": [3]},
        ["y", "n"],
        {"a": rand(3), "b": rand(3)},
    )
    assert_unchanged(fan_out, CollapseRepeatedAdd())
    t_output = build(
        [node("Add", ["x", "a"], "t"), node("Add", ["t", "b"], "y")],
        {"x": [3]},
        ["y", "t"],
        {"a": rand(3), "b": rand(3)},
    )
    assert_unchanged(t_output, CollapseRepeatedAdd())
    mixed = build(
        [node("Add", ["x", "a"], "t"), node("Mul", ["t", "b"], "y")], {"x": [3]}, ["y"], {"a": rand(3), "b": rand(3)}
    )
    assert_unchanged(mixed, CollapseRepeatedAdd())
    assert_unchanged(mixed, CollapseRepeatedMul())


# ----------------------------------------------------------------- passes together
def test_passes_together_gather_linear_ops_after_matmul():
    nodes = [
        node("Mul", ["x", "a"], "t"),
        node("Reshape", ["t", "shp"], "u"),
        node("Add", ["u", "b"], "v"),
        node("MatMul", ["v", "w"], "m"),
        node("Mul", ["m", "s"], "n"),
        node("Add", ["n", "d"], "y"),
    ]
    inits = {
        "a": np.float32(-0.5),
        "shp": np.array([2, 12], I64),
        "b": np.float32(1.25),
        "w": rand(12, 5),
        "s": rand(5),
        "d": rand(5),
    }
    model = build(nodes, {"x": [2, 3, 4]}, ["y"], inits)
    before = model.copy()
    passes = [
        MoveScalarLinearPastInvariants(),
        MoveAddPastMul(),
        MoveScalarAddPastMatMul(),
        MoveScalarMulPastMatMul(),
        CollapseRepeatedAdd(),
        CollapseRepeatedMul(),
    ]
    for _ in range(5):
        snapshot = model.serialize()
        for p in passes:
            model = model.transform(p)
        if model.serialize() == snapshot:
            break
    assert ops(model) == ["Reshape", "MatMul", "Mul", "Add"]
    check_same(before, model)
    for backend in ("fast", "reference"):
        x = feeds(before, 7)
        np.testing.assert_allclose(
            qnncc.execute(model, x, backend=backend)["y"],
            qnncc.execute(before, x, backend=backend)["y"],
            rtol=1e-5,
            atol=1e-6,
        )
