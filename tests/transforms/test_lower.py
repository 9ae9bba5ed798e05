"""Lowering passes: differential tests (outputs before == after) on small graphs and golden models."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms import InferDataTypes, InferShapes, Tidy
from qnncc.transforms.lower import (
    AbsorbTransposeIntoMultiThreshold,
    ConvertBipolarMatMulToXnorPopcount,
    InferDataLayouts,
    LowerConvsToMatMul,
    MakeMaxPoolNHWC,
    RemoveConsecutiveTransposes,
)
from qnncc.transforms.qonnx import ConvertQONNXtoFINN

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.core.errors import UnsupportedOpError

F = TensorProto.FLOAT
DOMAIN = "qonnx.custom_op.general"


def build(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, list[int]],
    outputs: list[str],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 13,
) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, F, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, F, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in (inits or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(DOMAIN, 1)])
    return ModelWrapper(model).transform(InferShapes())


def run(model: ModelWrapper, x: np.ndarray, backend: Literal["fast", "reference"] = "fast") -> np.ndarray:
    name = model.graph_input_names()[0]
    return qnncc.execute(model, {name: x}, backend=backend)[model.graph_output_names()[0]]


def op_types(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in model.graph.node]


def assert_same_function(before: ModelWrapper, after: ModelWrapper, x: np.ndarray) -> None:
    expected = run(before, x)
    np.testing.assert_array_equal(run(after, x), expected)
    np.testing.assert_array_equal(run(after, x, "reference"), expected)


# ------------------------------------------------------------------ LowerConvsToMatMul
def conv_model(
    c_in: int, c_out: int, hw: int, k: int, stride: int, pad: int, group: int = 1, bias: bool = False, seed: int = 0
) -> ModelWrapper:
    rng = np.random.default_rng(seed)
    inits = {"W": rng.integers(-4, 5, size=(c_out, c_in // group, k, k))}
    inputs = ["x", "W"]
    if bias:
        inits["B"] = rng.integers(-10, 11, size=(c_out,))
        inputs.append("B")
    conv = helper.make_node(
        "Conv", inputs, ["y"], name="conv0", kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4, group=group
    )
    relu = helper.make_node("Relu", ["y"], ["z"], name="relu0")
    return build([conv, relu], {"x": [1, c_in, hw, hw]}, ["z"], inits)


CONV_CASES = [
    (k, s, p, dw, seed)
    for seed, (k, s, p, dw) in enumerate(itertools.product([1, 3, 5], [1, 2], [0, 1], [False, True]))
]


@pytest.mark.parametrize(("k", "stride", "pad", "depthwise", "seed"), CONV_CASES)
def test_lower_conv_is_exact(k: int, stride: int, pad: int, depthwise: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c_in = int(rng.integers(1, 9))
    c_out = c_in if depthwise else int(rng.integers(1, 9))
    hw = int(rng.integers(k, k + 5))
    before = conv_model(c_in, c_out, hw, k, stride, pad, group=c_in if depthwise else 1, bias=seed % 3 == 0, seed=seed)
    after = before.transform(LowerConvsToMatMul(), copy=True)
    assert "Conv" not in op_types(after)
    assert ("Im2Col" in op_types(after)) == (k != 1 or stride != 1 or pad != 0)
    x = rng.integers(-8, 9, size=(3, c_in, hw, hw)).astype(np.float32)
    assert_same_function(before, after, x)
    after.check()
    matmul = after.get_nodes_by_op_type("MatMul")[0]
    w = after.get_initializer(matmul.input[1])
    assert w is not None and w.shape == (k * k * c_in, c_out)
    im2col = after.get_nodes_by_op_type("Im2Col")
    if im2col:
        assert after.get_nodeattr(im2col[0], "depthwise") == int(depthwise and c_in > 1)


def test_depthwise_weights_are_block_sparse_and_annotated() -> None:
    before = conv_model(4, 4, 6, 3, 1, 1, group=4)
    w_conv = before.get_initializer("W")
    assert w_conv is not None
    before.set_tensor_datatype("W", "INT4")
    after = before.transform(LowerConvsToMatMul(), copy=True)
    w = after.get_initializer("W")
    assert w is not None and w.shape == (36, 4)
    blocks = w.reshape(9, 4, 4)  # [kernel position, input channel, output channel]
    for c in range(4):
        np.testing.assert_array_equal(blocks[:, c, c], w_conv[c, 0].reshape(-1))
    off_diagonal = blocks * (1 - np.eye(4))[None]
    assert not off_diagonal.any()
    assert after.get_nodeattr(after.get_nodes_by_op_type("Im2Col")[0], "depthwise") == 1
    qa = next(q for q in after.graph.quantization_annotation if q.tensor_name == "W")
    entries = {kv.key: kv.value for kv in qa.quant_parameter_tensor_names}
    assert entries["tensor_sparsity"] == "{'dw': {'kernel_shape': [3, 3]}}"
    assert after.get_tensor_datatype("W") == DataType["INT4"]


@pytest.mark.parametrize(
    "attrs",
    [
        {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
        {"auto_pad": "SAME_LOWER", "strides": [2, 2]},
        {"auto_pad": "VALID"},
        {"pads": [0, 1, 2, 1], "strides": [1, 2]},
        {"pads": [2, 2, 2, 2], "dilations": [2, 2]},
    ],
)
def test_lower_conv_padding_modes_and_dilation(attrs: dict[str, Any]) -> None:
    rng = np.random.default_rng(7)
    conv = helper.make_node("Conv", ["x", "W"], ["y"], name="c", kernel_shape=[3, 3], **attrs)
    before = build([conv], {"x": [1, 3, 9, 8]}, ["y"], {"W": rng.integers(-3, 4, size=(5, 3, 3, 3))})
    after = before.transform(LowerConvsToMatMul(), copy=True)
    assert_same_function(before, after, rng.integers(-5, 6, size=(2, 3, 9, 8)).astype(np.float32))


def test_grouped_conv_raises_naming_the_node() -> None:
    model = conv_model(4, 4, 6, 3, 1, 1, group=2)
    with pytest.raises(UnsupportedOpError, match=r"conv0.*group=2"):
        model.transform(LowerConvsToMatMul())


def test_conv_with_dynamic_weights_is_left_alone_and_shared_weights_are_copied() -> None:
    dyn = build([helper.make_node("Conv", ["x", "w"], ["y"])], {"x": [1, 2, 5, 5], "w": [3, 2, 3, 3]}, ["y"])
    assert op_types(dyn.transform(LowerConvsToMatMul(), copy=True)) == ["Conv"]
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["a"], name="c0", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "W"], ["b"], name="c1", pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["a"], ["ra"]),
        helper.make_node("Add", ["ra", "b"], ["y"]),
    ]
    before = build(nodes, {"x": [1, 2, 5, 5]}, ["y"], {"W": rng.integers(-3, 4, size=(2, 2, 3, 3))})
    after = before.transform(LowerConvsToMatMul(), copy=True)
    assert op_types(after).count("MatMul") == 2
    assert len({n.input[1] for n in after.get_nodes_by_op_type("MatMul")}) == 2
    assert_same_function(before, after, rng.integers(-5, 6, size=(2, 2, 5, 5)).astype(np.float32))


# ------------------------------------------------------------------ golden mnist-conv
def test_mnist_conv_lowered_predicts_identically(
    golden_models: dict[str, ModelWrapper], mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    images = mnist[0][:200]
    original = golden_models["mnist_conv"]
    model = original.copy().transform(InferShapes())
    for p in (LowerConvsToMatMul(), MakeMaxPoolNHWC(), RemoveConsecutiveTransposes(), InferDataLayouts()):
        model = model.transform(p)
    assert "Conv" not in op_types(model) and op_types(model).count("Im2Col") == 2
    # the first MaxPool feeds the second conv's Transpose to NHWC; the last one feeds a Reshape
    assert op_types(model).count("MaxPoolNHWC") == 1 and op_types(model).count("MaxPool") == 1
    model.check()
    expected, logits = run(original, images), run(model, images)
    np.testing.assert_array_equal(logits.argmax(-1), expected.argmax(-1))
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))
    np.testing.assert_array_equal(run(model, images[:20], "reference"), logits[:20])
    im2col = model.get_nodes_by_op_type("Im2Col")[0]
    assert model.get_tensor_layout(im2col.output[0]) == "NHWC"
    assert model.get_tensor_layout(model.graph_input_names()[0]) == "NCHW"
    assert model.get_tensor_layout(model.graph_output_names()[0]) == "NC"


# ------------------------------------------------------------------ MakeMaxPoolNHWC
def pool_graph(pre: bool, post: bool, **pool_attrs: Any) -> ModelWrapper:
    """x (NHWC) -> [Transpose to NCHW] -> MaxPool -> [Transpose to NHWC] -> Relu."""
    nodes, cur = [], "x"
    if pre:
        nodes.append(helper.make_node("Transpose", [cur], ["t0"], perm=[0, 3, 1, 2]))
        cur = "t0"
    nodes.append(helper.make_node("MaxPool", [cur], ["p"], name="pool", **pool_attrs))
    cur = "p"
    if post:
        nodes.append(helper.make_node("Transpose", [cur], ["t1"], perm=[0, 2, 3, 1]))
        cur = "t1"
    nodes.append(helper.make_node("Relu", [cur], ["y"]))
    shape = [1, 9, 8, 3] if pre else [1, 3, 9, 8]
    return build(nodes, {"x": shape}, ["y"])


@pytest.mark.parametrize(("pre", "post"), [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize(
    "attrs",
    [{"kernel_shape": [2, 2], "strides": [2, 2]}, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "ceil_mode": 1}],
)
def test_make_maxpool_nhwc_is_exact(pre: bool, post: bool, attrs: dict[str, Any]) -> None:
    before = pool_graph(pre, post, **attrs)
    after = before.transform(MakeMaxPoolNHWC(), copy=True)
    assert "MaxPool" not in op_types(after) and "MaxPoolNHWC" in op_types(after)
    assert op_types(after).count("Transpose") == (0 if pre and post else 1)
    if pre and post:
        assert op_types(after) == ["MaxPoolNHWC", "Relu"]
    shape = before.get_tensor_shape("x")
    assert shape is not None
    x = np.random.default_rng(0).integers(-20, 20, size=[2, *shape[1:]]).astype(np.float32)
    assert_same_function(before, after, x)
    after.check()


def test_make_maxpool_nhwc_leaves_plain_maxpool() -> None:
    model = pool_graph(False, False, kernel_shape=[2, 2])
    assert op_types(model.transform(MakeMaxPoolNHWC(), copy=True)) == ["MaxPool", "Relu"]


# ------------------------------------------------------------------ AbsorbTransposeIntoMultiThreshold
def mt_graph(post: bool, fork: bool = False) -> ModelWrapper:
    """x (NHWC) -> Transpose to NCHW -> MultiThreshold -> [Transpose to NHWC] -> Relu."""
    thr = np.sort(np.random.default_rng(1).integers(-10, 10, size=(3, 4)), axis=1).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 3, 1, 2]),
        helper.make_node(
            "MultiThreshold", ["t0", "thr"], ["m"], domain=DOMAIN, out_dtype="INT3", out_scale=1.0, out_bias=-2.0
        ),
    ]
    cur = "m"
    if post:
        nodes.append(helper.make_node("Transpose", [cur], ["t1"], perm=[0, 2, 3, 1]))
        cur = "t1"
    nodes.append(helper.make_node("Relu", [cur], ["r"]))
    if fork:  # a second reader of the first transpose keeps it alive
        nodes.append(helper.make_node("ReduceMax", ["t0"], ["s"], axes=[1, 2, 3], keepdims=0))
        nodes.append(helper.make_node("ReduceMax", ["r"], ["rs"], axes=[1, 2, 3], keepdims=0))
        nodes.append(helper.make_node("Add", ["rs", "s"], ["y"]))
    else:
        nodes.append(helper.make_node("Identity", ["r"], ["y"]))
    return build(nodes, {"x": [1, 5, 6, 3]}, ["y"], {"thr": thr})


@pytest.mark.parametrize(("post", "fork"), [(True, False), (False, False), (True, True)])
def test_absorb_transpose_into_multithreshold_is_exact(post: bool, fork: bool) -> None:
    before = mt_graph(post, fork)
    after = before.transform(AbsorbTransposeIntoMultiThreshold(), copy=True)
    mt = after.get_nodes_by_op_type("MultiThreshold")[0]
    assert after.get_nodeattr(mt, "data_layout") == "NHWC"
    assert mt.input[0] == "x"
    expected_transposes = (0 if post else 1) + (1 if fork else 0)
    assert op_types(after).count("Transpose") == expected_transposes
    x = np.random.default_rng(2).integers(-12, 12, size=(3, 5, 6, 3)).astype(np.float32)
    assert_same_function(before, after, x)


def test_absorb_transpose_then_remove_consecutive_transposes() -> None:
    """FINN's variant moves the transpose past the MultiThreshold, where it meets its inverse."""
    thr = np.array([[0.0], [1.0], [2.0]], np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 3, 1, 2]),
        helper.make_node("MultiThreshold", ["t0", "thr"], ["m"], domain=DOMAIN, out_dtype="BINARY"),
        helper.make_node("Relu", ["m"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t1"], perm=[0, 2, 3, 1]),
        helper.make_node("Neg", ["t1"], ["y"]),
    ]
    before = build(nodes, {"x": [1, 4, 4, 3]}, ["y"], {"thr": thr})
    after = before.transform(AbsorbTransposeIntoMultiThreshold(), copy=True)
    assert op_types(after) == ["MultiThreshold", "Transpose", "Relu", "Transpose", "Neg"]
    x = np.random.default_rng(0).integers(-2, 4, size=(2, 4, 4, 3)).astype(np.float32)
    assert_same_function(before, after, x)


# ------------------------------------------------------------------ RemoveConsecutiveTransposes
def test_remove_consecutive_transposes() -> None:
    nodes = [
        helper.make_node("Transpose", ["x"], ["a"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["a"], ["b"], perm=[0, 3, 1, 2]),  # cancels
        helper.make_node("Transpose", ["a"], ["c"], perm=[0, 2, 1, 3]),  # does not
        helper.make_node("Relu", ["b"], ["rb"]),
        helper.make_node("Transpose", ["rb"], ["d"], perm=[1, 0, 2, 3]),
        helper.make_node("Transpose", ["d"], ["e"], perm=[1, 0, 2, 3]),  # self-inverse: cancels
        helper.make_node("ReduceSum", ["c"], ["sc"], keepdims=0),
        helper.make_node("ReduceSum", ["e"], ["se"], keepdims=0),
        helper.make_node("Add", ["sc", "se"], ["y"]),
        helper.make_node("Transpose", ["x"], ["f"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["f"], ["g"], perm=[0, 3, 1, 2]),  # graph output: kept
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", F, [1, 2, 3, 4])],
        [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("g", F, None)],
    )
    before = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    before.transform(InferShapes())
    after = before.transform(RemoveConsecutiveTransposes(), copy=True)
    assert op_types(after).count("Transpose") == 4  # a, c and the output pair f, g
    relu = after.get_nodes_by_op_type("Relu")[0]
    assert relu.input[0] == "x"
    x = np.random.default_rng(0).normal(size=(1, 2, 3, 4)).astype(np.float32)
    for name in ("y", "g"):
        expected = qnncc.execute(before, {"x": x})[name]
        np.testing.assert_array_equal(qnncc.execute(after, {"x": x})[name], expected)
    assert after.transform(RemoveConsecutiveTransposes(), copy=True).serialize() == after.serialize()


# ------------------------------------------------------------------ ConvertBipolarMatMulToXnorPopcount
def bipolar_mlp(between: list[onnx.NodeProto] | None = None, extra_reader: bool = False) -> ModelWrapper:
    rng = np.random.default_rng(5)
    thr = rng.integers(-3, 4, size=(12, 1)).astype(np.float32)
    w = rng.choice([-1.0, 1.0], size=(12, 7)).astype(np.float32)
    src = "m" if not between else between[-1].output[0]
    nodes = [
        helper.make_node(
            "MultiThreshold", ["x", "thr"], ["m"], domain=DOMAIN, out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0
        ),
        *(between or []),
        helper.make_node("MatMul", [src, "W"], ["y0"], name="mm"),
    ]
    outputs = ["y0"]
    if extra_reader:
        nodes.append(helper.make_node("Neg", ["m"], ["y1"]))
        outputs.append("y1")
    model = build(nodes, {"x": [1, 12]}, outputs, {"thr": thr, "W": w})
    model.set_tensor_datatype("W", "BIPOLAR")
    return model.transform(InferDataTypes())


def test_bipolar_matmul_to_xnor_popcount_is_exact() -> None:
    before = bipolar_mlp()
    assert before.get_tensor_datatype("m") == DataType["BIPOLAR"]
    after = before.transform(ConvertBipolarMatMulToXnorPopcount(), copy=True)
    assert op_types(after) == ["MultiThreshold", "XnorPopcountMatMul", "Mul", "Add"]
    mt = after.graph.node[0]
    assert after.get_nodeattr(mt, "out_scale") == 1.0 and after.get_nodeattr(mt, "out_bias") == 0.0
    assert after.get_nodeattr(mt, "out_dtype") == "BINARY"
    assert after.get_tensor_datatype("m") == DataType["BINARY"]
    w = after.get_initializer("W")
    assert w is not None and set(np.unique(w)) <= {0.0, 1.0}
    assert after.get_tensor_datatype("W") == DataType["BINARY"]
    assert after.get_initializer(after.graph.node[3].input[1]) == pytest.approx([-12.0])
    x = np.random.default_rng(0).integers(-5, 6, size=(16, 12)).astype(np.float32)
    assert_same_function(before, after, x)
    after.check()


def test_bipolar_conv_chain_through_transpose_and_im2col() -> None:
    """A binarized conv: MultiThreshold (NCHW) -> Transpose -> Im2Col (no padding) -> MatMul."""
    rng = np.random.default_rng(9)
    thr = rng.integers(-2, 3, size=(3, 1)).astype(np.float32)
    w = rng.choice([-1.0, 1.0], size=(27, 4)).astype(np.float32)
    nodes = [
        helper.make_node(
            "MultiThreshold", ["x", "thr"], ["m"], domain=DOMAIN, out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0
        ),
        helper.make_node("Transpose", ["m"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node(
            "Im2Col", ["t"], ["p"], domain=DOMAIN, kernel_size=[3, 3], stride=[1, 1], input_shape="(1, 6, 6, 3)"
        ),
        helper.make_node("MatMul", ["p", "W"], ["y"]),
    ]
    before = build(nodes, {"x": [1, 3, 6, 6]}, ["y"], {"thr": thr, "W": w})
    before.set_tensor_datatype("W", "BIPOLAR")
    before.transform(InferDataTypes())
    after = before.transform(ConvertBipolarMatMulToXnorPopcount(), copy=True)
    assert "XnorPopcountMatMul" in op_types(after)
    assert after.get_tensor_datatype("p") == DataType["BINARY"]
    assert_same_function(before, after, rng.integers(-4, 5, size=(2, 3, 6, 6)).astype(np.float32))


def test_bipolar_matmul_not_converted_when_the_threshold_output_has_other_readers() -> None:
    model = bipolar_mlp(extra_reader=True)
    after = model.transform(ConvertBipolarMatMulToXnorPopcount(), copy=True)
    assert "XnorPopcountMatMul" not in op_types(after)
    assert after.serialize() == model.serialize()


def test_bipolar_chain_stops_at_padded_im2col() -> None:
    rng = np.random.default_rng(4)
    thr = rng.integers(-2, 3, size=(2, 1)).astype(np.float32)
    nodes = [
        helper.make_node(
            "MultiThreshold", ["x", "thr"], ["m"], domain=DOMAIN, out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0
        ),
        helper.make_node(
            "Im2Col",
            ["m"],
            ["p"],
            domain=DOMAIN,
            kernel_size=[3, 3],
            stride=[1, 1],
            pad_amount=[1, 1, 1, 1],
            input_shape="(1, 4, 4, 2)",
        ),
        helper.make_node("MatMul", ["p", "W"], ["y"]),
    ]
    model = build(
        nodes,
        {"x": [1, 4, 4, 2]},
        ["y"],
        {"thr": thr, "W": rng.choice([-1.0, 1.0], size=(18, 3))},
    )
    model.set_tensor_datatype("W", "BIPOLAR")
    model.set_nodeattr(model.graph.node[0], "data_layout", "NHWC")
    model.transform(InferDataTypes())
    model.set_tensor_datatype("p", "BIPOLAR")  # even if annotated bipolar, the zero padding is not
    after = model.transform(ConvertBipolarMatMulToXnorPopcount(), copy=True)
    assert "XnorPopcountMatMul" not in op_types(after)


def test_tfc_w1a1_xnor_popcount_keeps_predictions(
    golden_models: dict[str, ModelWrapper], mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    images = mnist[0][:200]
    original = golden_models["tfc_w1a1"].copy().transform(InferShapes()).transform(InferDataTypes())
    model = original.transform(ConvertBipolarMatMulToXnorPopcount(), copy=True)
    assert op_types(model).count("XnorPopcountMatMul") == 4 and "MatMul" not in op_types(model)
    np.testing.assert_array_equal(run(model, images), run(original, images))
    ref_before = qnncc.execute(original, {"global_in": images[:10]}, backend="reference", return_all=True)
    ref_after = qnncc.execute(model, {"global_in": images[:10]}, backend="reference", return_all=True)
    for k in range(4):  # every layer's dot products are bit-identical
        np.testing.assert_array_equal(ref_after[f"MatMul_{k}_out0"], ref_before[f"MatMul_{k}_out0"])


# ------------------------------------------------------------------ InferDataLayouts
def test_infer_data_layouts_on_lowered_conv_and_mlp() -> None:
    model = conv_model(3, 4, 6, 3, 1, 1, bias=True).transform(LowerConvsToMatMul())
    for vi_name in [t for n in model.graph.node for t in n.output]:
        model.set_tensor_layout(vi_name, None)
    model.transform(InferDataLayouts())
    layouts = {t: model.get_tensor_layout(t) for n in model.graph.node for t in n.output}
    im2col = model.get_nodes_by_op_type("Im2Col")[0]
    matmul = model.get_nodes_by_op_type("MatMul")[0]
    assert model.get_tensor_layout("x") == "NCHW"
    assert layouts[im2col.input[0]] == "NHWC" and layouts[im2col.output[0]] == "NHWC"
    assert layouts[matmul.output[0]] == "NHWC"
    assert layouts["y"] == "NCHW" and layouts["z"] == "NCHW"
    _, changed = InferDataLayouts().apply(model)
    assert not changed
    mlp = bipolar_mlp().transform(InferDataLayouts())
    assert mlp.get_tensor_layout("x") == "NC" and mlp.get_tensor_layout("y0") == "NC"
    assert mlp.get_tensor_layout("W") is None  # constants are not annotated


def test_brevitas_depthwise_separable_model_lowers_exactly(mnist: tuple[np.ndarray, np.ndarray]) -> None:
    """dws_w4a4 (depthwise 3x3, pointwise 1x1, strided) after QONNX->FINN conversion: bit-identical outputs."""
    model = qnncc.load(Path(__file__).parents[1] / "data" / "brevitas_dev" / "dws_w4a4" / "model_qonnx.onnx")
    model = model.transform(Tidy()).transform(ConvertQONNXtoFINN()).transform(Tidy())
    lowered = model.transform(LowerConvsToMatMul(), copy=True)
    assert "Conv" not in op_types(lowered)
    flags = [lowered.get_nodeattr(n, "depthwise") for n in lowered.get_nodes_by_op_type("Im2Col")]
    assert 1 in flags
    images = mnist[0][5000:5100] / 255.0
    np.testing.assert_array_equal(run(lowered, images), run(model, images))


def test_streamlined_cnv_becomes_channels_last(mnist: tuple[np.ndarray, np.ndarray]) -> None:
    """cnv3_w2a2, FINN's CNV flow: streamline, lower, NHWC passes, streamline again -> bit-identical, 2 transposes."""
    from qnncc.transforms.streamline.sequence import Streamline

    model = qnncc.load(Path(__file__).parents[1] / "data" / "brevitas_dev" / "cnv3_w2a2" / "model_qonnx.onnx")
    model = model.transform(Tidy()).transform(ConvertQONNXtoFINN()).transform(Tidy()).transform(Streamline())
    images = mnist[0][5000:5100] / 255.0
    expected = run(model, images)
    for p in (
        LowerConvsToMatMul(),
        MakeMaxPoolNHWC(),
        AbsorbTransposeIntoMultiThreshold(),
        RemoveConsecutiveTransposes(),
    ):
        model = model.transform(p)
    model = model.transform(Streamline())
    for p in (
        MakeMaxPoolNHWC(),
        AbsorbTransposeIntoMultiThreshold(),
        RemoveConsecutiveTransposes(),
        InferDataLayouts(),
    ):
        model = model.transform(p)
    ops = op_types(model)
    assert ops.count("Transpose") == 2 and "MaxPool" not in ops and "Conv" not in ops
    for node in model.get_nodes_by_op_type("MultiThreshold")[1:]:  # all but the input quantizer run in NHWC
        assert model.get_nodeattr(node, "data_layout") == "NHWC"
        assert model.get_tensor_layout(node.output[0]) == "NHWC"
    np.testing.assert_array_equal(run(model, images), expected)
