"""ModelWrapper: tensors, annotations, initializers, node queries, structure and passes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qnncc import DataType, ModelWrapper, Transformation
from qnncc.core import DataTypeError, GraphError, ModelLoadError, QnnccError, TransformationError
from qnncc.core.transformation import round_limit


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def diamond() -> ModelWrapper:
    """x -> Relu(r0) -> a; a -> Mul(m0, w) -> b; a -> Neg(n0) -> c; Add(b, c) -> y."""
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="r0"),
        helper.make_node("Mul", ["a", "w"], ["b"], name="m0"),
        helper.make_node("Neg", ["a"], ["c"], name="n0"),
        helper.make_node("Add", ["b", "c"], ["y"], name="add0"),
    ]
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), "w")
    graph = helper.make_graph(nodes, "diamond", [vi("x", [1, 4])], [vi("y", [1, 4])], [w])
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def annotation_entries(model: ModelWrapper, tensor: str) -> list[tuple[str, str]]:
    return [
        (kv.key, kv.value)
        for qa in model.graph.quantization_annotation
        if qa.tensor_name == tensor
        for kv in qa.quant_parameter_tensor_names
    ]


# ------------------------------------------------------------------ tensors and shapes
def test_inputs_outputs_and_names():
    model = diamond()
    model.graph.input.append(vi("w", [1, 4]))  # old-style export: initializer listed as input
    assert model.graph_input_names() == ["x"]
    assert model.graph_output_names() == ["y"]
    assert model.get_all_tensor_names() == ["x", "w", "a", "b", "c", "y"]
    assert model.get_opset("") == 13 and model.get_opset("qonnx.custom_op.general") is None


def test_shapes_and_elem_types():
    model = diamond()
    assert model.get_tensor_shape("x") == [1, 4]
    assert model.get_tensor_shape("w") == [1, 4]  # initializer: its array shape
    assert model.get_tensor_shape("a") is None  # no value info yet
    model.set_tensor_shape("a", [1, 4])
    assert model.get_tensor_shape("a") == [1, 4]
    model.set_tensor_shape("a", [2, 2], TensorProto.INT8)  # existing elem type is kept
    assert model.get_tensor_shape("a") == [2, 2]
    assert model.get_tensor_elem_type("a") == TensorProto.FLOAT
    model.set_tensor_shape("b", [3], TensorProto.INT64)
    assert model.get_tensor_elem_type("b") == TensorProto.INT64
    assert model.get_tensor_elem_type("w") == TensorProto.FLOAT
    assert model.get_tensor_elem_type("nope") is None and model.get_tensor_shape("nope") is None
    model.graph.input[0].CopyFrom(vi("x", ["N", 4]))
    assert model.get_tensor_shape("x") is None  # not fully static


# ------------------------------------------------------------------ datatypes and layouts
def test_datatype_annotations_live_in_quantization_annotation():
    model = diamond()
    assert model.get_tensor_datatype("a") == DataType["FLOAT32"]  # default without annotation
    assert len(model.graph.quantization_annotation) == 0
    model.set_tensor_datatype("a", DataType["INT4"])
    assert annotation_entries(model, "a") == [("finn_datatype", "INT4")]
    model.set_tensor_datatype("a", "uint8")  # strings are parsed and stored canonically
    assert annotation_entries(model, "a") == [("finn_datatype", "UINT8")]  # replaced, not appended
    assert model.get_tensor_datatype("a") == DataType["UINT8"]
    model.set_tensor_datatype("b", "FIXED<8,3>")
    assert model.get_tensor_datatype("b").name == "FIXED<8,3>"
    model.set_tensor_datatype("a", None)
    assert model.get_tensor_datatype("a") == DataType["FLOAT32"]
    assert ("finn_datatype", "UINT8") not in annotation_entries(model, "a")
    with pytest.raises(DataTypeError):
        model.set_tensor_datatype("a", "INT99")


def test_reading_a_bad_datatype_annotation_raises():
    model = diamond()
    qa = model.graph.quantization_annotation.add()
    qa.tensor_name = "a"
    kv = qa.quant_parameter_tensor_names.add()
    kv.key, kv.value = "finn_datatype", "NOT_A_TYPE"
    with pytest.raises(DataTypeError, match="NOT_A_TYPE"):
        model.get_tensor_datatype("a")


def test_layouts_use_qonnx_list_form():
    model = diamond()
    assert model.get_tensor_layout("x") is None
    model.set_tensor_layout("x", "NC")
    assert annotation_entries(model, "x") == [("tensor_layout", "['N', 'C']")]
    model.set_tensor_datatype("x", "UINT8")  # same annotation entry, second key
    model.set_tensor_layout("x", ["N", "H", "W", "C"])
    assert annotation_entries(model, "x") == [("tensor_layout", "['N', 'H', 'W', 'C']"), ("finn_datatype", "UINT8")]
    assert model.get_tensor_layout("x") == "NHWC"
    assert model.get_tensor_datatype("x") == DataType["UINT8"]
    model.set_tensor_layout("x", None)
    assert model.get_tensor_layout("x") is None and model.get_tensor_datatype("x") == DataType["UINT8"]


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("['N', 'C']", "NC"),
        ("['N', 'C', 'x']", "NCx"),
        ('["N", "H", "W", "C"]', "NHWC"),
        ("NCHW", "NCHW"),
        ("['N', 'C'", None),
        ("[", None),
    ],
)
def test_layout_reading(stored, read):
    model = diamond()
    qa = model.graph.quantization_annotation.add()
    qa.tensor_name = "a"
    kv = qa.quant_parameter_tensor_names.add()
    kv.key, kv.value = "tensor_layout", stored
    assert model.get_tensor_layout("a") == read


# ------------------------------------------------------------------ initializers
def test_initializers():
    model = diamond()
    np.testing.assert_array_equal(model.get_initializer("w"), [[0, 1, 2, 3]])
    assert model.is_constant("w") and not model.is_constant("x")
    assert model.get_initializer("x") is None
    model.set_tensor_shape("k", [7])  # stale value info for a tensor that becomes constant
    model.set_initializer("k", np.ones((2, 3), np.int64))
    assert model.get_tensor_shape("k") == [2, 3] and model.get_tensor_elem_type("k") == TensorProto.INT64
    assert all(v.name != "k" for v in model.graph.value_info)
    model.set_initializer("w", np.full((1, 4), 5, np.float32))  # replace in place
    assert [i.name for i in model.graph.initializer] == ["w", "k"]
    np.testing.assert_array_equal(model.get_initializer("w"), 5)
    model.del_initializer("w")
    model.del_initializer("w")  # absent: no error
    assert model.get_initializer("w") is None and not model.is_constant("w")


# ------------------------------------------------------------------ nodes
def test_producer_and_consumers():
    model = diamond()
    r0, m0, n0, add0 = model.graph.node
    assert model.find_producer("a") is r0 and model.find_producer("y") is add0
    assert model.find_producer("x") is None and model.find_producer("w") is None
    assert model.find_consumers("a") == [m0, n0]
    assert model.find_consumer("a") is None  # two consumers
    assert model.find_consumer("b") is add0 and model.find_consumer("y") is None
    assert model.is_fork_node(r0) and not model.is_fork_node(m0)
    assert model.is_join_node(add0) and not model.is_join_node(m0)  # w is constant


def test_node_lookup():
    model = diamond()
    assert model.get_node_by_name("n0").op_type == "Neg"
    assert model.get_node_by_name("missing") is None
    assert [n.name for n in model.get_nodes_by_op_type("Mul")] == ["m0"]
    assert model.get_nodes_by_op_type("Conv") == []
    node = model.get_node_by_name("add0")
    assert model.get_node_index(node) == 3
    with pytest.raises(GraphError, match="stray"):
        model.get_node_index(helper.make_node("Relu", ["q"], ["r"], name="stray"))
    model.remove_node(model.get_node_by_name("n0"))
    assert [n.name for n in model.graph.node] == ["r0", "m0", "add0"]


def test_nodeattrs():
    model = diamond()
    node = model.get_node_by_name("m0")
    assert model.get_nodeattr(node, "nope") is None and model.get_nodeattr(node, "nope", 7) == 7
    values = {"i": 3, "f": 0.5, "s": "NHWC", "ints": [1, 2, 3], "floats": [0.25, 1.5], "strings": ["a", "bc"]}
    for name, value in values.items():
        model.set_nodeattr(node, name, value)
    for name, value in values.items():
        assert model.get_nodeattr(node, name) == value, name
    assert isinstance(model.get_nodeattr(node, "s"), str)  # bytes are decoded
    model.set_nodeattr(node, "i", 9)  # replaced, not duplicated
    assert model.get_nodeattr(node, "i") == 9
    assert [a.name for a in node.attribute].count("i") == 1


def test_make_new_name_and_rename_tensor():
    model = diamond()
    model.set_tensor_shape("a", [1, 4])
    model.set_tensor_datatype("a", "INT4")
    model.set_tensor_datatype("w", "INT2")
    assert model.make_new_name("a") not in model.get_all_tensor_names()
    model.set_tensor_shape("t0", [1])
    assert model.make_new_name("t") == "t1"  # value-info names count as used
    for old, new in (("a", "act"), ("w", "weight"), ("x", "inp"), ("y", "out")):
        model.rename_tensor(old, new)
    assert model.get_all_tensor_names() == ["inp", "weight", "act", "b", "c", "out"]
    assert model.graph_input_names() == ["inp"] and model.graph_output_names() == ["out"]
    assert model.get_tensor_shape("act") == [1, 4] and model.get_tensor_datatype("act") == DataType["INT4"]
    assert model.get_tensor_datatype("weight") == DataType["INT2"]
    np.testing.assert_array_equal(model.get_initializer("weight"), [[0, 1, 2, 3]])
    assert [list(n.input) for n in model.graph.node] == [["inp"], ["act", "weight"], ["act"], ["b", "c"]]
    model.check()


# ------------------------------------------------------------------ structure
def test_to_networkx():
    model = diamond()
    model.graph.node.append(helper.make_node("Add", ["y", "y"], ["z"], name="twice"))
    model.graph.output[0].name = "z"
    g = model.to_networkx()
    assert sorted(g.nodes) == [0, 1, 2, 3, 4]
    assert g.nodes[1]["name"] == "m0" and g.nodes[1]["op_type"] == "Mul" and g.nodes[1]["node"] is model.graph.node[1]
    edges = sorted((u, v, d["tensor"]) for u, v, d in g.edges(data=True))
    assert edges == [(0, 1, "a"), (0, 2, "a"), (1, 3, "b"), (2, 3, "c"), (3, 4, "y"), (3, 4, "y")]


def test_topological_sort_orders_and_is_stable():
    model = diamond()
    assert [n.name for n in model.topological_sort()] == ["r0", "m0", "n0", "add0"]
    shuffled = [model.graph.node[i] for i in (3, 2, 1, 0)]
    nodes = [onnx.NodeProto() for _ in shuffled]
    for dst, src in zip(nodes, shuffled, strict=True):
        dst.CopyFrom(src)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    order = [n.name for n in model.topological_sort()]
    assert order.index("r0") < order.index("m0") < order.index("add0")
    assert order.index("n0") < order.index("add0")
    assert order == ["r0", "n0", "m0", "add0"]  # ties keep graph order (n0 is now before m0)


def cyclic() -> ModelWrapper:
    nodes = [
        helper.make_node("Relu", ["x"], ["p"], name="entry"),
        helper.make_node("Add", ["p", "s"], ["q"], name="loop_add"),
        helper.make_node("Relu", ["q"], ["r"], name="loop_relu"),
        helper.make_node("Neg", ["r"], ["s"]),  # unnamed
        helper.make_node("Identity", ["r"], ["y"], name="exit"),
    ]
    graph = helper.make_graph(nodes, "cyc", [vi("x", [1, 2])], [vi("y", [1, 2])])
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_topological_sort_reports_cycle():
    with pytest.raises(GraphError) as err:
        cyclic().topological_sort()
    msg = str(err.value)
    assert "cycle" in msg and "\n" not in msg
    assert "loop_add" in msg and "loop_relu" in msg and "Neg#3" in msg
    assert "entry" not in msg and "exit" not in msg


def test_check_accepts_valid_model():
    diamond().check(require_shapes=True)


def _broken(kind: str) -> ModelWrapper:
    model = diamond()
    if kind == "dangling":
        model.graph.node[1].input[1] = "ghost"
    elif kind == "twice":
        model.graph.node[2].output[0] = "b"
    elif kind == "output":
        model.graph.output[0].name = "nowhere"
    elif kind == "symbolic":
        model.graph.input[0].CopyFrom(vi("x", [1, "C"]))
    elif kind == "checker":
        model.graph.node[3].input.pop()  # Add with one input
    return model


@pytest.mark.parametrize(
    ("kind", "needles"),
    [
        ("dangling", ["'m0'", "ghost"]),
        ("twice", ["'b'", "produced twice", "n0"]),
        ("output", ["'nowhere'", "graph output"]),
        ("symbolic", ["'x'", "static shape"]),
        ("checker", ["ONNX checker", "add0"]),
    ],
)
def test_check_names_the_problem(kind, needles):
    with pytest.raises(GraphError) as err:
        _broken(kind).check(require_shapes=True)
    msg = str(err.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg


def test_check_rejects_cycle():
    with pytest.raises(GraphError, match="cycle"):
        cyclic().check()


def test_cleanup_value_infos():
    model = diamond()
    model.set_tensor_shape("a", [1, 4])
    model.set_tensor_shape("gone", [3])
    model.cleanup_value_infos(keep=["kept"])
    assert [v.name for v in model.graph.value_info] == ["a"]


# ------------------------------------------------------------------ copies, files
def test_copy_is_deep():
    model = diamond()
    twin = model.copy()
    twin.graph.node[0].op_type = "Sigmoid"
    twin.set_tensor_datatype("a", "INT3")
    assert model.graph.node[0].op_type == "Relu" and model.get_tensor_datatype("a") == DataType["FLOAT32"]


def test_save_and_reload(tmp_path):
    model = diamond()
    model.set_tensor_datatype("a", "BIPOLAR")
    target = tmp_path / "deep" / "er" / "m.onnx"
    model.save(target)
    for again in (ModelWrapper(target), ModelWrapper(str(target)), ModelWrapper(target.read_bytes())):
        assert again.serialize() == model.serialize()
        assert again.get_tensor_datatype("a") == DataType["BIPOLAR"]


def test_constructor_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot read"):
        ModelWrapper(tmp_path / "missing.onnx")
    with pytest.raises(ModelLoadError, match="not a valid ONNX"):
        ModelWrapper(b"\xff\xff\xff\xff")
    with pytest.raises(ModelLoadError, match="no ONNX graph"):
        ModelWrapper(b"")


def test_wrapping_a_proto_does_not_copy():
    proto = diamond().model
    model = ModelWrapper(proto)
    model.graph.node[0].name = "renamed"
    assert proto.graph.node[0].name == "renamed" and model.model is proto


# ------------------------------------------------------------------ passes
class RenameNodes(Transformation):
    """Names node i "node<i>"; reports a change only on the first round."""

    def __init__(self) -> None:
        self.calls = 0

    def apply(self, model):
        self.calls += 1
        changed = False
        for i, node in enumerate(model.graph.node):
            if node.name != f"node{i}":
                node.name = f"node{i}"
                changed = True
        return model, changed


class NeverDone(Transformation):
    max_iterations = 7

    def __init__(self) -> None:
        self.calls = 0

    def apply(self, model):
        self.calls += 1
        model.graph.doc_string += "x"
        return model, True


class Crashes(Transformation):
    def apply(self, model):
        raise KeyError("boom\nsecond line")


class RaisesGraphError(Transformation):
    def apply(self, model):
        raise GraphError("bad graph")


def test_transform_in_place_and_fixpoint():
    model = diamond()
    p = RenameNodes()
    out = model.transform(p)
    assert out is model
    assert [n.name for n in model.graph.node] == ["node0", "node1", "node2", "node3"]
    assert p.calls == 2  # one round that changed, one that confirmed the fixpoint


def test_transform_copy_leaves_original_untouched():
    model = diamond()
    before = model.serialize()
    out = model.transform(RenameNodes(), copy=True)
    assert out is not model and out.model is not model.model
    assert model.serialize() == before
    assert [n.name for n in out.graph.node] == ["node0", "node1", "node2", "node3"]


def test_non_converging_pass_raises():
    model = diamond()
    p = NeverDone()
    with pytest.raises(TransformationError) as err:
        model.transform(p)
    # the bound grows with the graph: max_iterations plus one round per node
    assert p.calls == round_limit(NeverDone.max_iterations, len(model.graph.node)) == 7 + len(model.graph.node)
    msg = str(err.value)
    assert "NeverDone" in msg and f"within {p.calls} rounds" in msg and "fixpoint" in msg and "\n" not in msg


def test_failing_pass_is_wrapped_in_one_line():
    with pytest.raises(TransformationError) as err:
        diamond().transform(Crashes())
    msg = str(err.value)
    assert "Crashes" in msg and "KeyError" in msg and "boom" in msg and "\n" not in msg
    with pytest.raises(GraphError, match="bad graph"):  # qnncc errors pass through unchanged
        diamond().transform(RaisesGraphError())


def test_analysis():
    assert diamond().analysis(lambda m: len(m.graph.node)) == 4


def test_errors_are_one_line():
    err = GraphError("first\nsecond\r\nthird\n")
    assert str(err) == "first\\nsecond\\nthird"
    assert isinstance(err, QnnccError)
