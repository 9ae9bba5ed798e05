"""Passes for residual CNNs on hand-built graphs: forks, shared-scale joins, NHWC joins, reshapes, partitions.

Each pass fires on its pattern, computes the same function as before on
random (and, for the integer joins, exhaustive) inputs, bit for bit where it
claims so, and leaves unsafe matches alone.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferShapes
from qnncc.transforms.hw import CreateDataflowPartition, explain_software_nodes
from qnncc.transforms.lower import (
    CollapseConsecutiveReshapes,
    ConvertToNHWC,
    MergeParallelTransposes,
    MoveTransposeBeforeMultiThreshold,
    MoveTransposePastJoinAdd,
)
from qnncc.transforms.streamline import (
    AbsorbMulIntoMultiThreshold,
    AbsorbNegativeScaleIntoWeights,
    MoveLinearPastFork,
    MoveSharedScalePastAdd,
)
from qnncc.transforms.streamline.residual import shared_scale_add_exactness

import qnncc
from qnncc import DataType, ModelWrapper, Transformation
from qnncc.hw.layers import HW_DOMAIN

F = TensorProto.FLOAT
FINN = "qonnx.custom_op.general"
NCHW_TO_NHWC = [0, 2, 3, 1]
NHWC_TO_NCHW = [0, 3, 1, 2]


def build(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, list[int]],
    outputs: list[str],
    inits: dict[str, np.ndarray],
    datatypes: dict[str, str] | None = None,
) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, F, v) for k, v in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(FINN, 1)]
    model = ModelWrapper(helper.make_model(graph, opset_imports=opsets))
    model.model.ir_version = 8
    for name, dt in (datatypes or {}).items():
        model.set_tensor_datatype(name, DataType[dt])
    return model.transform(InferShapes())


def node(op: str, inputs: list[str], output: str, **attrs: object) -> onnx.NodeProto:
    domain = FINN if op == "MultiThreshold" else ""
    return helper.make_node(op, inputs, [output], name=f"{op}_{output}", domain=domain, **attrs)


def ops(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in model.graph.node]


def run(model: ModelWrapper, p: Transformation) -> tuple[ModelWrapper, ModelWrapper]:
    before = model.copy()
    return before, model.transform(p)


def assert_unchanged(model: ModelWrapper, p: Transformation) -> None:
    before = model.serialize()
    _, changed = p.apply(model)
    assert changed is False
    assert model.serialize() == before


def check_same(before: ModelWrapper, after: ModelWrapper, feeds: list[dict[str, np.ndarray]], exact: bool) -> None:
    after.check()
    for x in feeds:
        ref, out = qnncc.execute(before, x), qnncc.execute(after, x)
        for name in before.graph_output_names():
            if exact:
                np.testing.assert_array_equal(out[name], ref[name])
            else:
                np.testing.assert_allclose(out[name], ref[name], rtol=1e-5, atol=1e-5)


def random_feeds(model: ModelWrapper, integer: bool = False, count: int = 3) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    feeds = []
    for _ in range(count):
        feed = {}
        for name in model.graph_input_names():
            shape = model.get_tensor_shape(name)
            assert shape is not None
            x = rng.integers(-4, 4, size=shape) if integer else rng.normal(0, 2, size=shape)
            feed[name] = x.astype(np.float32)
        feeds.append(feed)
    return feeds


# ----------------------------------------------------------------- MoveLinearPastFork
def fork_model(op: str = "Mul", value: np.ndarray | float = 0.75, as_output: bool = False) -> ModelWrapper:
    nodes = [
        node(op, ["x", "c"], "t"),
        node("Relu", ["t"], "a"),
        node("Neg", ["t"], "b"),
        node("Add", ["t", "t"], "d"),
    ]
    outputs = ["a", "b", "d", "t"] if as_output else ["a", "b", "d"]
    return build(nodes, {"x": [2, 3]}, outputs, {"c": np.asarray(value, np.float32)}, {"x": "INT4"})


@pytest.mark.parametrize("op", ["Mul", "Add"])
def test_move_linear_past_fork_copies_per_reader(op):
    model = fork_model(op, np.array([0.5, -1.25, 3.0], np.float32))
    model.set_tensor_datatype("t", DataType["INT8"])  # any annotation is copied to each branch
    before, after = run(model, MoveLinearPastFork())
    assert ops(after) == [op, op, op, "Relu", "Neg", "Add"]
    outs = [n.output[0] for n in after.graph.node[:3]]
    assert len(set(outs)) == 3 and all(after.find_consumer(t) is not None for t in outs)
    assert all(after.get_tensor_datatype(t) == DataType["INT8"] for t in outs)
    join = after.graph.node[-1]
    assert join.input[0] == join.input[1] and join.input[0] in outs  # a reader of both inputs gets one copy
    check_same(before, after, random_feeds(before, integer=True), exact=True)


def test_move_linear_past_fork_skips_unsafe():
    assert_unchanged(fork_model(as_output=True), MoveLinearPastFork())  # the fork tensor is a graph output
    single = build([node("Mul", ["x", "c"], "t"), node("Relu", ["t"], "y")], {"x": [2]}, ["y"], {"c": np.float32(2)})
    assert_unchanged(single, MoveLinearPastFork())
    dynamic = build(
        [node("Mul", ["x", "z"], "t"), node("Relu", ["t"], "a"), node("Neg", ["t"], "b")],
        {"x": [2], "z": [2]},
        ["a", "b"],
        {},
    )
    assert_unchanged(dynamic, MoveLinearPastFork())


# ----------------------------------------------------------------- MoveSharedScalePastAdd
def join_model(
    s0: np.ndarray | float,
    s1: np.ndarray | float,
    dts: tuple[str, str] = ("INT3", "INT3"),
    thresholds: np.ndarray | None = None,
    shape: tuple[int, ...] = (1, 2, 3, 3),
) -> ModelWrapper:
    nodes = [node("Mul", ["a", "s0"], "ta"), node("Mul", ["b", "s1"], "tb"), node("Add", ["ta", "tb"], "z")]
    inits = {"s0": np.asarray(s0, np.float32), "s1": np.asarray(s1, np.float32)}
    out = "z"
    if thresholds is not None:
        nodes.append(node("MultiThreshold", ["z", "thr"], "y", out_dtype="UINT3"))
        inits["thr"] = thresholds.astype(np.float32)
        out = "y"
    return build(nodes, {"a": list(shape), "b": list(shape)}, [out], inits, {"a": dts[0], "b": dts[1]})


def all_pairs(model: ModelWrapper) -> list[dict[str, np.ndarray]]:
    """Every pair of values of the inputs' datatypes, laid out over a [1, C, H, W] tensor (tiled)."""
    da, db = (model.get_tensor_datatype(t) for t in ("a", "b"))
    av, bv = np.arange(da.min(), da.max() + 1), np.arange(db.min(), db.max() + 1)
    a, b = (v.reshape(-1).astype(np.float32) for v in np.meshgrid(av, bv))
    shape = model.get_tensor_shape("a")
    assert shape is not None
    size = int(np.prod(shape))
    feeds = []
    for start in range(0, a.size, size):
        idx = np.arange(start, start + size) % a.size
        feeds.append({"a": a[idx].reshape(shape), "b": b[idx].reshape(shape)})
    return feeds


