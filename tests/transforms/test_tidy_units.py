"""Tidy passes on small hand-built graphs: each pass does its job and keeps the semantics."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import (
    FoldConstants,
    GiveReadableTensorNames,
    GiveUniqueNodeNames,
    InferDataTypes,
    InferShapes,
    RemoveIdentityOps,
    RemoveStaticGraphInputs,
    RemoveUnusedTensors,
    SortGraph,
    Tidy,
    tidy_passes,
)

import qnncc
from qnncc import ModelWrapper
from qnncc.core.errors import GraphError

F = TensorProto.FLOAT
FINN = "qonnx.custom_op.general"


def vi(name: str, shape: list[int], elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def build(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    inits: dict[str, np.ndarray] | None = None,
    ir: int = 8,
    static_inputs: bool = False,
    opset: int = 13,
) -> ModelWrapper:
    """A model; ``static_inputs`` also lists every initializer as a graph input (old IR style)."""
    inits = inits or {}
    tensors = [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()]
    if static_inputs:
        inputs = inputs + [
            vi(k, list(np.shape(v)), helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype)) for k, v in inits.items()
        ]
    graph = helper.make_graph(nodes, "g", inputs, outputs, tensors)
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(FINN, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = ir
    return ModelWrapper(model)


def feeds(model: ModelWrapper, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name in model.graph_input_names():
        shape = model.get_tensor_shape(name)
        assert shape is not None
        out[name] = rng.normal(0, 3, size=shape).astype(np.float32)
    return out


def run(model: ModelWrapper, inputs: dict[str, np.ndarray], backend: str = "fast") -> list[np.ndarray]:
    positional = dict(zip(model.graph_input_names(), inputs.values(), strict=True))
    outs = qnncc.execute(model, positional, backend=backend)
    return [outs[n] for n in model.graph_output_names()]


def assert_same_function(before: ModelWrapper, after: ModelWrapper, seeds: int = 3) -> None:
    """Bit-identical outputs on random inputs, on both back ends."""
    after.check()
    for seed in range(seeds):
        x = feeds(before, seed)
        for backend in ("fast", "reference"):
            for b, a in zip(run(before, x, backend), run(after, x, backend), strict=True):
                assert a.dtype == b.dtype and a.shape == b.shape
                assert a.tobytes() == b.tobytes()


def mlp() -> ModelWrapper:
    rng = np.random.default_rng(3)
    w1 = rng.normal(size=(4, 5)).astype(np.float32)
    w2 = rng.normal(size=(5, 3)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"], name="act"),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name=""),
    ]
    return build(nodes, [vi("x", [1, 4])], [vi("y", [1, 3])], {"w1": w1, "w2": w2})


# ----------------------------------------------------------------- naming
def test_give_unique_node_names():
    model = mlp()
    model, changed = GiveUniqueNodeNames().apply(model)
    assert [n.name for n in model.graph.node] == ["MatMul_0", "Relu_0", "MatMul_1"]
    assert changed is False
    model = model.transform(GiveUniqueNodeNames(prefix="L_"))
    assert [n.name for n in model.graph.node] == ["L_MatMul_0", "L_Relu_0", "L_MatMul_1"]


def test_give_readable_tensor_names_follows_finn_convention():
    before = mlp().transform(InferShapes())
    model = before.copy().transform(GiveUniqueNodeNames())
    model.set_tensor_datatype("r", "UINT4")
    model = model.transform(GiveReadableTensorNames())
    assert [(list(n.input), list(n.output)) for n in model.graph.node] == [
        (["global_in", "MatMul_0_param0"], ["MatMul_0_out0"]),
        (["MatMul_0_out0"], ["Relu_0_out0"]),
        (["Relu_0_out0", "MatMul_1_param0"], ["global_out"]),
    ]
    assert model.get_tensor_datatype("Relu_0_out0").name == "UINT4"  # annotations follow
    assert model.get_tensor_shape("Relu_0_out0") == [1, 5]  # value infos follow
    assert_same_function(before, model)
    again = model.copy().transform(GiveReadableTensorNames())
    assert again.serialize() == model.serialize()  # idempotent


def test_give_readable_tensor_names_several_inputs_and_outputs():
    nodes = [
        helper.make_node("Add", ["p", "q"], ["s"], name="Add_0"),
        helper.make_node("Neg", ["s"], ["n"], name="Neg_0"),
    ]
    model = build(nodes, [vi("p", [2]), vi("q", [2])], [vi("n", [2]), vi("s", [2])])
    before = model.copy()
    model = model.transform(GiveReadableTensorNames())
    assert model.graph_input_names() == ["global_in", "global_in_1"]
    assert model.graph_output_names() == ["global_out", "global_out_1"]
    assert list(model.graph.node[1].input) == ["global_out_1"]
    assert_same_function(before, model)


def test_give_readable_tensor_names_never_collides():
    # Current names are the targets of other tensors (swaps), and a stale unused
    # initializer and a stale value info hold names about to be given away.
    rng = np.random.default_rng(0)
    w, c, stale = (rng.normal(size=(3,)).astype(np.float32) for _ in range(3))
    nodes = [
        helper.make_node("Relu", ["x"], ["B_out0"], name="A"),
        helper.make_node("Mul", ["B_out0", "C_param0"], ["A_out0"], name="B"),
        helper.make_node("Add", ["A_out0", "B_param0"], ["y"], name="C"),
    ]
    model = build(nodes, [vi("x", [3])], [vi("y", [3])], {"C_param0": w, "B_param0": c, "global_in": stale})
    model.graph.value_info.append(vi("global_out", [7, 7]))
    before = model.copy()
    model = model.transform(GiveReadableTensorNames())
    assert [list(n.output) for n in model.graph.node] == [["A_out0"], ["B_out0"], ["global_out"]]
    np.testing.assert_array_equal(model.get_initializer("B_param0"), w)
    np.testing.assert_array_equal(model.get_initializer("C_param0"), c)
    moved = [i.name for i in model.graph.initializer if i.name not in ("B_param0", "C_param0")]
    assert len(moved) == 1 and moved[0] != "global_in"
    np.testing.assert_array_equal(model.get_initializer(moved[0]), stale)
    assert model.graph_input_names() == ["global_in"]
    assert "global_out" not in {v.name for v in model.graph.value_info}  # the stale [7, 7] info moved away
    assert_same_function(before, model)


@pytest.mark.parametrize("names", [["a", "a", "b"], ["a", "", "b"]])
def test_give_readable_tensor_names_needs_unique_node_names(names):
    model = mlp()
    for node, name in zip(model.graph.node, names, strict=True):
        node.name = name
    with pytest.raises(GraphError, match="GiveUniqueNodeNames") as err:
        model.transform(GiveReadableTensorNames())
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------- static inputs
@pytest.mark.parametrize("ir", [3, 8])
def test_remove_static_graph_inputs(ir):
    c = np.arange(6, dtype=np.float32).reshape(2, 3)
    nodes = [helper.make_node("Add", ["x", "c"], ["y"], name="Add_0")]
    model = build(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], {"c": c}, ir=ir, static_inputs=True, opset=8)
    before = model.copy()
    assert [v.name for v in model.graph.input] == ["x", "c"]
    model, changed = RemoveStaticGraphInputs().apply(model)
    assert changed
    assert [v.name for v in model.graph.input] == ["x"]
    assert model.model.ir_version == max(ir, 4)
    onnx.checker.check_model(model.model)
    np.testing.assert_array_equal(model.get_initializer("c"), c)
    assert_same_function(before, model)
    assert RemoveStaticGraphInputs().apply(model)[1] is False


# ----------------------------------------------------------------- identity ops
def _sandwich(node: onnx.NodeProto, inits: dict[str, np.ndarray], shape: list[int]) -> ModelWrapper:
    """x -> Relu -> r -> node(r, ...) -> t -> Neg -> out."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="Relu_0"), node, helper.make_node("Neg", ["t"], ["out"])]
    return build(nodes, [vi("x", shape)], [helper.make_empty_tensor_value_info("out")], inits).transform(InferShapes())


