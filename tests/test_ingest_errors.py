"""qnncc.load on bad input: one QnnccError with a one-line message naming the problem.

Whatever is wrong with a file, ``load`` (and executing what it returns) must
raise a :class:`QnnccError` whose ``str`` is one line, never an exception
from deep inside protobuf, onnx or onnxruntime.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import qnncc
from qnncc.core import GraphError, ModelLoadError, QnnccError, UnsupportedOpError
from qnncc.data import demo_model_path

TFC_BYTES = demo_model_path().read_bytes()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def make(nodes, inputs, outputs, inits=(), opset=13) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def small_custom_model() -> onnx.ModelProto:
    """MatMul -> Quant -> MultiThreshold -> XnorPopcountMatMul, every string field exercised."""
    c = lambda n, v: numpy_helper.from_array(np.asarray(v, np.float32), n)  # noqa: E731
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"], name="mm"),
        helper.make_node(
            "Quant",
            ["a", "s", "z", "bw"],
            ["q"],
            name="quant",
            domain="qonnx.custom_op.general",
            signed=1,
            narrow=0,
            rounding_mode="ROUND",
        ),
        helper.make_node(
            "MultiThreshold",
            ["q", "thr"],
            ["t"],
            name="mt",
            domain="finn.custom_op.general",
            out_dtype="UINT2",
            data_layout="NC",
        ),
        helper.make_node("XnorPopcountMatMul", ["t", "wb"], ["y"], name="xnor", domain="finn.custom_op.general"),
    ]
    inits = [c("w", np.ones((4, 3))), c("s", 0.5), c("z", 0), c("bw", 4), c("thr", [[-1, 0, 1]]), c("wb", np.eye(3))]
    return make(nodes, [vi("x", [1, 4])], [vi("y", [1, 3])], inits)


def assert_one_line_error(exc: BaseException, *needles: str) -> str:
    assert isinstance(exc, QnnccError), f"{type(exc).__name__} is not a QnnccError: {exc}"
    msg = str(exc)
    assert msg and "\n" not in msg and "\r" not in msg
    assert len(traceback.format_exception_only(exc)) == 1  # what a user sees without --debug
    assert "Traceback" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def write(tmp_path: Path, model: onnx.ModelProto | bytes, name: str = "m.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(model if isinstance(model, bytes) else model.SerializeToString())
    return path


# ------------------------------------------------------------------ files
def test_missing_file(tmp_path):
    path = tmp_path / "nope.onnx"
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(path)
    assert_one_line_error(err.value, str(path), "does not exist")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(tmp_path)
    assert_one_line_error(err.value, str(tmp_path), "not a file")


@pytest.mark.parametrize("cut", [1, 10, 100, 5000, len(TFC_BYTES) // 2, len(TFC_BYTES) - 100, len(TFC_BYTES) - 5])
def test_truncated_file(tmp_path, cut):
    path = write(tmp_path, TFC_BYTES[:cut])
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(path)
    assert_one_line_error(err.value, str(path), "truncated")


def test_empty_file(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(write(tmp_path, b""))
    assert_one_line_error(err.value, "no ONNX graph")


@given(cut=st.integers(0, len(TFC_BYTES) - 1))
@FUZZ
def test_any_truncation_is_one_clear_error(tmp_path, cut):
    """Every prefix fails cleanly; a cut right after the graph drops the opset import (a GraphError)."""
    path = write(tmp_path, TFC_BYTES[:cut])
    with pytest.raises(QnnccError) as err:
        qnncc.load(path)
    assert_one_line_error(err.value)


def test_cut_after_graph_names_missing_opset(tmp_path):
    model = onnx.load_from_string(TFC_BYTES)
    del model.opset_import[:]
    with pytest.raises(GraphError) as err:
        qnncc.load(write(tmp_path, model))
    assert_one_line_error(err.value, "opset")


@given(junk=st.binary(min_size=1, max_size=400))
@FUZZ
def test_garbage_bytes(tmp_path, junk):
    with pytest.raises(QnnccError) as err:
        qnncc.load(write(tmp_path, junk))
    assert_one_line_error(err.value)


def test_other_protobuf_is_not_a_model(tmp_path):
    tensor = numpy_helper.from_array(np.arange(10, dtype=np.float32), "t")
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(write(tmp_path, tensor.SerializeToString()))
    assert_one_line_error(err.value)


# ------------------------------------------------------------------ ops
def test_two_unknown_ops_are_all_listed(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="fine"),
        helper.make_node("FooOp", ["a"], ["b"], name="foo_node", domain="com.acme"),
        helper.make_node("Frobnicate", ["b"], ["c"], name="frob_node"),
        helper.make_node("Frobnicate", ["c"], ["d"], name="frob_again"),
        helper.make_node("BarOp", ["d"], ["y"], name="bar_node", domain="qonnx.custom_op.general"),
    ]
    path = write(tmp_path, make(nodes, [vi("x", [1, 4])], [vi("y", [1, 4])]))
    with pytest.raises(UnsupportedOpError) as err:
        qnncc.load(path)
    msg = assert_one_line_error(
        err.value,
        "com.acme.FooOp",
        "'foo_node'",
        "Frobnicate",
        "'frob_node'",
        "'frob_again'",
        "qonnx.custom_op.general.BarOp",
        "'bar_node'",
    )
    assert "fine" not in msg and msg.count("Frobnicate") == 1  # grouped by op type


def test_unknown_op_with_unnamed_node(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Mystery", ["a"], ["y"])]
    with pytest.raises(UnsupportedOpError) as err:
        qnncc.load(write(tmp_path, make(nodes, [vi("x", [1, 2])], [vi("y", [1, 2])])))
    assert_one_line_error(err.value, "Mystery", "#1")


def test_custom_op_with_missing_attribute(tmp_path):
    thr = numpy_helper.from_array(np.zeros((1, 3), np.float32), "thr")
    node = helper.make_node("MultiThreshold", ["x", "thr"], ["y"], name="mt0", domain="finn.custom_op.general")
    with pytest.raises(UnsupportedOpError) as err:
        qnncc.load(write(tmp_path, make([node], [vi("x", [1, 4])], [vi("y", [1, 4])], [thr])))
    assert_one_line_error(err.value, "'mt0'", "out_dtype")


# ------------------------------------------------------------------ graph structure
def test_cycle(tmp_path):
    nodes = [
        helper.make_node("Add", ["x", "back"], ["p"], name="join"),
        helper.make_node("Relu", ["p"], ["q"], name="act"),
        helper.make_node("Neg", ["q"], ["back"], name="feedback"),
        helper.make_node("Identity", ["q"], ["y"], name="out"),
    ]
    with pytest.raises(GraphError) as err:
        qnncc.load(write(tmp_path, make(nodes, [vi("x", [1, 4])], [vi("y", [1, 4])])))
    assert_one_line_error(err.value, "cycle", "join", "act", "feedback")


def test_dangling_input(tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="adder")]
    with pytest.raises(GraphError) as err:
        qnncc.load(write(tmp_path, make(nodes, [vi("x", [1, 4])], [vi("y", [1, 4])])))
    assert_one_line_error(err.value, "'adder'", "ghost")


def test_symbolic_non_batch_dimension(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    with pytest.raises(GraphError) as err:
        qnncc.load(write(tmp_path, make(nodes, [vi("x", ["N", "C", 8])], [vi("y", ["N", "C", 8])])))
    assert_one_line_error(err.value, "'x'", "'C'", "axis 1")


def test_symbolic_batch_dimension_is_pinned(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    model = qnncc.load(write(tmp_path, make(nodes, [vi("x", ["batch", 4])], [vi("y", ["batch", 4])])))
    assert model.get_tensor_shape("x") == [1, 4]


def test_input_without_shape(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    with pytest.raises(GraphError) as err:
        qnncc.load(write(tmp_path, make(nodes, [inp], [vi("y", None)])))
    assert_one_line_error(err.value)


def test_shape_inference_conflict(tmp_path, caplog):
    w = numpy_helper.from_array(np.ones((5, 4), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    with caplog.at_level(logging.ERROR), pytest.raises(GraphError) as err:
        qnncc.load(write(tmp_path, make(nodes, [vi("x", [1, 4])], [vi("y", [1, 4])], [w])))
    assert_one_line_error(err.value, "mm")


# ------------------------------------------------------------------ external data
def external_model(tmp_path: Path) -> tuple[Path, onnx.ModelProto]:
    w = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "weights")
    model = make(
        [helper.make_node("MatMul", ["x", "weights"], ["y"], name="mm")], [vi("x", [1, 4])], [vi("y", [1, 4])], [w]
    )
    folder = tmp_path / "model"
    folder.mkdir()
    onnx.save(model, str(folder / "ok.onnx"), save_as_external_data=True, location="weights.bin", size_threshold=0)
    return folder, onnx.load(str(folder / "ok.onnx"), load_external_data=False)


def with_location(proto: onnx.ModelProto, location: str) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    for entry in out.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = location
    return out


def test_external_data_inside_folder_loads(tmp_path):
    folder, _ = external_model(tmp_path)
    model = qnncc.load(folder / "ok.onnx")
    np.testing.assert_array_equal(model.get_initializer("weights"), np.arange(16).reshape(4, 4))


@pytest.mark.parametrize("location", ["../weights.bin", "sub/../../weights.bin", "ABSOLUTE"])
def test_external_data_outside_folder(tmp_path, location):
    folder, proto = external_model(tmp_path)
    (tmp_path / "weights.bin").write_bytes((folder / "weights.bin").read_bytes())  # the target exists
    if location == "ABSOLUTE":
        location = str(tmp_path / "weights.bin")
    path = folder / "evil.onnx"
    onnx.save(with_location(proto, location), str(path))
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(path)
    assert_one_line_error(err.value, "'weights'", "outside the model's folder", location)


def test_external_data_missing(tmp_path):
    folder, proto = external_model(tmp_path)
    path = folder / "missing.onnx"
    onnx.save(with_location(proto, "gone.bin"), str(path))
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(path)
    assert_one_line_error(err.value, "'weights'", "gone.bin", "missing")


# ------------------------------------------------------------------ corrupt contents (found by fuzzing)
def corrupt_string(model: onnx.ModelProto, old: bytes, new: bytes) -> bytes:
    data = model.SerializeToString()
    assert data.count(old) == 1 and len(old) == len(new)
    return data.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (b"qonnx.custom_op.general", b"qonnx.custom_op.gener\xff\xfe", "domain"),
        (b"MultiThreshold", b"MultiThresh\xc3\x28d", "op_type"),
        (b"xnor", b"x\x80or", "name"),
        (b"UINT2", b"UIN\xff2", None),  # attribute values are bytes in ONNX: reported by the custom op
    ],
)
def test_invalid_utf8_text(tmp_path, old, new, where):
    path = write(tmp_path, corrupt_string(small_custom_model(), old, new))
    with pytest.raises(QnnccError) as err:
        qnncc.load(path)
    msg = assert_one_line_error(err.value)
    assert (where in msg and "UTF-8" in msg) if where else ("'mt'" in msg and "out_dtype" in msg)


def test_newline_in_op_type_keeps_message_on_one_line(tmp_path):
    path = write(tmp_path, corrupt_string(small_custom_model(), b"MultiThreshold", b"Multi\nhreshold"))
    with pytest.raises(UnsupportedOpError) as err:
        qnncc.load(path)
    assert_one_line_error(err.value, "Multi\\nhreshold", "'mt'")


def test_custom_node_with_too_few_inputs(tmp_path):
    model = small_custom_model()
    del model.graph.node[2].input[1:]
    with pytest.raises(UnsupportedOpError) as err:
        qnncc.load(write(tmp_path, model))
    assert_one_line_error(err.value, "MultiThreshold", "'mt'", "expects 2 inputs, got 1")


@pytest.mark.parametrize("defect", ["dtype", "size"])
def test_corrupt_initializer(tmp_path, defect):
    model = small_custom_model()
    init = model.graph.initializer[0]
    if defect == "dtype":
        init.data_type = 126
    else:
        init.raw_data = init.raw_data[:-4]
    with pytest.raises(ModelLoadError) as err:
        qnncc.load(write(tmp_path, model))
    assert_one_line_error(err.value, "initializer 'w'", "corrupt")


def test_absurd_bitwidth_is_rejected(tmp_path):
    model = small_custom_model()
    model.graph.initializer[3].CopyFrom(numpy_helper.from_array(np.float32(1e5), "bw"))
    loaded = qnncc.load(write(tmp_path, model))
    with pytest.raises(UnsupportedOpError) as err:
        qnncc.execute(loaded, {"x": np.zeros((1, 4), np.float32)})
    assert_one_line_error(err.value, "'quant'", "bitwidth")


@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=3))
@FUZZ
def test_byte_flips_fail_cleanly(tmp_path, flips):
    """Load, then execute on both back ends: success or one QnnccError, nothing else."""
    data = bytearray(small_custom_model().SerializeToString())
    for pos, value in flips:
        data[pos % len(data)] = value
    path = write(tmp_path, bytes(data))
    try:
        model = qnncc.load(path)
        (name,) = model.graph_input_names()
        shape = model.get_tensor_shape(name)
        for backend in ("reference", "fast"):
            qnncc.execute(model, {name: np.zeros(shape, np.float32)}, backend=backend)
    except QnnccError as exc:
        assert_one_line_error(exc)


def test_loads_valid_model_unchanged_in_meaning():
    model = qnncc.load(demo_model_path())
    assert model.graph_input_names() == ["global_in"] and model.get_tensor_shape("global_in") == [1, 1, 28, 28]
