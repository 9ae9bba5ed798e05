"""FIFOs deeper than one ``axis_data_fifo`` (32768 words) stitch as a chain of them (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_stitch import residual_model, write_and_check

from qnncc import ModelWrapper
from qnncc.codegen.render import CodegenError
from qnncc.codegen.vivado.plan import AXIS_DATA_FIFO_MAX_DEPTH, Connection, fifo_chain_depths, stitch_plan


def with_fifo_depth(depth: int, fifo_name: str = "fifo_0") -> ModelWrapper:
    model = residual_model()
    node = model.get_node_by_name("fifo_0")
    assert node is not None
    node.name = fifo_name
    model.set_nodeattr(node, "depth", depth)
    return model


@pytest.mark.parametrize(
    ("depth", "chain"),
    [
        (2, [16]),
        (40, [64]),
        (32768, [32768]),
        (32769, [32768, 16]),
        (65536, [32768, 32768]),
        (100000, [32768] * 3 + [2048]),
    ],
)
def test_chain_depths_hold_the_depth_in_legal_ip_depths(depth: int, chain: list[int]) -> None:
    assert fifo_chain_depths(depth) == chain
    assert sum(chain) >= depth
    assert all(16 <= d <= AXIS_DATA_FIFO_MAX_DEPTH and d & (d - 1) == 0 for d in chain)


def test_plan_chains_a_fifo_deeper_than_the_ip() -> None:
    plan = stitch_plan(with_fifo_depth(65536))
    assert [c.name for c in plan.cells] == ["fork", "fifo_0_chain0", "fifo_0_chain1", "thr_1_0", "add"]
    chain = [plan.cell("fifo_0_chain0"), plan.cell("fifo_0_chain1")]
    assert all(c.kind == "fifo" and c.node == "fifo_0" and c.config["FIFO_DEPTH"] == "32768" for c in chain)
    assert {
        Connection("fork", "out0_V", "fifo_0_chain0", "S_AXIS", 8, "a"),
        Connection("fifo_0_chain0", "M_AXIS", "fifo_0_chain1", "S_AXIS", 8, "a"),
        Connection("fifo_0_chain1", "M_AXIS", "add", "in0_V", 8, "a_buf"),
    } <= set(plan.connections)
    assert len(plan.connections) == 5


@pytest.mark.parametrize(("board", "mode"), [("U250", "generic"), ("Pynq-Z1", "zynq")])
def test_deep_fifo_chain_passes_the_tcl_check(tmp_path: Path, board: str, mode: str) -> None:
    files, report = write_and_check(with_fifo_depth(100000), tmp_path, board, mode)
    assert report.ok, report.problems
    text = files.stitch_tcl.read_text()
    for k in range(4):
        assert f"create_bd_cell -type ip -vlnv [qnncc_ipdef xilinx.com:ip:axis_data_fifo 2.0] fifo_0_chain{k}" in text
        assert report.cells[f"fifo_0_chain{k}"].startswith("xilinx.com:ip:axis_data_fifo:")
    assert "connect_bd_intf_net [get_bd_intf_pins fifo_0_chain2/M_AXIS] [get_bd_intf_pins fifo_0_chain3/S_AXIS]" in text
    assert "CONFIG.FIFO_DEPTH {2048}" in text


def test_chain_cell_name_clash_is_rejected() -> None:
    model = with_fifo_depth(65536)
    thr = model.get_node_by_name("thr/1:0")
    assert thr is not None
    thr.name = "fifo_0_chain1"
    with pytest.raises(CodegenError, match="fifo_0_chain1"):
        stitch_plan(model)