ONES3 = np.ones(3, np.float32)
ZEROS = np.zeros((1, 1, 3), np.float32)
IDENTITIES = {
    "Identity": (helper.make_node("Identity", ["r"], ["t"]), {}),
    "Mul ones": (helper.make_node("Mul", ["r", "c"], ["t"]), {"c": ONES3}),
    "Mul ones (const first)": (helper.make_node("Mul", ["c", "r"], ["t"]), {"c": ONES3}),
    "Add zeros (const first)": (helper.make_node("Add", ["c", "r"], ["t"]), {"c": ZEROS}),
    "Sub zero": (helper.make_node("Sub", ["r", "c"], ["t"]), {"c": np.float32(0)}),
    "Div one": (helper.make_node("Div", ["r", "c"], ["t"]), {"c": np.float32(1)}),
    "Reshape same": (helper.make_node("Reshape", ["r", "s"], ["t"]), {"s": np.array([1, 4, 3])}),
    "Reshape 0,-1": (helper.make_node("Reshape", ["r", "s"], ["t"]), {"s": np.array([0, -1, 3])}),
    "Transpose id": (helper.make_node("Transpose", ["r"], ["t"], perm=[0, 1, 2]), {}),
    "Dropout": (helper.make_node("Dropout", ["r"], ["t"]), {}),
    "Dropout unused mask": (helper.make_node("Dropout", ["r"], ["t", "mask"]), {}),
    "Cast same": (helper.make_node("Cast", ["r"], ["t"], to=F), {}),
    "Pad zeros": (helper.make_node("Pad", ["r", "p"], ["t"]), {"p": np.zeros(6, np.int64)}),
    "Expand same": (helper.make_node("Expand", ["r", "s"], ["t"]), {"s": np.array([1, 1, 3])}),
    "Tile ones": (helper.make_node("Tile", ["r", "s"], ["t"]), {"s": np.array([1, 1, 1])}),
    "Concat single": (helper.make_node("Concat", ["r"], ["t"], axis=0), {}),
}
NON_IDENTITIES = {
    "Add broadcasts": (helper.make_node("Add", ["r", "c"], ["t"]), {"c": np.zeros((2, 4, 3), np.float32)}),
    "zero minus x": (helper.make_node("Sub", ["c", "r"], ["t"]), {"c": np.float32(0)}),
    "one over x": (helper.make_node("Div", ["c", "r"], ["t"]), {"c": np.float32(1)}),
    "Mul almost one": (helper.make_node("Mul", ["r", "c"], ["t"]), {"c": np.float32([1, 1, 1.0000001])}),
    "Add almost zero": (helper.make_node("Add", ["r", "c"], ["t"]), {"c": np.float32(1e-30)}),
    "Transpose": (helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]), {}),
    "Reshape": (helper.make_node("Reshape", ["r", "s"], ["t"]), {"s": np.array([1, 12])}),
    "Tile": (helper.make_node("Tile", ["r", "s"], ["t"]), {"s": np.array([1, 2, 1])}),
    "Pad": (helper.make_node("Pad", ["r", "p"], ["t"]), {"p": np.array([0, 0, 1, 0, 0, 0])}),
    "Cast": (helper.make_node("Cast", ["r"], ["t"], to=TensorProto.FLOAT16), {}),
    # ONNX shape inference calls this a no-op, onnxruntime squeezes the leading 1
    "Squeeze empty axes": (helper.make_node("Squeeze", ["r", "s"], ["t"]), {"s": np.array([], np.int64)}),
}


