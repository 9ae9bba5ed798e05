"""Vivado IPI stitch: plan, tcl/Makefile rendering and the stub-Vivado tcl check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qnncc.transforms.hw import InsertDWC
from vivado_stub.check import check_stitch_tcl

from qnncc import ModelWrapper
from qnncc.boards import get_board
from qnncc.codegen.hls import generate_hls
from qnncc.codegen.render import CodegenError, include_dir
from qnncc.codegen.vivado.cells import Cell, Connection, ExternalStream, StitchPlan, StreamPort, hls_vlnv
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.shell import TlastSpec, dma_stream_width, tlast_specs
from qnncc.codegen.vivado.stitch import (
    StitchFiles,
    ip_catalog,
    render_build_tcl,
    render_stitch_tcl,
    render_vivado_makefile,
)
from qnncc.codegen.vivado.stitch import write_stitch as _write_stitch
from qnncc.codegen.vivado.tlast import tlast_sources, write_tlast_ips
from qnncc.custom_op import get_custom_op
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate
from qnncc.hw.layers import HW_DOMAIN

FOLDING = Path(__file__).parents[2] / "src" / "qnncc" / "data" / "tfc_w1a1_folding_config.json"


def write_stitch(
    model: ModelWrapper, out: Path, board: str, clock_ns: float | None = None, mode: str = "zynq"
) -> StitchFiles:
    """The stitch scripts plus the HLS tops the tcl check derives the HLS IP pins from (as ``qnncc build``)."""
    b = get_board(board)
    clk = b.default_clk_ns if clock_ns is None else clock_ns
    generate_hls(model, out, b.part, clk)
    if mode == "zynq":
        write_tlast_ips(model, out, b.part, clk)
    return _write_stitch(model, out, board, clock_ns, mode)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tfc_child() -> ModelWrapper:
    """TFC-W1A1 partition child with the folding config, width converters inserted."""
    result = estimate(demo_model_path(), board="Pynq-Z1", folding=json.loads(FOLDING.read_text()))
    sdp = result.model.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    return ModelWrapper(get_custom_op(sdp).child_model())


@pytest.fixture(scope="module")
def tfc(tfc_child: ModelWrapper) -> ModelWrapper:
    return tfc_child.copy().transform(InsertDWC())


def residual_model(thr_name: str = "thr/1:0") -> ModelWrapper:
    """x -> DuplicateStreams -> (StreamingFIFO | Thresholding) -> AddStreams -> Reshape -> y."""
    vectors = [1, 4, 4]
    common = {"domain": HW_DOMAIN}
    nodes = [
        helper.make_node(
            "DuplicateStreams",
            ["x"],
            ["a", "b"],
            name="fork",
            NumChannels=8,
            PE=2,
            NumOutputStreams=2,
            inputDataType="INT4",
            numInputVectors=vectors,
            **common,
        ),
        helper.make_node(
            "StreamingFIFO",
            ["a"],
            ["a_buf"],
            name="fifo_0",
            dataType="INT4",
            depth=40,
            normal_shape=[*vectors, 8],
            folded_shape=[*vectors, 4, 2],
            ram_style="block",
            **common,
        ),
        helper.make_node(
            "Thresholding",
            ["b", "thr_T"],
            ["b_act"],
            name=thr_name,
            NumChannels=8,
            PE=2,
            numSteps=15,
            ActVal=-8,
            weightDataType="INT5",
            inputDataType="INT4",
            outputDataType="INT4",
            numInputVectors=vectors,
            **common,
        ),
        helper.make_node(
            "AddStreams",
            ["a_buf", "b_act"],
            ["sum"],
            name="add",
            NumChannels=8,
            PE=2,
            inputDataType="INT4",
            numInputVectors=vectors,
            **common,
        ),
        helper.make_node("Reshape", ["sum", "flat_shape"], ["y"], name="flatten"),
    ]
    inits = [
        numpy_helper.from_array(np.tile(np.arange(-7, 8, dtype=np.float32), (8, 1)), "thr_T"),
        numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "flat_shape"),
    ]
    graph = helper.make_graph(
        nodes,
        "residual",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [*vectors, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=imports))


def write_and_check(model: ModelWrapper, out: Path, board: str, mode: str, clock_ns: float = 10.0) -> Any:
    files = write_stitch(model, out, board, clock_ns, mode)  # type: ignore[arg-type]
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, board, clock_ns)
    return files, report


# ---------------------------------------------------------------- TFC end to end
@pytest.mark.parametrize("mode", ["zynq", "generic"])
def test_tfc_stitch_passes_check(tfc: ModelWrapper, tmp_path: Path, mode: str) -> None:
    files, report = write_and_check(tfc, tmp_path, "Pynq-Z1", mode)
    assert report.problems == []
    text = files.stitch_tcl.read_text()
    assert str(tmp_path) not in text  # paths relative to the script, never this machine's
    assert "-part xc7z020clg400-1" in text and "create_bd_design qnncc_bd" in text
    assert "hls/MVAU_0/project_MVAU_0/sol1/impl/ip" in text
    hls = [c for c in report.cells if report.cells[c].startswith("qnncc.org:hls:")]
    dwc = "StreamingDataWidthConverter"
    layers = ["Thresholding_0", "MVAU_0", f"{dwc}_0", "MVAU_1", "MVAU_2", f"{dwc}_1", "MVAU_3", "LabelSelect_0"]
    assert hls == ([*layers, "qnncc_tlast_0"] if mode == "zynq" else layers)
    if mode == "zynq":
        assert report.cells["zynq_ps"].startswith("xilinx.com:ip:processing_system7:")
        assert [c for c in report.cells if c.startswith("axi_dma")] == ["axi_dma_0"]
        assert "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100}" in text
        # 392-bit input: 8-bit DMA stream, integer-ratio width converter; 8-bit output: no converter
        assert "CONFIG.S_TDATA_NUM_BYTES {1} CONFIG.M_TDATA_NUM_BYTES {49}" in text
        assert "ipx::package_project" not in text
        # TLAST inserter between the accelerator output and the DMA's S2MM, controlled by the PS
        for net in (
            "LabelSelect_0/out0_V] [get_bd_intf_pins qnncc_tlast_0/in0_V]",
            "qnncc_tlast_0/out0_V] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]",
            "axi_smc_ctrl/M01_AXI] [get_bd_intf_pins qnncc_tlast_0/s_axi_control]",
        ):
            assert f"connect_bd_intf_net [get_bd_intf_pins {net}\n" in text
        assert "hls/qnncc_tlast_0/project_qnncc_tlast_0/sol1/impl/ip" in text
        assert "CONFIG.NUM_SI {1} CONFIG.NUM_MI {2}" in text  # axi_smc_ctrl: DMA + TLAST inserter
        assert "connect_bd_net [get_bd_pins zynq_ps/FCLK_CLK0] [get_bd_pins qnncc_tlast_0/ap_clk]" in text
        assert "hls/qnncc_tlast_0/hls_synth.tcl" in files.makefile.read_text()
    else:
        assert "qnncc_tlast" not in text and "qnncc_tlast" not in files.makefile.read_text()
        assert "make_bd_intf_pins_external -name s_axis_0 [get_bd_intf_pins Thresholding_0/in0_V]" in text
        assert "make_bd_intf_pins_external -name m_axis_0 [get_bd_intf_pins LabelSelect_0/out0_V]" in text
        assert "CONFIG.FREQ_HZ 100000000 [get_bd_ports ap_clk]" in text
        assert "ipx::package_project" in report.commands
    assert files.makefile == tmp_path / "Makefile.vivado"
    catalog = json.loads(files.catalog.read_text())
    assert catalog["part"] == "xc7z020clg400-1" and catalog["mode"] == mode


def test_tfc_with_board_files(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0, board_files=True)
    assert report.ok, report.problems
    assert "get_board_parts" in report.commands and not any("no board files" in m for m in report.messages)


def test_removed_stream_connection_fails(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    text = files.stitch_tcl.read_text()
    line = "connect_bd_intf_net [get_bd_intf_pins MVAU_1/out0_V] [get_bd_intf_pins MVAU_2/in0_V]\n"
    assert line in text
    files.stitch_tcl.write_text(text.replace(line, ""))
    report = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0)
    assert not report.ok
    assert "AXI-Stream interface pin MVAU_1/out0_V is not connected" in report.problems
    assert "AXI-Stream interface pin MVAU_2/in0_V is not connected" in report.problems
    with pytest.raises(CodegenError, match="MVAU_2/in0_V is not connected"):
        report.raise_for_problems()


def test_width_mismatch_in_catalog_is_detected(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "generic")
    catalog = json.loads(files.catalog.read_text())
    mvau2 = next(c for c in catalog["cells"] if c["name"] == "MVAU_2")
    assert mvau2["interfaces"][0] == {"name": "in0_V", "mode": "slave", "width": 8}
    mvau2["interfaces"][0]["width"] = 16
    report = check_stitch_tcl(files.stitch_tcl, catalog, "Pynq-Z1", 10.0)
    want = "cell MVAU_2: catalogue interface in0_V (16-bit slave) differs from the HLS top's (8-bit slave)"
    assert want in report.problems


def test_hls_pins_come_from_the_generated_tops(tfc: ModelWrapper, tmp_path: Path) -> None:
    """The check derives HLS IP pins from the tops by Vitis HLS's rules: a top edit the catalogue misses is caught."""
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    assert check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).ok
    top = tmp_path / "hls" / "MVAU_2" / "top_MVAU_2.cpp"
    text = top.read_text()
    # a 9-bit word: Vitis HLS rounds TDATA up to 16 bits, the producer's is 8
    top.write_text(text.replace("hls::stream<ap_uint<8> >& in0_V", "hls::stream<ap_uint<9> >& in0_V", 1))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("width mismatch on MVAU_1/out0_V -> MVAU_2/in0_V: 8 vs 16 bits" in p for p in problems), problems
    # an argument renamed: Vitis HLS names the pin after it, so the stitch's MVAU_2/in0_V does not exist
    top.write_text(text.replace("in0_V", "in0"))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("MVAU_2/in0_V" in p and "interface pin" in p for p in problems), problems
    # a TLAST inserter without its AXI-Lite control bundle has no s_axi_control pin
    tlast = tmp_path / "hls" / "qnncc_tlast_0" / "top_qnncc_tlast_0.cpp"
    tlast.write_text(tlast.read_text().replace("bundle = control", "bundle = ctrl"))
    top.write_text(text)
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("qnncc_tlast_0/s_axi_control" in p for p in problems), problems
    top.unlink()
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert "HLS IP MVAU_2: no generated top hls/MVAU_2/top_MVAU_2.cpp" in problems


