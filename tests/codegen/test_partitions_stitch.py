"""Two partitions connected directly (a split by resources, no software between): top design, driver, verify.

The HW graph of ``tests/build/test_split_cause.py`` (two ChannelwiseOp layers) split into two
partitions: the top design joins partition 0's output to partition 1's input with one AXI-Stream
net, so the Zynq shell has one DMA; the driver runs both partitions in one step; the verification
simulates both, the second on the first one's simulated output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hw_graphs import hw_graph_model
from onnx import helper
from qnncc.transforms import InferDataTypes, InferShapes
from qnncc.transforms.hw import CreateDataflowPartition
from vivado_stub.check import check_stitch_tcl

from qnncc import DataType, ModelWrapper
from qnncc.codegen import generate_hls
from qnncc.codegen.driver_multi import multi_driver_context
from qnncc.codegen.render import CodegenError
from qnncc.codegen.vivado.partitions import partition_dir, top_plan, write_partitioned_stitch
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.tlast import write_plan_tlast_ips
from qnncc.flow.partition_steps import children
from qnncc.flow.verify_partitions import verify_partitions
from qnncc.hw.layers import HW_DOMAIN

COMMON = {"NumChannels": 4, "numInputVectors": [1, 2, 2], "PE": 1, "inputDataType": "INT4", "paramDataType": "INT3"}


def two_layers() -> ModelWrapper:
    """x -> add_a -> add_b -> y on INT4 channels-last [1, 2, 2, 4] (as in tests/build/test_split_cause.py)."""
    nodes = [
        helper.make_node(
            "ChannelwiseOp", [i, p], [o], name=n, domain=HW_DOMAIN, Func="add", outputDataType="INT5", **COMMON
        )
        for i, p, o, n in (("x", "pa", "a", "add_a"), ("a", "pb", "y", "add_b"))
    ]
    consts = {"pa": np.array([1, -2, 3, 0]), "pb": np.array([0, 1, -1, 2])}
    model = hw_graph_model(nodes, {"x": [1, 2, 2, 4]}, ["y"], consts)
    model.set_tensor_datatype("x", DataType["INT4"])
    return model.transform(InferShapes()).transform(InferDataTypes())


@pytest.fixture
def chained() -> ModelWrapper:
    return two_layers().transform(CreateDataflowPartition({"add_a": 0, "add_b": 1}))


@pytest.mark.parametrize("mode", ["zynq", "generic"])
def test_direct_connection_is_one_net_and_passes_the_check(chained: ModelWrapper, tmp_path: Path, mode: str) -> None:
    kids = children(chained)
    for k, child in enumerate(kids):
        generate_hls(child, tmp_path / partition_dir(k))
    if mode == "zynq":  # the top's TLAST inserters (the build's hls step writes them)
        write_plan_tlast_ips(top_plan(chained, [stitch_plan(c) for c in kids]), tmp_path, "xc7z020clg400-1", 10.0)
    files = write_partitioned_stitch(chained, kids, tmp_path, "Pynq-Z1", 10.0, mode)  # type: ignore[arg-type]
    catalog = json.loads(files.catalog.read_text())
    nets = {(s["src"], s["dst"]) for s in catalog["streams"]}
    assert ("qnncc_partition_0/m_axis_0", "qnncc_partition_1/s_axis_0") in nets
    assert len([c for c in catalog["cells"] if c["kind"] == "dma"]) == (1 if mode == "zynq" else 0)
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0)
    assert report.ok, report.problems


def test_driver_runs_connected_partitions_together(chained: ModelWrapper) -> None:
    meta = multi_driver_context(chained, board="Pynq-Z1")["meta"]
    steps = [s for s in meta["schedule"] if s["kind"] == "partition"]
    assert len(steps) == 1 and steps[0]["inputs"] == [0] and steps[0]["outputs"] == [0]


def test_top_plan_refuses_a_width_change_between_partitions(chained: ModelWrapper) -> None:
    from dataclasses import replace

    plans = [stitch_plan(c) for c in children(chained)]
    wider = replace(plans[1], inputs=(replace(plans[1].inputs[0], width=plans[1].inputs[0].width + 8),))
    with pytest.raises(CodegenError, match="words out"):
        top_plan(chained, [plans[0], wider])


def test_verify_chains_the_simulated_partitions(chained: ModelWrapper, tmp_path: Path) -> None:
    data = tmp_path / "d.npz"
    # add_b is declared to read INT4: inputs -4..3 keep add_a's sums (bias -2..3) inside it
    np.savez(data, images=np.random.default_rng(2).integers(-4, 4, (5, 2, 2, 4)).astype(np.float32))
    figures = verify_partitions(chained, data, tmp_path / "v")
    assert figures["bit_exact"] and [p["partition"] for p in figures["partitions"]] == [0, 1]