@pytest.mark.parametrize("case", sorted(IDENTITIES))
def test_remove_identity_ops_removes(case):
    node, inits = IDENTITIES[case]
    before = _sandwich(node, inits, [1, 4, 3])
    model, changed = RemoveIdentityOps().apply(before.copy())
    assert changed
    assert [n.op_type for n in model.graph.node] == ["Relu", "Neg"]
    assert list(model.graph.node[1].input) == ["r"]
    assert "t" not in {v.name for v in model.graph.value_info}
    assert_same_function(before, model)
    assert RemoveIdentityOps().apply(model)[1] is False


@pytest.mark.parametrize("case", sorted(NON_IDENTITIES))
def test_remove_identity_ops_keeps(case):
    node, inits = NON_IDENTITIES[case]
    before = _sandwich(node, inits, [1, 4, 3])
    model, changed = RemoveIdentityOps().apply(before.copy())
    assert not changed and len(model.graph.node) == 3


def test_remove_identity_ops_keeps_dropout_with_used_mask_and_unknown_shapes():
    nodes = [
        helper.make_node("Dropout", ["x"], ["t", "mask"]),
        helper.make_node("Neg", ["t"], ["y"]),
        helper.make_node("Not", ["mask"], ["m"]),
        helper.make_node("Add", ["y", "zero"], ["z"]),  # shape of y unknown: kept
    ]
    outs = [vi("z", [2]), vi("m", [2], TensorProto.BOOL)]
    model = build(nodes, [vi("x", [2])], outs, {"zero": np.zeros(2, np.float32)})
    assert RemoveIdentityOps().apply(model)[1] is False


