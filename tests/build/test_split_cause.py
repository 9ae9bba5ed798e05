"""The "needs N partitions" message names the software node that splits the stream, or the budget."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from onnx import helper
from qnncc.transforms import InferDataTypes, InferShapes
from qnncc.transforms.hw import CreateDataflowPartition

from qnncc import DataType, ModelWrapper
from qnncc.core.errors import QnnccError
from qnncc.flow.steps import child_model, split_cause
from qnncc.hw.layers import HW_DOMAIN

COMMON = {"NumChannels": 4, "numInputVectors": [1, 2, 2], "PE": 1, "inputDataType": "INT4", "paramDataType": "INT3"}


def channelwise(inp: str, out: str, name: str, param: str) -> Any:
    return helper.make_node(
        "ChannelwiseOp", [inp, param], [out], name=name, domain=HW_DOMAIN, Func="add", outputDataType="INT5", **COMMON
    )


def two_layers(software_between: bool) -> ModelWrapper:
    """x -> add_a [-> Mul(0.37)] -> add_b -> y on INT4 channels-last [1, 2, 2, 4]."""
    mid = "a"
    nodes = [channelwise("x", "a", "add_a", "pa")]
    consts: dict[str, Any] = {"pa": np.array([1, -2, 3, 0]), "pb": np.array([0, 1, -1, 2])}
    if software_between:
        nodes.append(helper.make_node("Mul", ["a", "s"], ["m"], name="Mul_7"))
        consts["s"] = np.float32(0.37)
        mid = "m"
    nodes.append(channelwise(mid, "y", "add_b", "pb"))
    model = hw_graph_model(nodes, {"x": [1, 2, 2, 4]}, ["y"], consts)
    model.set_tensor_datatype("x", DataType["INT4"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    if software_between:
        model.set_tensor_datatype("m", DataType["INT5"])  # what the second layer is declared to read
    return model


def test_software_node_between_partitions_is_named() -> None:
    model = two_layers(software_between=True).transform(CreateDataflowPartition())
    cause = split_cause(model)
    assert cause.startswith("software between HW layers splits the stream: Mul_7 (Mul) kept in software")
    assert "pick a larger board" not in cause
    with pytest.raises(QnnccError, match=r"has 2 partitions; this function takes one \(software between"):
        child_model(model)


def test_budget_split_says_fold_more() -> None:
    model = two_layers(software_between=False).transform(CreateDataflowPartition({"add_a": 0, "add_b": 1}))
    assert split_cause(model) == "the layers do not fit the board together: fold more or pick a larger board"
