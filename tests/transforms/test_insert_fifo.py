"""InsertFIFO: a StreamingFIFO on every HW-to-HW stream; execute and the partition cppsim unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from onnx import helper
from qnncc.transforms import InferDataTypes, InferShapes
from qnncc.transforms.hw import InsertDWC
from qnncc.transforms.hw.insert_fifo import InsertFIFO, fifo_style

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls.cppsim import build_partition_sim
from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HW_DOMAIN, HWLayer

RNG = np.random.default_rng(5)


def hw(op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs: Any) -> Any:
    return helper.make_node(op_type, inputs, outputs, name=name, domain=HW_DOMAIN, **attrs)


def finish(nodes: list[Any], inputs: dict[str, list[int]], outputs: list[str], consts: dict[str, Any]) -> ModelWrapper:
    model = hw_graph_model(nodes, inputs, outputs, consts, float_consts=False)
    for name in inputs:
        model.set_tensor_datatype(name, DataType["INT4"])
    return model.transform(InferShapes()).transform(InferDataTypes())


def residual(in_depths: list[int] | None = None) -> ModelWrapper:
    """x [1, 3, 3, 6] INT4 -> fork (PE 2) -> mul (PE 3) | add (PE 1) -> AddStreams (PE 6) -> y."""
    common = {"NumChannels": 6, "numInputVectors": [1, 3, 3]}
    extra = {"inFIFODepths": in_depths} if in_depths else {}
    nodes = [
        hw("DuplicateStreams", ["x"], ["x0", "x1"], "fork", PE=2, inputDataType="INT4", **common),
        hw("ChannelwiseOp", ["x0", "pa"], ["a"], "mul", Func="mul", PE=3, inputDataType="INT4",
           paramDataType="INT3", outputDataType="INT7", **common),
        hw("ChannelwiseOp", ["x1", "pb"], ["b"], "add", Func="add", PE=1, inputDataType="INT4",
           paramDataType="INT3", outputDataType="INT5", **common),
        hw("AddStreams", ["a", "b"], ["y"], "join", PE=6, inputDataTypes=["INT7", "INT5"], **common, **extra),
    ]  # fmt: skip
    consts = {"pa": np.array([-3, 2, 1, 0, 3, -1], np.float32), "pb": np.array([1, -2, 3, 0, -4, 2], np.float32)}
    return finish(nodes, {"x": [1, 3, 3, 6]}, ["y"], consts)


def layer(node: Any) -> HWLayer:
    op = get_custom_op(node)
    assert isinstance(op, HWLayer)
    return op


def is_hw(node: Any) -> bool:
    return node.domain == HW_DOMAIN


def assert_every_hw_edge_has_a_fifo(model: ModelWrapper) -> None:
    for node in model.graph.node:
        if not is_hw(node) or node.op_type == "StreamingFIFO":
            continue
        for tensor in node.output:
            for reader in model.find_consumers(tensor):
                assert reader.op_type == "StreamingFIFO" or not is_hw(reader), (node.name, reader.name)
        for tensor in node.input:
            producer = model.find_producer(tensor)
            assert producer is None or producer.op_type == "StreamingFIFO" or not is_hw(producer), (node.name, tensor)


def test_every_hw_edge_gets_a_fifo_and_results_are_unchanged():
    model = residual()
    x = RNG.integers(-8, 8, (3, 3, 3, 6)).astype(np.float32)
    expected = qnncc.execute(model, {"x": x}, backend="reference")["y"]
    model.transform(InsertDWC())
    dwcs = len(model.get_nodes_by_op_type("StreamingDataWidthConverter"))
    assert dwcs == 4  # fork 2 -> 3 and 2 -> 1, mul 3 -> 6, add 1 -> 6
    hw_edges = sum(
        1 for n in model.graph.node for t in n.output for r in model.find_consumers(t) if is_hw(n) and is_hw(r)
    )
    model.transform(InsertFIFO())
    fifos = model.get_nodes_by_op_type("StreamingFIFO")
    assert len(fifos) == hw_edges == 4 + dwcs  # each converter splits one of the 4 edges in two
    assert_every_hw_edge_has_a_fifo(model)
    model.check()
    for fifo in fifos:
        op = layer(fifo)
        assert op.attrs["depth"] == 2 and op.attrs["impl_style"] == "rtl" and op.attrs["ram_style"] == "distributed"
        producer = model.find_producer(fifo.input[0])
        assert op.folded_input_shape() == layer(producer).folded_output_shape(
            list(producer.output).index(fifo.input[0])
        )
        assert op.input_datatype() == model.get_tensor_datatype(fifo.input[0])
    for backend in ("fast", "reference"):
        np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], expected)
    (y,) = build_partition_sim(model).run([x])
    assert np.array_equal(y, expected)


def test_idempotent_and_io_fifos_keep_graph_names():
    model = residual()
    model.transform(InsertFIFO(depth=4))
    count = len(model.get_nodes_by_op_type("StreamingFIFO"))
    assert count == 4
    model.transform(InsertFIFO(depth=4))
    assert len(model.get_nodes_by_op_type("StreamingFIFO")) == count
    model.transform(InsertFIFO(depth=4, io_fifos=True))
    assert len(model.get_nodes_by_op_type("StreamingFIFO")) == count + 2
    assert model.graph.node[0].op_type == "StreamingFIFO" and model.graph.node[0].input[0] == "x"
    assert model.find_producer("y").op_type == "StreamingFIFO"
    assert model.graph_input_names() == ["x"] and model.graph_output_names() == ["y"]
    assert all(layer(f).attrs["depth"] == 4 for f in model.get_nodes_by_op_type("StreamingFIFO"))
    model.transform(InsertFIFO(io_fifos=True))
    assert len(model.get_nodes_by_op_type("StreamingFIFO")) == count + 2
    x = RNG.integers(-8, 8, (2, 3, 3, 6)).astype(np.float32)
    expected = qnncc.execute(residual(), {"x": x})["y"]
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend="reference")["y"], expected)
    model.transform(InsertDWC())  # converters after the FIFOs (FINN runs InsertDWC first; either order simulates)
    (y,) = build_partition_sim(model).run([x])
    assert np.array_equal(y, expected)


def test_declared_fifo_depths_raise_the_depth():
    model = residual(in_depths=[2, 4000])
    model.transform(InsertFIFO())
    by_reader = {model.find_consumer(f.output[0]).name: layer(f) for f in model.get_nodes_by_op_type("StreamingFIFO")}
    deep = [op for op in by_reader.values() if op.attrs["depth"] == 4000]
    assert len(deep) == 1
    # 4000 words of 1 x INT5 (the add branch has PE=1) = 20000 bits: over half a RAMB18 -> vivado / block RAM
    assert (deep[0].attrs["impl_style"], deep[0].attrs["ram_style"]) == ("vivado", "block")
    assert all(op.attrs["depth"] == 2 for op in by_reader.values() if op is not deep[0])


@pytest.mark.parametrize(
    ("depth", "width", "style"),
    [
        (2, 8, ("rtl", "distributed")),
        (256, 36, ("rtl", "distributed")),  # 9216 bits, the largest shift-register FIFO
        (257, 8, ("vivado", "distributed")),  # deeper than an SRL chain, still small: LUTRAM
        (512, 16, ("vivado", "distributed")),
        (64, 256, ("vivado", "block")),  # 16384 bits
        (2048, 8, ("vivado", "block")),
    ],
)
def test_fifo_style_rule(depth, width, style):
    assert fifo_style(depth, width) == style


def test_through_reshape_and_bad_depth():
    common = {"inputDataType": "INT4", "paramDataType": "INT3", "outputDataType": "INT5", "Func": "add"}
    nodes = [
        hw("ChannelwiseOp", ["x", "p0"], ["m"], "first", NumChannels=4, PE=2, numInputVectors=[1, 2, 2], **common),
        helper.make_node("Reshape", ["m", "shape"], ["r"], name="flat"),
        hw("ChannelwiseOp", ["r", "p1"], ["y"], "second", NumChannels=4, PE=2, numInputVectors=[1, 4],
           **(common | {"inputDataType": "INT5", "outputDataType": "INT6"})),
    ]  # fmt: skip
    consts = {
        "p0": np.array([1, -1, 2, 0], np.float32),
        "p1": np.array([3, 0, -2, 1], np.float32),
        "shape": np.array([-1, 4, 4], np.int64),
    }
    model = finish(nodes, {"x": [1, 2, 2, 4]}, ["y"], consts)
    x = RNG.integers(-8, 8, (2, 2, 2, 4)).astype(np.float32)
    expected = qnncc.execute(model, {"x": x})["y"]
    model.transform(InsertFIFO())
    (fifo,) = model.get_nodes_by_op_type("StreamingFIFO")
    assert fifo.input[0] == "m" and model.find_consumer(fifo.output[0]).op_type == "Reshape"
    assert list(layer(fifo).attrs["normal_shape"]) == [1, 2, 2, 4]
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x})["y"], expected)
    (y,) = build_partition_sim(model).run([x])
    assert np.array_equal(y, expected)
    with pytest.raises(UnsupportedOpError, match="depth"):
        InsertFIFO(depth=0)