def test_remove_identity_ops_rewires_graph_outputs():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="Relu_0"),
        helper.make_node("Neg", ["r"], ["n"], name="Neg_0"),
        helper.make_node("Identity", ["r"], ["out"], name="Identity_0"),
        helper.make_node("Mul", ["n", "one"], ["out2"], name="Mul_0"),
    ]
    before = build(nodes, [vi("x", [3])], [vi("out", [3]), vi("out2", [3])], {"one": ONES3})
    before = before.transform(InferShapes())
    before.set_tensor_datatype("r", "UINT8")
    model = before.copy().transform(RemoveIdentityOps())
    assert [(n.name, list(n.input), list(n.output)) for n in model.graph.node] == [
        ("Relu_0", ["x"], ["out"]),
        ("Neg_0", ["out"], ["out2"]),
    ]
    assert model.get_tensor_datatype("out").name == "UINT8"  # the output inherits the annotation
    assert "r" not in {q.tensor_name for q in model.graph.quantization_annotation}
    assert_same_function(before, model)


@pytest.mark.parametrize("source", ["x", "c", "r"])
def test_remove_identity_ops_keeps_identity_that_cannot_be_bypassed(source):
    # graph input -> output, initializer -> output, graph output -> graph output
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", [source], ["out"])]
    model = build(nodes, [vi("x", [3])], [vi("r", [3]), vi("out", [3])], {"c": ONES3})
    assert RemoveIdentityOps().apply(model)[1] is False


# ----------------------------------------------------------------- unused tensors
def test_remove_unused_tensors():
    nodes = [
        helper.make_node("Add", ["x", "b"], ["y"]),
        helper.make_node("Neg", ["x"], ["dead1"]),
        helper.make_node("Mul", ["dead1", "w"], ["dead2"]),
    ]
    inits = {"b": ONES3, "w": ONES3, "unused": ONES3, "static": ONES3}
    model = build(nodes, [vi("x", [3]), vi("spare", [3])], [vi("y", [3])], inits, ir=3, static_inputs=True)
    model.graph.value_info.extend([vi("dead2", [3]), vi("ghost", [3])])
    for name in ("y", "dead2", "ghost", "b"):
        model.set_tensor_datatype(name, "INT8")
    before = model.copy()
    model, changed = RemoveUnusedTensors().apply(model)
    assert changed
    assert [n.op_type for n in model.graph.node] == ["Add"]
    assert [i.name for i in model.graph.initializer] == ["b"]
    assert [v.name for v in model.graph.input] == ["x", "spare", "b"]  # real inputs stay, even unused
    assert list(model.graph.value_info) == []
    assert {q.tensor_name for q in model.graph.quantization_annotation} == {"y", "b"}
    assert_same_function(before, model, seeds=1)
    assert RemoveUnusedTensors().apply(model)[1] is False


# ----------------------------------------------------------------- fold constants
def test_fold_constants_folds_a_constant_subgraph():
    rng = np.random.default_rng(0)
    c1, c2, c3 = (rng.normal(size=(3,)).astype(np.float32) for _ in range(3))
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([3, 1]))),
        helper.make_node("Mul", ["c2", "c3"], ["p"]),
        helper.make_node("Add", ["c1", "p"], ["s"]),
        helper.make_node("Mul", ["x", "s"], ["y"]),
        helper.make_node("Reshape", ["y", "shape"], ["z"]),
    ]
    before = build(nodes, [vi("x", [3])], [vi("z", [3, 1])], {"c1": c1, "c2": c2, "c3": c3})
    model, changed = FoldConstants().apply(before.copy())
    assert changed
    assert [n.op_type for n in model.graph.node] == ["Mul", "Reshape"]
    np.testing.assert_array_equal(model.get_initializer("s"), c1 + c2 * c3)
    np.testing.assert_array_equal(model.get_initializer("shape"), [3, 1])
    assert model.get_initializer("p") is None  # only used inside the folded subgraph
    assert_same_function(before, model)
    assert FoldConstants().apply(model)[1] is False


