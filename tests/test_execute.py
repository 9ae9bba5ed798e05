"""qnncc.execute: input validation, return_all, batching and the per-model executor cache."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import qnncc
from qnncc import Executor, ModelWrapper
from qnncc.core import ExecutionError
from qnncc.custom_op import get_custom_op, is_custom_node
from qnncc.data import demo_inputs, demo_model_path

BACKENDS = ["fast", "reference"]


@pytest.fixture(scope="module")
def tfc() -> ModelWrapper:
    """TFC-W1A1 as loaded by qnncc (do not mutate; copy first)."""
    return qnncc.load(demo_model_path())


def scaled_relu(batch: int | str = 1, scale: float = 2.0) -> ModelWrapper:
    """y = MultiThreshold(Relu(x) * w) with thresholds 1..3, so y counts steps of x * w."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Mul", ["r", "w"], ["m"], name="mul"),
        helper.make_node(
            "MultiThreshold",
            ["m", "thr"],
            ["y"],
            name="mt",
            domain="finn.custom_op.general",
            out_dtype="UINT2",
            out_scale=1.0,
        ),
    ]
    inits = [
        numpy_helper.from_array(np.full((1, 3), scale, np.float32), "w"),
        numpy_helper.from_array(np.array([[1, 2, 3]], np.float32), "thr"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])],
        inits,
    )
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


X = np.array([[-1.0, 0.5, 1.0]], np.float32)  # r*2 = [0, 1, 2] -> counts [0, 1, 2]


# ------------------------------------------------------------------ inputs
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("feeds", "needles"),
    [
        ({}, ["missing ['x']"]),
        ({"X": X}, ["missing ['x']", "unknown ['X']"]),
        ({"x": X, "extra": X}, ["unknown ['extra']"]),
    ],
)
def test_bad_input_names(backend, feeds, needles):
    with pytest.raises(ExecutionError) as err:
        qnncc.execute(scaled_relu(), feeds, backend=backend)
    msg = str(err.value)
    assert "\n" not in msg and "expected ['x']" in msg
    for needle in needles:
        assert needle in msg


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(1, 4), (1, 2), (3,), (1, 3, 1), (), (3, 1)])
def test_bad_input_shapes(backend, shape):
    with pytest.raises(ExecutionError) as err:
        qnncc.execute(scaled_relu(), {"x": np.zeros(shape, np.float32)}, backend=backend)
    msg = str(err.value)
    assert "'x'" in msg and str(list(shape)) in msg and "[1, 3]" in msg and "\n" not in msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_shape_on_golden_model(tfc, backend):
    with pytest.raises(ExecutionError, match=r"'global_in' has shape \[1, 784\]"):
        qnncc.execute(tfc, {"global_in": np.zeros((1, 784), np.float32)}, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_are_converted_to_the_declared_type(backend):
    out = qnncc.execute(scaled_relu(), {"x": [[-1, 0.5, 1]]}, backend=backend)["y"]  # list of float64
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 1, 2]])


def test_non_numeric_input_is_an_execution_error():
    with pytest.raises(ExecutionError):
        qnncc.execute(scaled_relu(), {"x": np.array([["a", "b", "c"]])})


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        qnncc.execute(scaled_relu(), {"x": X}, backend="gpu")  # type: ignore[arg-type]


