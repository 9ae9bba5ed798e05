"""The flows append a top-1 only to class scores (issue 16): not to a binary [1, 64, 6] output.

``InsertTopK(only_classifiers=True)`` (what ``qnncc estimate``/``build`` use by default) appends
the ``TopK`` when the single output is ``[N, K]`` (unit axes allowed), ``K >= 2``, non-binary;
``InsertTopK()`` keeps appending unconditionally.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from qnncc.transforms import InsertTopK
from qnncc.transforms.streamline.topk import classifier_output
from scale_graphs import Exporter

from qnncc import ModelWrapper
from qnncc.core.datatype import DataType
from qnncc.flow.estimate import estimate


def identity(shape: list[int], dtype: str | None = None) -> ModelWrapper:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"], name="id")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    if dtype is not None:
        model.set_tensor_datatype("y", DataType[dtype])
    return model


@pytest.mark.parametrize(
    ("shape", "dtype", "why"),
    [
        ([1, 10], None, None),
        ([1, 10, 1, 1], "INT8", None),
        ([4, 1000], "FLOAT32", None),
        ([1, 64, 6], "BINARY", "is not [N, classes]"),
        ([1, 64, 6], None, "is not [N, classes]"),
        ([1, 384], "BINARY", "BINARY (a bit vector"),
        ([1, 16], "BIPOLAR", "BIPOLAR"),
        ([1, 1], None, "one class"),
    ],
)
def test_classifier_output(shape: list[int], dtype: str | None, why: str | None) -> None:
    model = identity(shape, dtype)
    reason = classifier_output(model)
    assert (reason is None) if why is None else (reason is not None and why in reason)
    t = InsertTopK(only_classifiers=True)
    out = model.transform(t)
    has_topk = any(n.op_type == "TopK" for n in out.graph.node)
    assert has_topk == (why is None) and (t.skipped is None) == (why is None)
    assert any(n.op_type == "TopK" for n in identity(shape, dtype).transform(InsertTopK()).graph.node)


def binary_map_model() -> ModelWrapper:
    """x [1, 16] (pixels/255) -> linear -> BN -> 1-bit unsigned quantizer -> Reshape [1, 64, 6]: a binary map."""
    e = Exporter(7)
    x = e.quant("x", np.float32(1 / 255), 8, signed=False)
    h = e.bn(e.linear(x, 16, 384, 4, bias=False), 384, 16)
    y = e.op("Reshape", [e.quant(h, np.float32(1.0), 1, signed=False), e.int64([1, 64, 6])])
    model = e.model("x", [1, 16], y, 384, "binary_map")
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 64, 6]))
    return model


def test_estimate_keeps_a_binary_map_output_and_tops_a_classifier() -> None:
    result = estimate(binary_map_model(), board="Pynq-Z1", input_scale="1/255")
    out = result.model.graph_output_names()[0]
    assert "TopK" not in {n.op_type for n in result.model.graph.node}
    assert list(result.model.get_tensor_shape(out) or []) == [1, 64, 6]
    e = Exporter(8)
    x = e.quant("x", np.float32(1 / 255), 8, signed=False)
    classifier = e.model("x", [1, 16], e.linear(x, 16, 10, 4, bias=False), 10, "classifier")
    topped = estimate(classifier, board="Pynq-Z1", input_scale="1/255").model
    assert list(topped.get_tensor_shape(topped.graph_output_names()[0]) or []) == [1, 1]