def test_fold_constants_keeps_constant_graph_outputs_produced():
    nodes = [
        helper.make_node("Add", ["c1", "c2"], ["k"]),
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Mul", ["r", "k"], ["y"]),
    ]
    before = build(nodes, [vi("x", [3])], [vi("k", [3]), vi("y", [3])], {"c1": ONES3, "c2": 2 * ONES3})
    before.set_tensor_datatype("k", "UINT2")
    model = before.copy().transform(FoldConstants())
    first = model.graph.node[0]
    assert first.op_type == "Identity" and list(first.output) == ["k"]
    np.testing.assert_array_equal(model.get_initializer(first.input[0]), 3 * ONES3)
    assert model.get_tensor_datatype(first.input[0]).name == "UINT2"
    assert model.get_tensor_datatype("k").name == "UINT2"
    assert_same_function(before, model)
    assert FoldConstants().apply(model)[1] is False
    tidy = model.copy().transform(Tidy())
    assert tidy.graph.node[0].op_type == "Identity"  # survives the whole tidy pipeline
    assert_same_function(before, tidy)


def test_fold_constants_static_shapes():
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Shape", ["x"], ["s1"], start=-1),
        helper.make_node("Reshape", ["t", "s"], ["y"]),
        helper.make_node("ConstantOfShape", ["s1"], ["k"]),
    ]
    before = build(nodes, [vi("x", [2, 6])], [vi("y", [2, 6]), vi("k", [6])], opset=15).transform(InferShapes())
    model = before.copy().transform(FoldConstants())
    assert [n.op_type for n in model.graph.node] == ["Transpose", "Reshape", "Identity"]
    np.testing.assert_array_equal(model.get_initializer("s"), [2, 6])
    np.testing.assert_array_equal(model.get_initializer(model.graph.node[2].input[0]), np.zeros(6))
    assert_same_function(before, model)
    kept = before.copy().transform(FoldConstants(fold_shapes=False))
    assert [n.op_type for n in kept.graph.node].count("Shape") == 2


def test_fold_constants_custom_ops():
    w = np.array([[-0.5, 0.25], [2.0, -3.0]], np.float32)
    nodes = [
        helper.make_node("BipolarQuant", ["w", "scale"], ["wq"], domain=FINN),
        helper.make_node("MultiThreshold", ["w", "thr"], ["wt"], domain=FINN, out_dtype="UINT2"),
        helper.make_node("Mul", ["x", "wq"], ["a"]),
        helper.make_node("Mul", ["x", "wt"], ["b"]),
    ]
    inits = {"w": w, "scale": np.float32(1), "thr": np.array([[-1.0, 0.0, 1.0]], np.float32)}
    before = build(nodes, [vi("x", [1, 2])], [vi("a", [2, 2]), vi("b", [2, 2])], inits).transform(InferShapes())
    # The fast path's lowering only knows ranks of graph inputs and value infos, not of initializers.
    before.graph.input.append(vi("w", [2, 2]))
    model = before.copy().transform(FoldConstants())
    assert [n.op_type for n in model.graph.node] == ["BipolarQuant", "Mul", "Mul"]  # Quant kept (QONNX)
    np.testing.assert_array_equal(model.get_initializer("wt"), [[1, 2], [3, 0]])
    assert_same_function(before, model)
    everything = before.copy().transform(FoldConstants(exclude_op_types=()))
    assert [n.op_type for n in everything.graph.node] == ["Mul", "Mul"]
    np.testing.assert_array_equal(everything.get_initializer("wq"), [[-1, 1], [1, -1]])
    assert_same_function(before, everything)


def test_fold_constants_skips_random_ops_and_keeps_old_ir_valid():
    nodes = [
        helper.make_node("RandomNormal", [], ["n"], shape=[3]),
        helper.make_node("Neg", ["c"], ["nc"]),
        helper.make_node("Add", ["n", "nc"], ["y"]),
        helper.make_node("Add", ["y", "x"], ["z"]),
    ]
    model = build(nodes, [vi("x", [3])], [vi("z", [3])], {"c": ONES3}, ir=3, static_inputs=True, opset=8)
    model = model.transform(FoldConstants())
    assert [n.op_type for n in model.graph.node] == ["RandomNormal", "Add", "Add"]
    assert "nc" in {v.name for v in model.graph.input}  # IR 3: every initializer is an input
    onnx.checker.check_model(model.model)