def test_shared_scale_power_of_two_is_bitwise():
    model = join_model(0.25, np.array([0.25], np.float32))
    before, after = run(model, MoveSharedScalePastAdd())
    assert ops(after) == ["Add", "Mul"]
    add = after.graph.node[0]
    assert list(add.input) == ["a", "b"]
    assert after.get_tensor_datatype(add.output[0]) == DataType["INT4"]
    check_same(before, after, all_pairs(before), exact=True)


def test_shared_scale_exact_at_the_thresholds_of_the_reader():
    # the res2_w3a3 join: INT3 + INT3 at scale 0.9184111, then a 3-bit ReLU quantizer (scale 0.810967)
    s = np.float32(0.9184111)
    thr = ((np.arange(7, dtype=np.float32) + np.float32(0.5)) * np.float32(0.810967)).reshape(1, 7)
    assert (
        shared_scale_add_exactness(
            np.arange(-4, 4, dtype=np.float32), np.arange(-4, 4, dtype=np.float32), np.array([s]), None
        )
        is None
    )
    model = join_model(s, s, thresholds=thr)
    before, after = run(model, MoveSharedScalePastAdd())
    assert ops(after) == ["Add", "Mul", "MultiThreshold"]
    check_same(before, after, all_pairs(before), exact=True)
    absorbed = after.transform(AbsorbMulIntoMultiThreshold())
    assert ops(absorbed) == ["Add", "MultiThreshold"]
    check_same(before, absorbed, all_pairs(before), exact=True)


