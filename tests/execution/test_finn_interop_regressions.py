"""Regressions from running FINN's test models (issue 15 items 3 and 5; issue 16 item a).

Each model is built with ``onnx.helper`` the way FINN's tests (or Brevitas'
exports) build it, and checked in both back ends against numpy.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
from hw_graphs import hw_graph_model
from onnx import TensorProto, helper, numpy_helper

import qnncc
from qnncc import ModelWrapper
from qnncc.hw.layers import HW_DOMAIN

BACKENDS = ["fast", "reference"]
QONNX = "qonnx.custom_op.general"


def _count(acc: np.ndarray, thr: np.ndarray) -> np.ndarray:
    return np.sum(acc[..., None] >= thr, axis=-1).astype(np.float32)


# ----------------------------------------------------------------- item 3: conv -> FC transition


@pytest.mark.parametrize("backend", BACKENDS)
def test_fc_mvau_reads_the_nhwc_conv_output_directly(backend):
    """After FINN's ``RemoveCNVtoFCFlatten`` the FC MVAU (MW = H*W*C) reads the conv MVAU's [N, H, W, C]."""
    rng = np.random.default_rng(3)
    w_conv = rng.integers(-8, 8, (36, 8)).astype(np.float32)
    w_fc = rng.integers(-8, 8, (6 * 6 * 8, 16)).astype(np.float32)
    t1 = np.sort(rng.integers(-40, 40, (8, 15)), axis=1).astype(np.float32)
    t2 = np.sort(rng.integers(-400, 400, (16, 15)), axis=1).astype(np.float32)
    common = {"inputDataType": "UINT4", "weightDataType": "INT4", "outputDataType": "UINT4", "domain": HW_DOMAIN}
    nodes = [
        helper.make_node("MVAU", ["cols", "wc", "t1"], ["conv"], MW=36, MH=8, numInputVectors=[1, 6, 6], **common),
        helper.make_node("MVAU", ["conv", "wf", "t2"], ["y"], MW=288, MH=16, **common),
    ]
    model = hw_graph_model(nodes, {"cols": [1, 6, 6, 36]}, ["y"], {"wc": w_conv, "wf": w_fc, "t1": t1, "t2": t2})
    model.graph.value_info.append(helper.make_tensor_value_info("conv", TensorProto.FLOAT, [1, 288]))  # stale
    cols = rng.integers(0, 16, (3, 6, 6, 36)).astype(np.float32)
    conv = _count(cols @ w_conv, t1)
    expected = _count(conv.reshape(3, -1) @ w_fc, t2)
    np.testing.assert_array_equal(qnncc.execute(model, {"cols": cols}, backend=backend)["y"], expected)
    np.testing.assert_array_equal(qnncc.execute(model, {"cols": cols[:1]}, backend=backend)["y"], expected[:1])


@pytest.mark.parametrize("use_reshape", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_to_fc_transition_standard_ops(backend, use_reshape):
    """FINN's ``test_convert_to_hw_conv_fc_transition`` graph after lowering: NHWC MultiThreshold,
    Transpose back, Flatten or Reshape([1, -1]) (declared with a stale scalar shape), MatMul."""
    rng = np.random.default_rng(4)
    wconv = rng.integers(-8, 8, (36, 8)).astype(np.float32)
    t1 = np.sort(rng.integers(-30, 30, (8, 15)), axis=1).astype(np.float32)
    wfc = rng.integers(-8, 8, (288, 16)).astype(np.float32)
    t2 = np.sort(rng.integers(-300, 300, (16, 15)), axis=1).astype(np.float32)
    flatten = (
        helper.make_node("Reshape", ["thres1_out", "reshape_shape"], ["flat"])
        if use_reshape
        else helper.make_node("Flatten", ["thres1_out"], ["flat"], axis=1)
    )
    nodes = [
        helper.make_node("MatMul", ["cols", "wconv"], ["conv_nhwc"]),
        helper.make_node(
            "MultiThreshold", ["conv_nhwc", "t1"], ["thr_nhwc"], domain=QONNX, out_dtype="UINT4", data_layout="NHWC"
        ),
        helper.make_node("Transpose", ["thr_nhwc"], ["thres1_out"], perm=[0, 3, 1, 2]),
        flatten,
        helper.make_node("MatMul", ["flat", "wfc"], ["mm"]),
        helper.make_node("MultiThreshold", ["mm", "t2"], ["y"], domain=QONNX, out_dtype="UINT4"),
    ]
    inits = {"wconv": wconv, "t1": t1, "wfc": wfc, "t2": t2, "reshape_shape": np.array([1, -1], np.int64)}
    graph = helper.make_graph(
        nodes,
        "conv_fc",
        [helper.make_tensor_value_info("cols", TensorProto.FLOAT, [1, 6, 6, 36])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
        value_info=[helper.make_tensor_value_info("reshape_shape", TensorProto.INT64, [])],
    )
    model = ModelWrapper(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)])
    )
    cols = rng.integers(0, 16, (2, 6, 6, 36)).astype(np.float32)
    thr1 = _count(cols @ wconv, t1).transpose(0, 3, 1, 2)
    expected = _count(thr1.reshape(2, -1) @ wfc, t2)
    np.testing.assert_array_equal(qnncc.execute(model, {"cols": cols}, backend=backend)["y"], expected)


# ----------------------------------------------------------------- item 5: Resize with a dangling roi


def _resize_model() -> onnx.ModelProto:
    """FINN's upsampling tests: ``Resize(x, roi, scales)`` where ``roi`` is named but defined nowhere."""
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "roi", "scales"], ["y"], mode="nearest", name="resize")],
        "upsample",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_load_accepts_an_undefined_optional_input_with_a_warning(tmp_path, caplog):
    path = tmp_path / "resize.onnx"
    onnx.save(_resize_model(), path)
    with caplog.at_level(logging.WARNING):
        model = qnncc.load(path, simplify=False)
    assert list(model.graph.node[0].input) == ["x", "", "scales"]
    assert any("'roi'" in r.getMessage() and "absent" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("backend", BACKENDS)
def test_execute_accepts_an_undefined_optional_input(backend):
    x = np.arange(18, dtype=np.float32).reshape(1, 2, 3, 3)
    y = qnncc.execute(ModelWrapper(_resize_model()), {"x": x}, backend=backend)["y"]
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(2, axis=3))