# ----------------------------------------------------------------- sort
def test_sort_graph_sorts_and_is_idempotent():
    before = mlp()
    model = before.copy()
    nodes = [onnx.NodeProto() for _ in model.graph.node]
    for dst, src in zip(nodes, reversed(model.graph.node), strict=True):
        dst.CopyFrom(src)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Relu", "MatMul"][::-1]
    model = model.transform(SortGraph())
    assert [list(n.output) for n in model.graph.node] == [["h"], ["r"], ["y"]]
    assert_same_function(before, model)
    snapshot = model.serialize()
    assert model.transform(SortGraph()).serialize() == snapshot


def test_sort_graph_rejects_a_cycle_in_one_line():
    nodes = [
        helper.make_node("Add", ["x", "d"], ["a"], name="A"),
        helper.make_node("Relu", ["a"], ["b"], name="B"),
        helper.make_node("Neg", ["b"], ["d"], name="C"),
    ]
    model = build(nodes, [vi("x", [3])], [vi("b", [3])])
    with pytest.raises(GraphError, match="cycle") as err:
        model.transform(SortGraph())
    message = str(err.value)
    assert "\n" not in message and all(name in message for name in "ABC")


# ----------------------------------------------------------------- datatypes
def _typed(nodes, inputs, outputs, inits=None, dtypes=None) -> ModelWrapper:
    model = build(nodes, inputs, outputs, inits).transform(InferShapes())
    for name, dt in (dtypes or {}).items():
        model.set_tensor_datatype(name, dt)
    return model


def test_infer_datatypes_accumulators():
    w = np.array([[1, -3], [2, 0], [-1, 2]], np.float32)  # int weights, K=3
    nodes = [
        helper.make_node("MatMul", ["p", "q"], ["pq"]),  # BIPOLAR x BIPOLAR, K=5: [-5, 5]
        helper.make_node("MatMul", ["u", "w"], ["uw"]),  # UINT8 x w: per column [-255, 765], [-765, 510]
        helper.make_node("MatMul", ["u", "wf"], ["uf"]),  # non-integer weights
        helper.make_node("MatMul", ["big", "wbig"], ["ub"]),  # sums beyond 2**24
        helper.make_node("Gemm", ["bin", "wlim", "blim"], ["gl"]),  # [16, 2**24]: still exact
        helper.make_node("Gemm", ["bin", "wover", "bover"], ["go"]),  # ends in range, but 2**24 + 2 on the way
        helper.make_node("Add", ["p4", "p4"], ["s"]),  # UINT4 + UINT4
        helper.make_node("Sub", ["p4", "p4"], ["d"]),
        helper.make_node("Mul", ["p", "p"], ["pp"]),  # BIPOLAR x BIPOLAR
        helper.make_node("Mul", ["p4", "half"], ["h"]),
        helper.make_node("Mul", ["u", "k"], ["uk"]),  # UINT8 * 65793 = up to 2**24 - 1: exact
        helper.make_node("Mul", ["u", "k1"], ["uk1"]),  # UINT8 * 65794 > 2**24: FLOAT32
    ]
    inits = {
        "w": w,
        "wf": w * 0.5,
        "wbig": np.full((300, 1), 1000, np.float32),
        "half": np.float32(0.5),
        "wlim": np.float32([[2**24 - 16]]),
        "blim": np.float32([16]),
        "wover": np.float32([[2**24 + 2]]),
        "bover": np.float32([-10]),
        "k": np.float32(65793),
        "k1": np.float32(65794),
    }
    inputs = [vi("p", [1, 5]), vi("q", [5, 2]), vi("u", [1, 3]), vi("big", [1, 300]), vi("p4", [2]), vi("bin", [1, 1])]
    names = ("pq", "uw", "uf", "ub", "gl", "go", "s", "d", "pp", "h", "uk", "uk1")
    dtypes = {"p": "BIPOLAR", "q": "BIPOLAR", "u": "UINT8", "big": "UINT16", "p4": "UINT4", "bin": "BINARY"}
    model, changed = InferDataTypes().apply(_typed(nodes, inputs, [vi(n, None) for n in names], inits, dtypes))
    assert changed
    got = {n: model.get_tensor_datatype(n).name for n in names}
    assert got == {
        "pq": "INT4",
        "uw": "INT11",
        "uf": "FLOAT32",
        "ub": "FLOAT32",
        "gl": "UINT25",
        "go": "FLOAT32",
        "s": "UINT5",
        "d": "INT5",
        "pp": "BIPOLAR",
        "h": "FLOAT32",
        "uk": "UINT24",
        "uk1": "FLOAT32",
    }
    assert model.get_tensor_datatype("u").name == "UINT8"  # graph inputs keep their annotation
    assert InferDataTypes().apply(model)[1] is False