def test_shared_scale_refuses_a_threshold_between_differently_rounded_sums():
    s = np.float32(0.9184111)
    values = np.arange(-4, 4, dtype=np.float32)
    a, b = np.meshgrid(values, values)
    orig = (a * s).astype(np.float32) + (b * s).astype(np.float32)
    new = ((a + b) * s).astype(np.float32)
    k = np.flatnonzero(orig != new)[0]
    hi = max(orig.flat[k], new.flat[k])  # x >= hi differs between the two results
    model = join_model(s, s, thresholds=np.array([[hi]], np.float32))
    assert_unchanged(model, MoveSharedScalePastAdd())
    assert_unchanged(join_model(s, s), MoveSharedScalePastAdd())  # no thresholds to observe: inexact sums refused


def test_shared_scale_per_channel():
    s = np.array([0.5, 2.0], np.float32).reshape(1, 2, 1, 1)
    model = join_model(s, s.copy(), dts=("INT4", "UINT2"))
    before, after = run(model, MoveSharedScalePastAdd())
    assert ops(after) == ["Add", "Mul"]
    assert after.get_tensor_datatype(after.graph.node[0].output[0]) == DataType["INT5"]
    check_same(before, after, all_pairs(before), exact=True)


@pytest.mark.parametrize(
    ("s0", "s1", "dts"),
    [
        (0.5, 0.25, ("INT3", "INT3")),  # different scales
        (0.5, 0.5, ("INT3", "FLOAT32")),  # a float operand
        (np.array([0.5, 0.25], np.float32).reshape(1, 2, 1, 1), 0.5, ("INT3", "INT3")),  # different shapes
    ],
)
def test_shared_scale_skips_unsafe(s0, s1, dts):
    assert_unchanged(join_model(s0, s1, dts=dts), MoveSharedScalePastAdd())


def test_shared_scale_skips_a_shared_operand():
    nodes = [node("Mul", ["a", "s"], "ta"), node("Mul", ["b", "s"], "tb"), node("Add", ["ta", "tb"], "z")]
    nodes.append(node("Relu", ["ta"], "r"))  # ta also read elsewhere
    model = build(nodes, {"a": [4], "b": [4]}, ["z", "r"], {"s": np.float32(0.5)}, {"a": "INT3", "b": "INT3"})
    assert_unchanged(model, MoveSharedScalePastAdd())


