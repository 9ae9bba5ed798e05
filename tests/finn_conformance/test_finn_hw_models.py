"""A FINN user's intermediate HW models load, execute, estimate and build (issue 15, item 4).

The model is written the way FINN writes it after ``SpecializeLayers``:
``MVAU_hls`` in ``finn.custom_op.fpgadataflow.hls`` and ``MVAU_rtl`` in
``...rtl``, FINN's attribute names, FLOAT containers; and, for older FINN
versions, ``MatrixVectorActivation`` with ``mem_mode="const"``.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import qnncc
from qnncc.estimate import estimate
from qnncc.flow.build import build
from qnncc.flow.config import BuildConfig
from qnncc.hw.layers import HW_DOMAIN

FINN = "finn.custom_op.fpgadataflow"
RNG = np.random.default_rng(15)
W1 = RNG.integers(-8, 8, (64, 32)).astype(np.float32)
T1 = np.sort(RNG.integers(-200, 200, (32, 15)), axis=1).astype(np.float32)
W2 = RNG.integers(-8, 8, (32, 10)).astype(np.float32)


def finn_hw_model(legacy: bool = False) -> onnx.ModelProto:
    common = {"inputDataType": "UINT4", "weightDataType": "INT4", "numInputVectors": [1]}
    mem_mode = "const" if legacy else "internal_decoupled"
    first, second = ("MatrixVectorActivation",) * 2 if legacy else ("MVAU_hls", "MVAU_rtl")
    dom1, dom2 = (FINN, FINN) if legacy else (f"{FINN}.hls", f"{FINN}.rtl")
    nodes = [
        helper.make_node(first, ["x", "w1", "t1"], ["h"], domain=dom1, name="MVAU_0", MW=64, MH=32, PE=4, SIMD=8,
                         outputDataType="UINT4", accDataType="INT16", mem_mode=mem_mode,
                         **common),
        helper.make_node(second, ["h", "w2"], ["y"], domain=dom2, name="MVAU_1", MW=32, MH=10, PE=2, SIMD=4,
                         outputDataType="INT16", accDataType="INT16", noActivation=1, **common),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "finn_hw",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, k) for k, v in {"w1": W1, "t1": T1, "w2": W2}.items()],
    )
    imports = [helper.make_opsetid("", 13)] + [helper.make_opsetid(d, 1) for d in {dom1, dom2}]
    return helper.make_model(graph, opset_imports=imports)


def _expected(x: np.ndarray) -> np.ndarray:
    return np.sum((x @ W1)[..., None] >= T1, axis=-1) @ W2


@pytest.mark.parametrize("legacy", [False, True])
def test_finn_hw_model_loads_with_the_backend_recorded(tmp_path, legacy):
    path = tmp_path / "finn_hw.onnx"
    onnx.save(finn_hw_model(legacy), path)
    model = qnncc.load(path)
    assert [(n.op_type, n.domain) for n in model.graph.node] == [("MVAU", HW_DOMAIN)] * 2
    styles = [model.get_nodeattr(n, "preferred_impl_style") for n in model.graph.node]
    assert styles == ([None, None] if legacy else ["hls", "rtl"])
    if legacy:
        assert model.get_nodeattr(model.graph.node[0], "mem_mode") == "internal_embedded"
    x = RNG.integers(0, 16, (5, 64)).astype(np.float32)
    for backend in ("fast", "reference"):
        np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], _expected(x))


def test_specialized_nodes_execute_without_load():
    """``qnncc.execute`` on the raw FINN protobuf (no ingest): the specialized names are known ops."""
    x = RNG.integers(0, 16, (2, 64)).astype(np.float32)
    np.testing.assert_array_equal(qnncc.execute(finn_hw_model(), {"x": x})["y"], _expected(x))


def test_finn_hw_model_estimates_and_builds(tmp_path):
    path = tmp_path / "finn_hw.onnx"
    onnx.save(finn_hw_model(), path)
    result = estimate(path)
    assert [name for name, _ in result.layers][:2] == ["MVAU_0", "MVAU_1"]
    config = BuildConfig(
        output_dir=tmp_path / "build", target_fps=1e6, generate_outputs=("estimate_reports", "hls"),
        fifo_sizing="off", insert_topk=False,
    )  # fmt: skip
    build(path, config)
    assert any((tmp_path / "build" / "hls").rglob("*.cpp"))


@pytest.mark.parametrize("absolute", [True, False])
def test_finn_dataflow_parent_with_child_file_loads(tmp_path, absolute):
    """FINN's ``dataflow_parent.onnx``: a StreamingDataflowPartition naming its child ``.onnx`` by path."""
    child_path = tmp_path / "partition_0" / "df_model.onnx"
    child_path.parent.mkdir()
    onnx.save(finn_hw_model(), child_path)
    ref = str(child_path) if absolute else "partition_0/df_model.onnx"
    sdp = helper.make_node("StreamingDataflowPartition", ["x"], ["y"], domain=FINN, name="SDP_0", model=ref)
    graph = helper.make_graph(
        [sdp],
        "parent",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    parent = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(FINN, 1)])
    onnx.save(parent, tmp_path / "dataflow_parent.onnx")
    model = qnncc.load(tmp_path / "dataflow_parent.onnx")
    child = model.graph.node[0].attribute[0].g
    assert [n.op_type for n in child.node] == ["MVAU", "MVAU"]
    x = RNG.integers(0, 16, (3, 64)).astype(np.float32)
    for backend in ("fast", "reference"):
        np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], _expected(x))


def test_missing_child_file_is_one_clear_error(tmp_path):
    sdp = helper.make_node("StreamingDataflowPartition", ["x"], ["y"], domain=FINN, name="SDP_0", model="nowhere.onnx")
    graph = helper.make_graph(
        [sdp],
        "parent",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "p.onnx")
    with pytest.raises(qnncc.QnnccError, match=r"SDP_0.*nowhere\.onnx"):
        qnncc.load(tmp_path / "p.onnx")