def test_infer_datatypes_passthrough_union_sign_and_unknown_ops():
    nodes = [
        helper.make_node("Reshape", ["i4", "shape"], ["re"]),
        helper.make_node("Concat", ["bp", "bp"], ["cc"], axis=0),
        helper.make_node("Concat", ["bp", "u2"], ["cu"], axis=0),
        helper.make_node("Sign", ["f"], ["sf"]),
        helper.make_node("Sign", ["u2"], ["su"]),
        helper.make_node("Sign", ["f"], ["sb"]),  # annotated BIPOLAR by the exporter (Brevitas/FINN)
        helper.make_node("Relu", ["i4"], ["ri"]),
        helper.make_node("Sigmoid", ["i4"], ["sg"]),
        helper.make_node("MaxPool", ["img"], ["mp"], kernel_shape=[2, 2]),
    ]
    inputs = [vi("i4", [2, 2]), vi("bp", [4]), vi("u2", [4]), vi("f", [4]), vi("img", [1, 1, 4, 4])]
    names = ("re", "cc", "cu", "sf", "su", "sb", "ri", "sg", "mp")
    dtypes = {"i4": "INT4", "bp": "BIPOLAR", "u2": "UINT2", "img": "UINT4", "sg": "INT8", "sb": "BIPOLAR"}
    model = _typed(nodes, inputs, [vi(n, None) for n in names], {"shape": np.array([4])}, dtypes)
    model = model.transform(InferDataTypes())
    got = {n: model.get_tensor_datatype(n).name for n in names}
    assert got == {
        "re": "INT4",
        "cc": "BIPOLAR",
        "cu": "INT3",
        "sf": "TERNARY",
        "su": "BINARY",
        "sb": "BIPOLAR",
        "ri": "UINT3",
        "sg": "FLOAT32",  # a stale integer annotation of an unknown op is reset
        "mp": "UINT4",
    }
    assert model.get_tensor_datatype("f").name == "FLOAT32"
    assert "f" not in {q.tensor_name for q in model.graph.quantization_annotation}  # inputs never annotated


def test_inferred_datatypes_are_sound_at_the_extremes():
    rng = np.random.default_rng(0)
    wc = rng.integers(-3, 4, size=(4, 1, 3, 3)).astype(np.float32)
    bc = rng.integers(-5, 6, size=(4,)).astype(np.float32)
    wg = rng.integers(-2, 3, size=(16, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "wc", "bc"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["m"], kernel_shape=[3, 3], strides=[3, 3]),
        helper.make_node("Flatten", ["m"], ["fl"]),
        helper.make_node("Gemm", ["fl", "wg", "bg"], ["g"]),
        helper.make_node("Sub", ["g", "off"], ["s"]),
        helper.make_node("Clip", ["s", "lo", "hi"], ["cl"]),
        helper.make_node("Mul", ["cl", "two"], ["y"]),
    ]
    inits = {
        "wc": wc,
        "bc": bc,
        "wg": wg,
        "bg": np.arange(5, dtype=np.float32) - 2,
        "off": np.float32(3),
        "lo": np.float32(-100),
        "hi": np.float32(100),
        "two": np.float32(-2),
    }
    model = _typed(nodes, [vi("x", [1, 1, 6, 6])], [vi("y", None)], inits, {"x": "INT3"})
    model = model.transform(InferDataTypes())
    annotated = {q.tensor_name: model.get_tensor_datatype(q.tensor_name) for q in model.graph.quantization_annotation}
    assert all(annotated[n].is_integer() for n in ("c", "r", "m", "fl", "g", "s", "cl", "y"))
    worst = [np.full((1, 1, 6, 6), v, np.float32) for v in (-4, 3)]
    signs = [np.where(np.sign(wc[k, 0]) > 0, 3, -4).astype(np.float32) for k in range(4)]
    samples = worst + [np.tile(s, (2, 2))[None, None] for s in signs]
    samples += [rng.integers(-4, 4, size=(1, 1, 6, 6)).astype(np.float32) for _ in range(20)]
    for x in samples:
        values = qnncc.execute(model, {"x": x}, backend="reference", return_all=True)
        for name, dt in annotated.items():
            assert np.all(dt.allowed(values.get(name, model.get_initializer(name)))), (name, dt)