# ----------------------------------------------------------------- AbsorbNegativeScaleIntoWeights
@pytest.mark.parametrize("op", ["MatMul", "Conv"])
def test_negative_threshold_scale_goes_into_the_weights(op):
    rng = np.random.default_rng(3)
    if op == "MatMul":
        w, shape, layout = rng.integers(-3, 4, (6, 4)).astype(np.float32), [2, 6], "NC"
        first = node("MatMul", ["x", "w"], "acc")
    else:
        w, shape, layout = rng.integers(-3, 4, (4, 2, 3, 3)).astype(np.float32), [1, 2, 5, 5], "NCHW"
        first = node("Conv", ["x", "w", "bias"], "acc", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    thr = np.sort(rng.integers(-20, 20, (4, 3)), axis=1).astype(np.float32)
    mt = node("MultiThreshold", ["acc", "thr"], "y", out_scale=-1.0, out_bias=1.0, out_dtype="INT2", data_layout=layout)
    inits = {"w": w, "thr": thr, "bias": np.array([0.5, -1.0, 2.0, 0.0], np.float32)}
    model = build([first, mt], {"x": shape}, ["y"], inits, {"x": "INT4", "w": "INT3"})
    before, after = run(model, AbsorbNegativeScaleIntoWeights())
    mt_after = after.get_nodes_by_op_type("MultiThreshold")[0]
    assert after.get_nodeattr(mt_after, "out_scale") == 1.0
    assert after.get_nodeattr(mt_after, "out_bias") == -2.0
    np.testing.assert_array_equal(after.get_initializer(after.graph.node[0].input[1]), -w)
    assert after.get_tensor_datatype(after.graph.node[0].input[1]) == DataType["INT3"]  # -3..3 still fits
    feeds = random_feeds(before, integer=True)
    feeds.append({"x": np.zeros(shape, np.float32)})
    check_same(before, after, feeds, exact=True)
    assert_unchanged(after, AbsorbNegativeScaleIntoWeights())


# ----------------------------------------------------------------- NHWC joins and reshapes
def transpose(inp: str, out: str, perm: list[int]) -> onnx.NodeProto:
    return node("Transpose", [inp], out, perm=perm)


def test_move_transposes_past_join_add_both_sides():
    nodes = [transpose("a", "ta", NHWC_TO_NCHW), transpose("b", "tb", NHWC_TO_NCHW), node("Add", ["ta", "tb"], "z")]
    model = build(nodes, {"a": [1, 3, 4, 2], "b": [1, 3, 4, 2]}, ["z"], {}, {"a": "INT3", "b": "INT3"})
    before, after = run(model, MoveTransposePastJoinAdd())
    assert ops(after) == ["Add", "Transpose"]
    assert after.get_tensor_shape(after.graph.node[0].output[0]) == [1, 3, 4, 2]
    check_same(before, after, random_feeds(before), exact=True)


def test_move_transposes_past_join_add_one_side():
    nodes = [transpose("a", "ta", NHWC_TO_NCHW), node("Add", ["b", "ta"], "z")]
    model = build(nodes, {"a": [1, 3, 4, 2], "b": [1, 2, 3, 4]}, ["z"], {})
    before, after = run(model, MoveTransposePastJoinAdd())
    assert ops(after) == ["Transpose", "Add", "Transpose"]
    new = after.graph.node[0]
    assert list(after.get_nodeattr(new, "perm")) == NCHW_TO_NHWC and new.input[0] == "b"
    check_same(before, after, random_feeds(before), exact=True)


def test_move_transposes_past_join_add_skips_unsafe():
    different = [transpose("a", "ta", [0, 2, 1, 3]), transpose("b", "tb", [0, 1, 3, 2]), node("Add", ["ta", "tb"], "z")]
    assert_unchanged(build(different, {"a": [1, 3, 3, 3], "b": [1, 3, 3, 3]}, ["z"], {}), MoveTransposePastJoinAdd())
    broadcast = [transpose("a", "ta", NHWC_TO_NCHW), node("Add", ["ta", "b"], "z")]
    model = build(broadcast, {"a": [1, 3, 4, 2], "b": [1, 2, 1, 1]}, ["z"], {})
    assert_unchanged(model, MoveTransposePastJoinAdd())
    into_nchw = [transpose("a", "ta", NCHW_TO_NHWC), node("Add", ["ta", "b"], "z")]  # only NHWC->NCHW moves down
    assert_unchanged(build(into_nchw, {"a": [1, 2, 3, 4], "b": [1, 3, 4, 2]}, ["z"], {}), MoveTransposePastJoinAdd())


def test_merge_parallel_transposes():
    nodes = [
        transpose("x", "t1", NCHW_TO_NHWC),
        transpose("x", "t2", NCHW_TO_NHWC),
        transpose("x", "t3", [0, 1, 3, 2]),
        node("Add", ["t1", "t2"], "y"),
        node("Relu", ["t3"], "r"),
    ]
    model = build(nodes, {"x": [1, 2, 3, 3]}, ["y", "r"], {})
    before, after = run(model, MergeParallelTransposes())
    assert ops(after) == ["Transpose", "Transpose", "Add", "Relu"]
    assert after.graph.node[2].input[0] == after.graph.node[2].input[1] == "t1"
    check_same(before, after, random_feeds(before), exact=True)


def test_move_transpose_before_multithreshold():
    thr = np.sort(np.random.default_rng(0).normal(0, 1, (3, 4)), axis=1).astype(np.float32)
    nodes = [node("MultiThreshold", ["x", "thr"], "q", out_dtype="UINT3"), transpose("q", "y", NCHW_TO_NHWC)]
    model = build(nodes, {"x": [1, 3, 4, 4]}, ["y"], {"thr": thr})
    before, after = run(model, MoveTransposeBeforeMultiThreshold())
    assert ops(after) == ["Transpose", "MultiThreshold"]
    assert after.get_nodeattr(after.graph.node[1], "data_layout") == "NHWC"
    check_same(before, after, random_feeds(before), exact=True)
    one_channel = build(nodes, {"x": [1, 1, 4, 4]}, ["y"], {"thr": thr[:1]})  # graph input: left to TransposeToReshape
    assert_unchanged(one_channel, MoveTransposeBeforeMultiThreshold())


def test_collapse_consecutive_reshapes():
    nodes = [
        node("Reshape", ["x", "s1"], "r"),
        node("Flatten", ["r"], "y", axis=1),
    ]
    inits = {"s1": np.array([1, 4, 1, 1], np.int64)}
    model = build(nodes, {"x": [1, 1, 1, 4]}, ["y"], inits, {"x": "UINT4"})
    before, after = run(model, CollapseConsecutiveReshapes())
    assert ops(after) == ["Reshape"]
    assert after.get_tensor_shape("y") == [1, 4] and after.get_tensor_datatype("y") == before.get_tensor_datatype("y")
    check_same(before, after, random_feeds(before), exact=True)
    shared = build([*nodes, node("Relu", ["r"], "z")], {"x": [1, 1, 1, 4]}, ["y", "z"], inits)
    assert_unchanged(shared, CollapseConsecutiveReshapes())


def test_convert_to_nhwc_keeps_one_channel_transposes_for_the_layout_passes():
    """A one-channel transpose becomes a Reshape only once the layout passes are done (they could still cancel it)."""
    thr = np.array([[0.5, 1.5, 2.5]], np.float32)
    nodes = [
        transpose("x", "xt", NHWC_TO_NCHW),  # [1, 4, 4, 1] -> [1, 1, 4, 4]: moves only a size-1 axis
        node("MultiThreshold", ["xt", "thr"], "q", out_dtype="UINT2"),
        transpose("q", "y", NCHW_TO_NHWC),
    ]
    model = build(nodes, {"x": [1, 4, 4, 1]}, ["y"], {"thr": thr})
    before, after = run(model, ConvertToNHWC())
    assert ops(after) == ["MultiThreshold"]  # not Reshape -> MultiThreshold -> Reshape
    check_same(before, after, random_feeds(before), exact=True)


# ----------------------------------------------------------------- partitions and the software report
def hw(op: str, inputs: list[str], output: str, **attrs: object) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [output], name=f"{op}_{output}", domain=HW_DOMAIN, **attrs)


