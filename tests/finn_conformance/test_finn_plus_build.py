"""A FINN model made of finn-plus's generic HW ops loads, estimates, builds, and its C++ simulation is bit-exact.

The model is written as finn-plus writes it after ``SpecializeLayers``: ``ElementwiseAdd_hls``
etc. in ``finn.custom_op.fpgadataflow.hls``, the shape ops in the generic domain, FINN's
attribute names, FLOAT containers, constants without ``lhs_style``/``rhs_style`` (the
import marks them). The build's ``verify`` step simulates the generated HLS C++ of the
whole partition on random inputs and compares with ``qnncc.execute``.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from finn_plus_graphs import FINN, expected, finn_plus_model
from onnx import helper
from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc.codegen.hls import hw_partition
from qnncc.custom_op import get_custom_op
from qnncc.estimate import estimate
from qnncc.flow.build import build
from qnncc.flow.config import BuildConfig
from qnncc.flow.estimate import layer_specs
from qnncc.hw.layers import HW_DOMAIN
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.perf import estimate_layer, estimate_partition
from qnncc.hw.sim import UNBOUNDED, build_network, layer_program, simulate

RNG = np.random.default_rng(1515)


def finn_exp_cycles(node: onnx.NodeProto) -> int:
    """FINN's ``get_exp_cycles`` of a finn-plus node, from its attributes (finn-plus's formulas, written out)."""
    a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
    if node.op_type == "UpsampleNearestNeighbour":
        return a["OFMDim"] ** 2 * a.get("numInputVectors", 1)
    if node.op_type in ("StreamingConcat", "StreamingSplit"):
        return int(np.prod(a["numInputVectors"])) * sum(a["ChannelsPerStream"]) // a["SIMD"]
    out = a["out_shape"]
    return int(np.prod(out[:-1])) * out[-1] // a["PE"]


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "finn_plus.onnx"
    onnx.save(finn_plus_model(), path)
    return path


def test_finn_plus_model_loads_and_executes_like_finn(model_path):
    model = qnncc.load(model_path)
    assert all(n.domain == HW_DOMAIN for n in model.graph.node)
    add = model.graph.node[0]
    assert model.get_nodeattr(add, "rhs_style") == "const" and model.get_nodeattr(add, "lhs_style") == "input"
    x = RNG.integers(-8, 8, (3, 4, 4, 8)).astype(np.float32)
    for backend in ("fast", "reference"):
        np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], expected(x))


def test_finn_plus_model_estimates_and_the_simulator_agrees(model_path):
    """FINN's cycle formulas per layer; qnncc's emitted model equals the cycle-level simulator layer by layer and
    within 2 % on the partition interval (the rule of ``tests/hw/test_perf_vs_sim.py``)."""
    result = estimate(model_path, insert_topk=False)
    child = hw_partition(result.model)
    assert len(result.layers) == len(child.graph.node) == 10
    for node, (name, est) in zip(child.graph.node, result.layers, strict=True):
        assert est.cycles == finn_exp_cycles(node), name
    child = child.transform(InsertDWC())
    nodes = {n.name: n for n in child.graph.node}
    layers = []
    for spec in layer_specs(child):
        est = estimate_layer(spec.op_type, spec.attrs, emitted=True)
        layer = get_custom_op(nodes[spec.name])
        assert isinstance(layer, HWLayer)
        program = layer_program(layer)
        assert (est.cycles, est.drain_cycles) == (program.iterations, program.latency), spec.name
        layers.append((spec.name, est))
    part = estimate_partition(layers)
    net = build_network(child)
    sim = simulate(net, frames=3, capacities=[UNBOUNDED] * len(net.streams)).check()
    assert sim.interval_cycles is not None
    assert abs(part.interval_cycles - sim.interval_cycles) <= 0.02 * sim.interval_cycles, (part, sim.interval_cycles)


def test_finn_plus_model_builds_and_its_cppsim_is_bit_exact(tmp_path, model_path):
    images = RNG.integers(-8, 8, (6, 4, 4, 8)).astype(np.float32)
    np.savez(tmp_path / "data.npz", images=images)
    config = BuildConfig(
        output_dir=tmp_path / "build", target_fps=1e5, generate_outputs=("estimate_reports", "hls", "stitch", "driver"),
        fifo_sizing="sim", insert_topk=False, verify_data=tmp_path / "data.npz",
    )  # fmt: skip
    build(model_path, config)
    assert any((tmp_path / "build" / "hls").rglob("*ElementwiseAdd*"))
    assert (tmp_path / "build" / "stitch" / "stitch_ipi.tcl").is_file()
    figures = json.loads((tmp_path / "build" / "verification" / "cppsim_results.json").read_text())
    assert figures["bit_exact"] and figures["images"] == 6, figures


@pytest.mark.parametrize(
    ("op", "shape", "axes", "out"),
    [("Squeeze", [1, 4, 1, 3], [2], [1, 4, 3]), ("Unsqueeze", [1, 4, 3], [1], [1, 1, 4, 3])],
)
def test_squeeze_axes_given_as_a_second_input(op, shape, axes, out):
    """finn-plus's Squeeze/Unsqueeze take the axes from a constant second input when the attribute is unset."""
    attrs = {"inp_dtype": "INT4", "out_dtype": "INT4", "inp_shape": shape, "out_shape": out}
    node = helper.make_node(op, ["x", "ax"], ["y"], domain=FINN, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, out)],
        [onnx.numpy_helper.from_array(np.array(axes, np.int64), "ax")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(FINN, 1)])
    x = RNG.integers(-8, 8, shape).astype(np.float32)
    for backend in ("fast", "reference"):
        np.testing.assert_array_equal(qnncc.execute(model, {"x": x}, backend=backend)["y"], x.reshape(out))
