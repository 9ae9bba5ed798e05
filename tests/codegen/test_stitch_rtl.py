"""Vivado IPI stitch of the RTL backend: module references to the generated Verilog, checked by the stub Vivado."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from qnncc.transforms.hw import InsertDWC
from test_stitch import residual_model
from vivado_stub.check import check_stitch_tcl
from vivado_stub.verilog_pins import VerilogPinError, module_pins

from qnncc import ModelWrapper
from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl import generate_rtl
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.stitch import StitchFiles, write_stitch
from qnncc.codegen.vivado.tlast import write_tlast_rtl
from qnncc.custom_op import get_custom_op
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate

FOLDING = Path(__file__).parents[2] / "src" / "qnncc" / "data" / "tfc_w1a1_folding_config.json"


@pytest.fixture(scope="module")
def tfc() -> ModelWrapper:
    result = estimate(demo_model_path(), board="Pynq-Z1", folding=json.loads(FOLDING.read_text()))
    sdp = result.model.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    return ModelWrapper(get_custom_op(sdp).child_model()).transform(InsertDWC())


def write_rtl_stitch(model: ModelWrapper, out: Path, board: str, mode: str, clock_ns: float = 10.0) -> StitchFiles:
    """As ``qnncc build --backend rtl``: the rtl step (plus the zynq shell's RTL TLAST inserters), then the stitch."""
    generate_rtl(model, out)
    if mode == "zynq":
        write_tlast_rtl(stitch_plan(model, "rtl"), out)
    return write_stitch(model, out, board, clock_ns, mode, backend="rtl")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["zynq", "generic"])
def test_tfc_rtl_stitch_uses_module_references(tfc: ModelWrapper, tmp_path: Path, mode: str) -> None:
    files = write_rtl_stitch(tfc, tmp_path, "Pynq-Z1", mode)
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0)
    assert report.problems == []
    text = files.stitch_tcl.read_text()
    layers = ["Thresholding_0", "MVAU_0", "StreamingDataWidthConverter_0", "MVAU_3", "LabelSelect_0"]
    for name in layers:
        assert f"create_bd_cell -type module -reference {name} {name}" in text
        assert report.cells[name] == f"module:{name}"
    assert "[file join $qnncc_build_dir rtl/MVAU_0_weights.dat]" in text and "rtl/qnncc_mvau.v" in text
    assert "qnncc.org:hls:MVAU_0" not in text and str(tmp_path) not in text
    tops = re.findall(r"^HLS_TOPS := (.*)$", files.makefile.read_text(), re.M)[0].split()
    assert tops == []  # no HLS IP: the shell's TLAST inserter is a module reference too
    if mode == "zynq":
        assert "create_bd_cell -type module -reference qnncc_tlast_0 qnncc_tlast_0" in text


@pytest.mark.parametrize(("board", "mode"), [("Pynq-Z2", "zynq"), ("U250", "generic")])
def test_residual_rtl_stitch_fifo_is_a_module(tmp_path: Path, board: str, mode: str) -> None:
    model = residual_model()
    files = write_rtl_stitch(model, tmp_path, board, mode, 4.0)
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, board, 4.0)
    assert report.ok, report.problems
    assert report.cells["fifo_0"] == "module:fifo_0"  # the StreamingFIFO is qnncc_fifo, not axis_data_fifo
    text = files.stitch_tcl.read_text()  # 'fork' is a Verilog keyword: its module (and cell) is n_fork
    assert "create_bd_cell -type module -reference n_fork n_fork" in text
    assert "connect_bd_intf_net [get_bd_intf_pins n_fork/out1_V] [get_bd_intf_pins thr_1_0/in0_V]" in text


def test_check_catches_a_missing_source_and_a_wrong_width(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_rtl_stitch(tfc, tmp_path, "Pynq-Z1", "generic")
    text = files.stitch_tcl.read_text()
    files.stitch_tcl.write_text(text.replace("    [file join $qnncc_build_dir rtl/MVAU_1.v] \\\n", ""))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("module reference MVAU_1: no source added" in p for p in problems), problems
    files.stitch_tcl.write_text(text)
    verilog = tmp_path / "rtl" / "MVAU_3.v"
    source = verilog.read_text()
    width = re.search(r"output wire \[(\d+):0\] out0_V_TDATA", source)
    assert width is not None
    verilog.write_text(source.replace(f"[{width[1]}:0] out0_V_TDATA", f"[{int(width[1]) + 8}:0] out0_V_TDATA"))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("MVAU_3" in p and "differs from the Verilog module" in p for p in problems), problems


def test_rtl_stitch_needs_the_rtl_step(tfc: ModelWrapper, tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match="run the rtl step first"):
        write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "generic", backend="rtl")


def test_verilog_pins_need_the_clock_association() -> None:
    text = (
        "module m (input wire ap_clk, input wire ap_rst_n, input wire [7:0] in0_V_TDATA, input wire in0_V_TVALID,\n"
        "  output wire in0_V_TREADY, output wire [15:0] out0_V_TDATA, output wire out0_V_TVALID,\n"
        "  input wire out0_V_TREADY);\nendmodule\n"
    )
    with pytest.raises(VerilogPinError, match="no ASSOCIATED_BUSIF for in0_V, out0_V"):
        module_pins(text, "m")
    good = text.replace(
        "input wire ap_clk", '(* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF in0_V:out0_V" *) input wire ap_clk'
    )
    pins = module_pins(good, "m")
    assert pins.intf == {"in0_V": ("axis", "slave", 8), "out0_V": ("axis", "master", 16)}
    assert pins.clk_in == ("ap_clk",) and pins.rst_in == ("ap_rst_n",)
    assert [c.kind for c in stitch_plan(residual_model(), "rtl").cells] == ["rtl"] * 4