def labels_model(head_mul: np.ndarray, head_add: np.ndarray) -> ModelWrapper:
    """Thresholding -> Reshape -> Reshape -> Thresholding, then a float Mul/Add head and TopK."""
    thr = np.array([[1.0, 2.0, 3.0]], np.float32).repeat(4, 0)
    nodes = [
        hw(
            "Thresholding",
            ["x", "thr"],
            "a",
            NumChannels=4,
            numSteps=3,
            inputDataType="UINT4",
            outputDataType="UINT2",
            weightDataType="UINT2",
            numInputVectors=[1, 1, 1],
        ),
        node("Reshape", ["a", "s1"], "b"),
        node("Reshape", ["b", "s2"], "c"),
        hw(
            "Thresholding",
            ["c", "thr"],
            "d",
            NumChannels=4,
            numSteps=3,
            inputDataType="UINT2",
            outputDataType="UINT2",
            weightDataType="UINT2",
            numInputVectors=[1],
        ),
        node("Mul", ["d", "scale"], "e"),
        node("Add", ["e", "bias"], "logits"),
        helper.make_node("TopK", ["logits", "k"], ["values", "y"], name="TopK_0", axis=-1),
    ]
    inits = {
        "thr": thr,
        "s1": np.array([1, 4, 1, 1], np.int64),
        "s2": np.array([1, 4], np.int64),
        "scale": head_mul.astype(np.float32),
        "bias": head_add.astype(np.float32),
        "k": np.array([1], np.int64),
    }
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", F, [1, 1, 1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [1, 1])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=opsets))
    model.model.ir_version = 8
    model.set_tensor_datatype("x", DataType["UINT4"])
    return model.transform(InferShapes())