# ----------------------------------------------------------------- subgraphs
def test_tidy_respects_tensors_read_by_subgraphs():
    then_branch = helper.make_graph(
        [helper.make_node("Add", ["t", "c"], ["then_out"])], "then", [], [vi("then_out", [3])]
    )
    else_branch = helper.make_graph([helper.make_node("Neg", ["t"], ["else_out"])], "else", [], [vi("else_out", [3])])
    nodes = [
        helper.make_node("Identity", ["x"], ["t"]),  # read only inside the branches
        helper.make_node("Greater", ["s", "zero"], ["cond"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch),
    ]
    inits = {"c": ONES3, "zero": np.float32(0)}
    before = build(nodes, [vi("x", [3]), vi("s", [])], [vi("y", [3])], inits).transform(InferShapes())
    model = before.copy().transform(Tidy())
    assert [n.op_type for n in model.graph.node] == ["Identity", "Greater", "If"]
    assert list(model.graph.node[0].output) == ["t"] and model.get_initializer("c") is not None
    for sign in (1.0, -1.0):
        x = {"x": np.arange(3, dtype=np.float32), "s": np.float32(sign)}
        # fast path only: the reference executor cannot feed outer-scope tensors to a subgraph
        assert run(model, x)[0].tobytes() == run(before, x)[0].tobytes()


# ----------------------------------------------------------------- tidy
def test_tidy_passes_order_and_fresh_instances():
    names = [p.name for p in tidy_passes()]
    assert names == [
        "InferShapes",
        "FoldConstants",
        "RemoveIdentityOps",
        "RemoveStaticGraphInputs",
        "RemoveUnusedTensors",
        "GiveUniqueNodeNames",
        "GiveReadableTensorNames",
        "InferDataTypes",
        "SortGraph",
    ]
    first, second = tidy_passes(), tidy_passes()
    assert first is not second and all(a is not b for a, b in zip(first, second, strict=True))


def test_tidy_cleans_a_messy_graph():
    rng = np.random.default_rng(5)
    w = np.sign(rng.normal(size=(8, 4))).astype(np.float32)
    nodes = [
        helper.make_node("Add", ["half", "half"], ["one"]),  # constant subgraph
        helper.make_node("Identity", ["x"], ["xi"]),
        helper.make_node("Sign", ["xi"], ["sx"]),
        helper.make_node("Neg", ["x"], ["dead"]),
        helper.make_node("MatMul", ["sx", "w"], ["mm"], name="Sign_0"),  # misleading name
        helper.make_node("Mul", ["mm", "one"], ["y"], name="scale"),
    ]
    inits = {"w": w, "half": np.float32(0.5), "unused": ONES3}
    args = ([vi("x", [1, 8])], [vi("y", [1, 4])], inits)
    before = build(nodes, *args, ir=3, static_inputs=True, opset=9)
    messy = build([nodes[i] for i in (5, 4, 2, 1, 3, 0)], *args, ir=3, static_inputs=True, opset=9)
    model = messy.transform(Tidy())
    assert [(n.name, list(n.input), list(n.output)) for n in model.graph.node] == [
        ("Sign_0", ["global_in"], ["Sign_0_out0"]),
        ("MatMul_0", ["Sign_0_out0", "MatMul_0_param0"], ["global_out"]),
    ]
    assert [v.name for v in model.graph.input] == ["global_in"]
    assert [i.name for i in model.graph.initializer] == ["MatMul_0_param0"]
    assert model.get_tensor_datatype("Sign_0_out0").name == "TERNARY"
    assert model.get_tensor_datatype("global_out").name == "INT5"  # 8 ternary x {-1, 1} terms: [-8, 8]
    assert model.model.ir_version == 4
    assert_same_function(before, model)
    assert model.copy().transform(Tidy()).serialize() == model.serialize()