def test_width_mismatch_in_tcl_config_is_detected(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    text = files.stitch_tcl.read_text().replace("CONFIG.M_TDATA_NUM_BYTES {49}", "CONFIG.M_TDATA_NUM_BYTES {64}")
    files.stitch_tcl.write_text(text)
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("axis_dwc_in_0/M_AXIS -> Thresholding_0/in0_V: 512 vs 392 bits" in p for p in problems)
    assert any("axis_dwc_in_0/M_AXIS is a 512-bit master by its CONFIG" in p for p in problems)


def test_plan_rejects_unconverted_widths(tfc_child: ModelWrapper) -> None:
    with pytest.raises(CodegenError, match=r"'MultiThreshold_1_out0'.*16 bits.*8 bits.*StreamingDataWidthConverter"):
        stitch_plan(tfc_child)


def test_check_reports_wrong_clock_part_and_unknown_command(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    text = files.stitch_tcl.read_text().replace("assign_bd_address\n", "assign_bd_address\nfrobnicate_bd 1\n")
    files.stitch_tcl.write_text(text)
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Ultra96", 5.0).problems
    assert any("unknown command 'frobnicate_bd'" in p for p in problems)
    assert any("project part xc7z020clg400-1 is not board Ultra96's part" in p for p in problems)
    assert any("runs at 100 MHz, expected 200 MHz" in p for p in problems)


def test_check_reports_tcl_errors_and_forbidden_commands(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "generic")
    text = files.stitch_tcl.read_text()
    files.stitch_tcl.write_text(text.replace("validate_bd_design\n", "exec rm -rf /nothing\n"))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("forbidden command 'exec'" in p for p in problems)
    assert "the block design is never validated (validate_bd_design)" in problems
    files.stitch_tcl.write_text(text.replace("create_bd_design qnncc_bd\n", "create_bd_design {qnncc_bd\n"))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert problems[0].startswith("script stopped with a Tcl error")


# ---------------------------------------------------------------- residual model, names, shells
def test_residual_plan_connects_forks_and_joins() -> None:
    plan = stitch_plan(residual_model())
    assert [c.name for c in plan.cells] == ["fork", "fifo_0", "thr_1_0", "add"]
    assert [c.kind for c in plan.cells] == ["hls", "fifo", "hls", "hls"]
    assert [p.name for p in plan.cell("fork").streams] == ["in0_V", "out0_V", "out1_V"]
    assert [p.name for p in plan.cell("add").streams] == ["in0_V", "in1_V", "out0_V"]
    assert [p.name for p in plan.cell("thr_1_0").streams] == ["in0_V", "out0_V"]  # thresholds are not a stream
    assert set(plan.connections) == {
        Connection("fork", "out0_V", "fifo_0", "S_AXIS", 8, "a"),
        Connection("fork", "out1_V", "thr_1_0", "in0_V", 8, "b"),
        Connection("fifo_0", "M_AXIS", "add", "in0_V", 8, "a_buf"),
        Connection("thr_1_0", "out0_V", "add", "in1_V", 8, "b_act"),
    }
    fifo = plan.cell("fifo_0")
    assert fifo.vlnv == "xilinx.com:ip:axis_data_fifo:2.0"
    assert dict(fifo.config) == {"FIFO_DEPTH": "64", "TDATA_NUM_BYTES": "1", "FIFO_MEMORY_TYPE": "block"}
    assert [(s.name, s.cell, s.port, s.width) for s in plan.inputs] == [("s_axis_0", "fork", "in0_V", 8)]
    # AddStreams output: INT5 x PE 2 = 10 bits -> 16-bit TDATA, through the Reshape to graph output y
    assert [(s.name, s.tensor, s.cell, s.port, s.width) for s in plan.outputs] == [
        ("m_axis_0", "y", "add", "out0_V", 16)
    ]
    assert plan.hls_tops() == ["fork", "thr_1_0", "add"]


@pytest.mark.parametrize(("board", "mode"), [("Pynq-Z2", "zynq"), ("KV260_SOM", "zynq"), ("U250", "generic")])
def test_residual_stitch_passes_check(tmp_path: Path, board: str, mode: str) -> None:
    files, report = write_and_check(residual_model(), tmp_path, board, mode, 4.0)
    assert report.ok, report.problems
    text = files.stitch_tcl.read_text()
    assert "create_bd_cell -type ip -vlnv qnncc.org:hls:thr_1_0:1.0 thr_1_0" in text
    assert "connect_bd_intf_net [get_bd_intf_pins fork/out1_V] [get_bd_intf_pins thr_1_0/in0_V]" in text
    reset = "[get_bd_pins rst_ps_0/peripheral_aresetn]" if mode == "zynq" else "[get_bd_ports ap_rst_n]"
    assert f"connect_bd_net {reset} [get_bd_pins fifo_0/s_axis_aresetn]" in text
    if board == "KV260_SOM":
        assert report.cells["zynq_ps"].startswith("xilinx.com:ip:zynq_ultra_ps_e:")
        assert "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {250}" in text
        # 16-bit output stream: the DMA matches it, no converter
        assert "CONFIG.c_s_axis_s2mm_tdata_width {16}" in text and "axis_dwc" not in text


def test_unsafe_node_names_become_safe_identifiers(tmp_path: Path) -> None:
    files, report = write_and_check(residual_model("conv/1:0"), tmp_path, "Pynq-Z1", "generic")
    assert report.ok, report.problems
    assert "conv_1_0" in report.cells and report.cells["conv_1_0"] == "qnncc.org:hls:conv_1_0:1.0"
    commands = [ln for ln in files.stitch_tcl.read_text().splitlines() if not ln.startswith("#")]
    assert not any("conv/1:0" in ln for ln in commands)
    assert "hls/conv_1_0/hls_synth.tcl" in files.makefile.read_text()


def test_zynq_mode_needs_a_zynq_board(tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match=r"U250 .*no Zynq processing system"):
        write_stitch(residual_model(), tmp_path, "U250", mode="zynq")
    with pytest.raises(CodegenError, match="unknown stitch mode"):
        render_stitch_tcl(stitch_plan(residual_model()), "Pynq-Z1", 10.0, mode="vitis")  # type: ignore[arg-type]


def test_fork_without_duplicate_streams_is_rejected() -> None:
    model = residual_model()
    fork = model.get_node_by_name("fork")
    assert fork is not None
    model.graph.node.remove(fork)
    for node in model.graph.node:
        node.input[:] = ["x" if t in ("a", "b") else t for t in node.input]
    with pytest.raises(CodegenError, match=r"tensor 'x' is read by 2 consumers.*DuplicateStreams"):
        stitch_plan(model)


def test_unknown_op_in_partition_is_rejected() -> None:
    model = residual_model()
    model.graph.node.append(helper.make_node("Relu", ["y"], ["z"], name="relu_0"))
    with pytest.raises(CodegenError, match=r"node 'relu_0' \(Relu\) is not a HW layer"):
        stitch_plan(model)


def test_multiple_streams_get_one_dma_per_input_output_pair(tmp_path: Path) -> None:
    model = residual_model()
    fork = model.get_node_by_name("fork")
    assert fork is not None
    model.graph.node.remove(fork)  # now two partition inputs: a and b
    model.graph.input.pop()
    model.graph.input.extend([helper.make_tensor_value_info(t, TensorProto.FLOAT, [1, 4, 4, 8]) for t in "ab"])
    plan = stitch_plan(model)
    assert [(s.name, s.cell, s.port) for s in plan.inputs] == [
        ("s_axis_0", "fifo_0", "S_AXIS"),
        ("s_axis_1", "thr_1_0", "in0_V"),
    ]
    catalog = ip_catalog(plan, "Pynq-Z1", 10.0, "zynq")
    dmas = {c["name"]: c["config"] for c in catalog["cells"] if c["kind"] == "dma"}
    assert list(dmas) == ["axi_dma_0", "axi_dma_1"]
    assert dmas["axi_dma_0"]["c_include_s2mm"] == "1" and dmas["axi_dma_1"]["c_include_s2mm"] == "0"
    _, report = write_and_check(model, tmp_path, "Pynq-Z1", "zynq")
    assert report.ok, report.problems


# ---------------------------------------------------------------- small pieces
@pytest.mark.parametrize(("width", "dma"), [(8, 8), (16, 16), (56, 8), (392, 8), (48, 16), (512, 512), (2048, 1024)])
def test_dma_stream_width_divides_the_accelerator_width(width: int, dma: int) -> None:
    assert dma_stream_width(width) == dma
    assert width % dma == 0


def test_build_tcl_and_makefile() -> None:
    zynq = render_build_tcl("zynq", jobs=4)
    assert "launch_runs $run {*}$args" in zynq and "qnncc_run impl_1 -to_step write_bitstream -jobs $qnncc_jobs" in zynq
    assert "qnncc.bit" in zynq and "qnncc.hwh" in zynq and "set qnncc_jobs 4" in zynq
    assert "report_utilization" in zynq and "report_timing_summary" in zynq
    generic = render_build_tcl("generic")
    assert "out_of_context" in generic and "write_bitstream" not in generic
    make = render_vivado_makefile(["MVAU_0", "conv_1_0"])
    assert "\n\t$(HLS_RUN) hls/MVAU_0/hls_synth.tcl" in make
    assert "HLS_RUN = $(VITIS_RUN) --mode hls --tcl" in make and "HLS_RUN = $(VITIS_HLS) -f" in make
    assert "\n\t$(VIVADO) -mode batch -nojournal -log stitch/stitch_ipi.log -source stitch/stitch_ipi.tcl" in make
    for target in ("all:", "hls:", "stitch:", "bitstream:"):
        assert f"\n{target}" in make
    with pytest.raises(CodegenError, match="jobs"):
        render_build_tcl("zynq", jobs=0)


# ---------------------------------------------------------------- TLAST inserters (zynq mode)
def test_tfc_catalog_lists_the_tlast_inserter(tfc: ModelWrapper) -> None:
    catalog = ip_catalog(stitch_plan(tfc), "Pynq-Z1", 10.0, "zynq")
    tlast = next(c for c in catalog["cells"] if c["name"] == "qnncc_tlast_0")
    assert tlast["kind"] == "tlast" and tlast["vlnv"] == "qnncc.org:hls:qnncc_tlast_0:1.0"
    assert tlast["ip_repo"] == "hls/qnncc_tlast_0/project_qnncc_tlast_0/sol1/impl/ip"
    assert (tlast["clock"], tlast["reset"]) == (["ap_clk"], ["ap_rst_n"])
    assert tlast["interfaces"] == [
        {"name": "in0_V", "mode": "slave", "width": 8},
        {"name": "out0_V", "mode": "master", "width": 8},
        {"name": "s_axi_control", "mode": "slave", "width": 0, "protocol": "aximm"},
    ]
    assert {"src": "axi_smc_ctrl/M01_AXI", "dst": "qnncc_tlast_0/s_axi_control"} in catalog["mm_nets"]
    assert {"src": "qnncc_tlast_0/out0_V", "dst": "axi_dma_0/S_AXIS_S2MM", "width": 8} in catalog["streams"]
    assert tlast_specs(stitch_plan(tfc)) == [TlastSpec("qnncc_tlast_0", 0, "global_out", 8, 1)]


def test_removed_tlast_axi_lite_connection_fails(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    text = files.stitch_tcl.read_text()
    line = (
        "connect_bd_intf_net [get_bd_intf_pins axi_smc_ctrl/M01_AXI] [get_bd_intf_pins qnncc_tlast_0/s_axi_control]\n"
    )
    assert line in text
    files.stitch_tcl.write_text(text.replace(line, ""))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert "AXI interface pin qnncc_tlast_0/s_axi_control is not connected" in problems
    assert "expected net axi_smc_ctrl/M01_AXI -> qnncc_tlast_0/s_axi_control is missing" in problems


def test_s2mm_without_tlast_inserter_fails(tfc: ModelWrapper, tmp_path: Path) -> None:
    files = write_stitch(tfc, tmp_path, "Pynq-Z1", 10.0, "zynq")
    text = files.stitch_tcl.read_text()
    to_tlast = "connect_bd_intf_net [get_bd_intf_pins LabelSelect_0/out0_V] [get_bd_intf_pins qnncc_tlast_0/in0_V]\n"
    from_tlast = (
        "connect_bd_intf_net [get_bd_intf_pins qnncc_tlast_0/out0_V] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]\n"
    )
    direct = "connect_bd_intf_net [get_bd_intf_pins LabelSelect_0/out0_V] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]\n"
    assert to_tlast in text and from_tlast in text
    files.stitch_tcl.write_text(text.replace(to_tlast, direct).replace(from_tlast, ""))
    problems = check_stitch_tcl(files.stitch_tcl, files.catalog, "Pynq-Z1", 10.0).problems
    assert any("axi_dma_0/S_AXIS_S2MM is fed by LabelSelect_0/out0_V, not by a TLAST inserter" in p for p in problems)
    assert "AXI-Stream interface pin qnncc_tlast_0/in0_V is not connected" in problems


def _one_layer_plan(width: int, words: int) -> StitchPlan:
    """A single HLS cell ``layer`` with a ``width``-bit input and output of ``words`` words per frame."""
    ports = (StreamPort("in0_V", "slave", width, width), StreamPort("out0_V", "master", width, width))
    cell = Cell("layer", hls_vlnv("layer"), "hls", node="layer", op_type="Test", streams=ports, ip_repo="hls/l/ip")
    inputs = (ExternalStream("s_axis_0", "x", "layer", "in0_V", width),)
    outputs = (ExternalStream("m_axis_0", "y", "layer", "out0_V", width, words),)
    return StitchPlan((cell,), (), inputs, outputs)


def test_tlast_inserter_sits_after_the_output_width_converter(tmp_path: Path) -> None:
    plan = _one_layer_plan(24, 5)  # 24-bit words: 8-bit DMA, converter 3 -> 1 bytes, 15 DMA words per frame
    assert tlast_specs(plan) == [TlastSpec("qnncc_tlast_0", 0, "y", 8, 15)]
    (tmp_path / "stitch").mkdir()
    tcl = tmp_path / "stitch" / "stitch_ipi.tcl"
    tcl.write_text(render_stitch_tcl(plan, "Pynq-Z1", 10.0, "zynq"))
    # the HLS tops the check derives the pins from: a 24-bit copy layer and the TLAST inserter
    shutil.copytree(include_dir(), tmp_path / "hls" / "include")
    (tmp_path / "hls" / "layer").mkdir()
    (tmp_path / "hls" / "layer" / "top_layer.cpp").write_text(
        '#include "qnncc/fifo.hpp"\n'
        "void layer(hls::stream<ap_uint<24> >& in0_V, hls::stream<ap_uint<24> >& out0_V) {\n"
        "#pragma HLS INTERFACE axis port = in0_V\n#pragma HLS INTERFACE axis port = out0_V\n"
        "  qnncc::stream_copy<5>(in0_V, out0_V);\n}\n"
    )
    (tmp_path / "hls" / "qnncc_tlast_0").mkdir()
    for name, text in tlast_sources(8, 15, "qnncc_tlast_0").items():
        (tmp_path / "hls" / "qnncc_tlast_0" / name).write_text(text)
    report = check_stitch_tcl(tcl, ip_catalog(plan, "Pynq-Z1", 10.0, "zynq"), "Pynq-Z1", 10.0)
    assert report.ok, report.problems
    text = tcl.read_text()
    for net in (
        "layer/out0_V] [get_bd_intf_pins axis_dwc_out_0/S_AXIS]",
        "axis_dwc_out_0/M_AXIS] [get_bd_intf_pins qnncc_tlast_0/in0_V]",
        "qnncc_tlast_0/out0_V] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]",
    ):
        assert f"connect_bd_intf_net [get_bd_intf_pins {net}\n" in text


def test_tlast_specs_need_words_per_frame() -> None:
    with pytest.raises(CodegenError, match=r"'y': words per frame unknown"):
        tlast_specs(_one_layer_plan(16, 0))


def test_write_tlast_ips_for_tfc(tfc: ModelWrapper, tmp_path: Path) -> None:
    assert write_tlast_ips(tfc, tmp_path, "xc7z020clg400-1", 8.0) == ["qnncc_tlast_0"]
    ip = tmp_path / "hls" / "qnncc_tlast_0"
    top = (ip / "top_qnncc_tlast_0.cpp").read_text()
    assert "qnncc::tlast_insert<8, 1>(in0_V, out0_V, frames);" in top
    assert "hls::stream<ap_axiu<8, 0, 0, 0> >& out0_V" in top
    assert "#pragma HLS INTERFACE s_axilite port = frames bundle = control" in top
    assert "#pragma HLS INTERFACE s_axilite port = return bundle = control" in top
    synth = (ip / "hls_synth.tcl").read_text()
    assert "set_top qnncc_tlast_0" in synth and "set_part xc7z020clg400-1" in synth and "-period 8 " in synth
    assert "-ipname qnncc_tlast_0" in synth
    assert (tmp_path / "hls" / "include" / "qnncc" / "tlast.hpp").is_file()
    # the g++ stand-in sits in hls/csim, off the Vitis HLS include path (hls/include)
    assert (tmp_path / "hls" / "csim" / "ap_axi_sdata.h").is_file()
    assert not (tmp_path / "hls" / "include" / "ap_axi_sdata.h").exists()


def test_tlast_name_clash_is_rejected(tmp_path: Path) -> None:
    model = residual_model("qnncc_tlast_0")
    with pytest.raises(CodegenError, match="'qnncc_tlast_0' clashes with a TLAST inserter"):
        write_tlast_ips(model, tmp_path)
    with pytest.raises(CodegenError, match="'qnncc_tlast_0' clashes with a Zynq shell cell"):
        _write_stitch(model, tmp_path, "Pynq-Z1", mode="zynq")