def test_partition_keeps_chains_of_reshapes_between_hw_layers():
    model = labels_model(np.array([0.5, 1.0, 2.0, 0.25]), np.array([0.1, -0.2, 0.3, 0.0]))
    feeds = [{"x": np.array([[[[0, 2, 3, 4]]]], np.float32)}, {"x": np.array([[[[4, 1, 2, 0]]]], np.float32)}]
    partition = CreateDataflowPartition()
    after = model.copy().transform(partition)
    assert ops(after) == ["StreamingDataflowPartition", "Mul", "Add", "TopK"]
    check_same(model, after, feeds, exact=True)
    assert partition.software_nodes == [("Mul_e", "Mul"), ("Add_logits", "Add"), ("TopK_0", "TopK")]
    (line,) = partition.software_report
    assert line.startswith("float classifier head kept in software: Mul_e (Mul, per-class scale [4]) -> ")
    assert "Add_logits (Add, per-class bias [4]) -> TopK_0 (TopK)" in line
    assert "positive per-tensor scale and a shared offset" in line


def test_software_report_names_other_reasons():
    model = labels_model(np.array([0.5, 1.0, 2.0, 0.25]), np.array([0.1, -0.2, 0.3, 0.0]))
    model.graph.node.insert(4, node("Relu", ["d"], "d_relu"))
    model.graph.node[5].input[0] = "d_relu"
    model.set_tensor_datatype("d", DataType["UINT2"])
    model = model.transform(InferShapes()).transform(CreateDataflowPartition())
    lines = explain_software_nodes(model)
    assert lines[0].startswith("float classifier head kept in software: Mul_e")
    assert lines[1:] == ["Relu_d_relu (Relu) kept in software: no HW layer was inferred for it"]


# ----------------------------------------------------------------- the float head before top-k
def head_model(mul: float, add: float, dt: str | None = "INT6") -> ModelWrapper:
    nodes = [
        node("Mul", ["x", "a"], "scaled"),
        node("Add", ["scaled", "b"], "logits"),
        helper.make_node("TopK", ["logits", "k"], ["values", "y"], name="TopK_0", axis=-1),
    ]
    inits = {"a": np.float32(mul), "b": np.float32(add), "k": np.array([1], np.int64)}
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", F, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [1, 1])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model.model.ir_version = 8
    if dt is not None:
        model.set_tensor_datatype("x", DataType[dt])
    return model.transform(InferShapes())


def head_feeds(model: ModelWrapper) -> list[dict[str, np.ndarray]]:
    """Every value of the input's datatype once, shuffled, plus inputs full of ties."""
    dt = model.get_tensor_datatype("x")
    rng = np.random.default_rng(5)
    values = np.arange(dt.min(), dt.max() + 1, dtype=np.float32)
    feeds = [{"x": rng.permutation(values)[:64].reshape(1, 64)} for _ in range(4)]
    feeds += [{"x": rng.choice(values[-3:], (1, 64)).astype(np.float32)} for _ in range(4)]
    return feeds


def test_scalar_head_absorbed_into_topk_when_order_and_ties_are_kept():
    from qnncc.transforms.streamline import AbsorbScalarMulAddIntoTopK

    model = head_model(0.0754142, -3.25)
    before, after = run(model, AbsorbScalarMulAddIntoTopK())
    assert ops(after) == ["TopK"]
    check_same(before, after, head_feeds(before), exact=True)


@pytest.mark.parametrize(
    ("mul", "add", "dt"),
    [
        (1.0, 2.0**25, "INT6"),  # x + 2**25 rounds neighbouring integers together: new ties
        (-0.5, 0.0, "INT6"),  # a negative scale reverses the order
        (0.5, 0.0, "INT26"),  # too many values to enumerate
        (0.5, 1.0, None),  # values unknown (float input)
    ],
)
def test_scalar_head_kept_when_exactness_is_not_shown(mul, add, dt):
    from qnncc.transforms.streamline import AbsorbScalarMulAddIntoTopK

    model = head_model(mul, add, dt)
    after = model.copy().transform(AbsorbScalarMulAddIntoTopK())
    assert "Mul" in ops(after)  # the Mul (or both) stays: dropping it could change the top-1 index