def test_an_undefined_required_input_is_still_refused(tmp_path):
    proto = _resize_model()
    proto.graph.node[0].input[0] = "nowhere"
    path = tmp_path / "bad.onnx"
    onnx.save(proto, path)
    with pytest.raises(qnncc.QnnccError, match="nowhere"):
        qnncc.load(path, simplify=False)


# ----------------------------------------------------------------- batched Reshape([1, -1], allowzero=1)


@pytest.mark.parametrize("shape", [[1, -1], [1, 784], [1, -1, 1], [1, 28, -1]])
@pytest.mark.parametrize("allowzero", [0, 1])
@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_execution_of_any_legal_reshape(backend, allowzero, shape):
    """Brevitas' dynamo export writes ``Reshape([1, -1], allowzero=1)``; batch 4 used to fail in the GEMM."""
    w = np.random.default_rng(0).integers(-3, 4, (784, 10)).astype(np.float32)
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["f"], allowzero=allowzero),
        helper.make_node("Reshape", ["f", "flat"], ["g"]),
        helper.make_node("MatMul", ["g", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [
            numpy_helper.from_array(np.array(shape, np.int64), "s"),
            numpy_helper.from_array(np.array([1, 784], np.int64), "flat"),
            numpy_helper.from_array(w, "w"),
        ],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]))
    x = np.random.default_rng(1).integers(0, 5, (4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], x.reshape(4, -1) @ w)