# ------------------------------------------------------------------ batching
@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_one_model_takes_any_batch(backend):
    rng = np.random.default_rng(0)
    xs = rng.integers(-2, 4, size=(5, 3)).astype(np.float32) / 2
    batched = qnncc.execute(scaled_relu(), {"x": xs}, backend=backend)["y"]
    single = np.concatenate(
        [qnncc.execute(scaled_relu(), {"x": xs[i : i + 1]}, backend=backend)["y"] for i in range(5)]
    )
    np.testing.assert_array_equal(batched, single)
    np.testing.assert_array_equal(batched, np.clip(np.floor(np.maximum(xs, 0) * 2), 0, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_fixed_batch_other_than_one(backend):
    model = scaled_relu(batch=2)
    two = np.concatenate([X, X])
    np.testing.assert_array_equal(qnncc.execute(model, {"x": two}, backend=backend)["y"], [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ExecutionError, match="fixed batch size"):
        qnncc.execute(model, {"x": np.concatenate([two, X])}, backend=backend)


# ------------------------------------------------------------------ return_all
def test_return_all_gives_every_intermediate(tfc):
    images, expected = demo_inputs()
    feeds = {"global_in": images}
    everything = qnncc.execute(tfc, feeds, backend="reference", return_all=True)
    produced = {t for node in tfc.graph.node for t in node.output if t}
    assert set(everything) == produced | {"global_in"}
    plain = qnncc.execute(tfc, feeds, backend="reference")
    assert set(plain) == {"global_out"}
    np.testing.assert_array_equal(everything["global_out"], plain["global_out"])
    np.testing.assert_array_equal(everything["global_out"].ravel(), expected)
    # each intermediate is what its node computes from the other intermediates
    values = {**{i.name: numpy_helper.to_array(i) for i in tfc.graph.initializer}, **everything}
    for node in tfc.graph.node:
        if is_custom_node(node):
            (out,) = get_custom_op(node).execute([values[t] for t in node.input])
            np.testing.assert_array_equal(everything[node.output[0]], out, err_msg=node.name)
    np.testing.assert_array_equal(everything["Div_0_out0"], images / values["Div_0_param0"])
    np.testing.assert_array_equal(everything["Reshape_0_out0"], everything["Div_0_out0"].reshape(len(images), -1))
    np.testing.assert_array_equal(
        everything["MatMul_0_out0"], everything["MultiThreshold_0_out0"] @ values["MatMul_0_param0"]
    )
    for name in produced:
        shape = tfc.get_tensor_shape(name)
        if shape is not None:
            assert list(everything[name].shape) == [len(images), *shape[1:]], name


def test_every_intermediate_agrees_between_backends(tfc):
    """Lowering keeps tensor names: expose every tensor as a graph output and compare all, bit for bit."""
    model = tfc.copy()
    produced = [t for node in model.graph.node for t in node.output if t and t not in model.graph_output_names()]
    for name in produced:
        model.graph.output.append(helper.make_tensor_value_info(name, model.get_tensor_elem_type(name) or 1, None))
    images, _ = demo_inputs()
    fast = qnncc.execute(model, {"global_in": images}, backend="fast")
    ref = qnncc.execute(model, {"global_in": images}, backend="reference", return_all=True)
    assert set(fast) == set(produced) | {"global_out"}
    for name, value in fast.items():
        np.testing.assert_array_equal(value, ref[name], err_msg=name)


def test_return_all_needs_reference():
    with pytest.raises(ExecutionError, match="reference"):
        qnncc.execute(scaled_relu(), {"x": X}, backend="fast", return_all=True)


# ------------------------------------------------------------------ cache
@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_notices_initializer_edit(backend):
    model = scaled_relu()
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X}, backend=backend)["y"], [[0, 1, 2]])
    model.set_initializer("w", np.full((1, 3), 4.0, np.float32))
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X}, backend=backend)["y"], [[0, 2, 3]])
    model.set_initializer("thr", np.array([[0.5, 5, 6]], np.float32))
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X}, backend=backend)["y"], [[0, 1, 1]])
    model.set_initializer("w", np.full((1, 3), 2.0, np.float32))
    model.set_initializer("thr", np.array([[1, 2, 3]], np.float32))  # back to the start
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X}, backend=backend)["y"], [[0, 1, 2]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_notices_attribute_and_structure_edits(backend):
    model = scaled_relu()
    qnncc.execute(model, {"x": X}, backend=backend)
    model.set_nodeattr(model.get_node_by_name("mt"), "out_bias", -1.0)
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X}, backend=backend)["y"], [[-1, 0, 1]])
    model.graph.node[0].op_type = "Abs"  # raw protobuf edit, no wrapper method involved
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X}, backend=backend)["y"], [[1, 0, 1]])


def test_cache_is_reused_while_unchanged():
    model = scaled_relu()
    qnncc.execute(model, {"x": X})
    first = model._exec_cache["fast"][1]
    qnncc.execute(model, {"x": np.concatenate([X, X])})
    assert model._exec_cache["fast"][1] is first  # same compiled executor, other batch size
    model.set_tensor_datatype("r", "UINT4")  # any edit invalidates
    qnncc.execute(model, {"x": X})
    assert model._exec_cache["fast"][1] is not first


def test_copy_does_not_share_the_cache():
    model = scaled_relu()
    qnncc.execute(model, {"x": X})
    twin = model.copy()
    twin.set_initializer("w", np.full((1, 3), 4.0, np.float32))
    np.testing.assert_array_equal(qnncc.execute(twin, {"x": X})["y"], [[0, 2, 3]])
    np.testing.assert_array_equal(qnncc.execute(model, {"x": X})["y"], [[0, 1, 2]])


def test_executor_is_a_snapshot():
    model = scaled_relu()
    executor = Executor(model, backend="reference")
    model.set_initializer("w", np.full((1, 3), 4.0, np.float32))
    np.testing.assert_array_equal(executor.run({"x": X})["y"], [[0, 1, 2]])


def test_execute_accepts_a_model_proto():
    proto = scaled_relu().model
    assert isinstance(proto, onnx.ModelProto)
    np.testing.assert_array_equal(qnncc.execute(proto, {"x": X})["y"], [[0, 1, 2]])


def _wide_weight_model() -> ModelWrapper:
    """y = x @ W with W 128 x 64 small integers (32 KiB: above the fingerprint's content limit)."""
    w = np.random.default_rng(0).integers(-3, 4, size=(128, 64)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_repeated_execute_does_not_serialize_the_model(monkeypatch):
    """Issue 15 item 6: the cache check of a batch-1 call must not cost a whole-model serialization."""
    model = _wide_weight_model()
    x = np.ones((1, 128), np.float32)
    qnncc.execute(model, {"x": x})
    first = model._exec_cache["fast"][1]

    def refuse(*_args: object) -> bytes:
        raise AssertionError("execute serialized the model")

    monkeypatch.setattr(ModelWrapper, "serialize", refuse)
    monkeypatch.setattr(onnx.ModelProto, "SerializeToString", refuse, raising=False)
    for _ in range(3):
        qnncc.execute(model, {"x": x})
    assert model._exec_cache["fast"][1] is first


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_notices_large_initializer_edits(backend):
    model = _wide_weight_model()
    x = np.ones((1, 128), np.float32)
    before = qnncc.execute(model, {"x": x}, backend=backend)["y"]
    w = model.get_initializer("w")
    model.set_initializer("w", 2 * w)  # through the wrapper
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], 2 * before)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(3 * w, "w"))  # raw edit, same shape
    model.mark_changed()
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], 3 * before)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(w[:, :32].copy(), "w"))  # raw edit, new shape
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 32
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], before[:, :32])
