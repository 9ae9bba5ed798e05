"""Builds of designs with several dataflow partitions: code generation, stitching, driver and verification.

The models (``tests/partition_graphs.py``) have a ``Sigmoid`` between two HW parts, so the HW layers
form two partitions with software between them: each partition gets its own HLS project and
packaged stitch, the top design connects them through the Zynq shell's DMAs, the driver runs the
segments in order, and ``verify`` simulates every partition bit-exact against ``execute``.
"""

from __future__ import annotations

import importlib.util
import json
import py_compile
from pathlib import Path

import numpy as np
import pytest
from partition_graphs import two_partition_cnn, two_partition_mlp
from vivado_stub.check import check_stitch_tcl

from qnncc.codegen.schedule import run_schedule
from qnncc.custom_op.partition import partition_nodes
from qnncc.flow.build import BuildConfig, build, verify_build


@pytest.fixture(scope="module")
def cnn_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("multi") / "cnn"
    build(
        two_partition_cnn(),
        BuildConfig(output_dir=out, input_scale="1/255", board="Pynq-Z1", generate_outputs=["hls", "stitch", "driver"]),
    )
    return out


def test_each_partition_has_its_own_hls_project_and_stitch(cnn_build: Path) -> None:
    for k in (0, 1):
        part = cnn_build / "partitions" / f"partition_{k}"
        assert sorted(p.name for p in (part / "hls").iterdir() if p.name.startswith("MVAU"))
        catalog = json.loads((part / "stitch" / "ip_catalog.json").read_text())
        assert catalog["mode"] == "generic" and catalog["block_design"] == f"qnncc_partition_{k}"
        report = check_stitch_tcl(
            part / "stitch" / "stitch_ipi.tcl", part / "stitch" / "ip_catalog.json", "Pynq-Z1", 10.0
        )
        assert report.ok, report.problems


def test_top_design_connects_the_partition_ips_through_the_shell(cnn_build: Path) -> None:
    stitch = cnn_build / "stitch"
    report = check_stitch_tcl(stitch / "stitch_ipi.tcl", stitch / "ip_catalog.json", "Pynq-Z1", 10.0)
    assert report.ok, report.problems
    catalog = json.loads((stitch / "ip_catalog.json").read_text())
    partitions = [c for c in catalog["cells"] if c["kind"] == "partition"]
    assert [c["vlnv"] for c in partitions] == [f"qnncc.org:qnncc:qnncc_partition_{k}:1.0" for k in (0, 1)]
    dmas = sorted(c["name"] for c in catalog["cells"] if c["kind"] == "dma")
    assert dmas == ["axi_dma_0", "axi_dma_1"]  # software between the partitions: each talks to the host
    makefile = (cnn_build / "Makefile.vivado").read_text()
    assert "$(MAKE) -C partitions/partition_1 -f Makefile.vivado stitch" in makefile


def test_top_check_fails_when_a_partition_stream_is_left_open(cnn_build: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(cnn_build, copy)
    tcl = copy / "stitch" / "stitch_ipi.tcl"
    lines = tcl.read_text().splitlines()
    drop = next(i for i, ln in enumerate(lines) if "connect_bd_intf_net" in ln and "qnncc_partition_1/s_axis_0" in ln)
    tcl.write_text("\n".join(lines[:drop] + lines[drop + 1 :]) + "\n")
    report = check_stitch_tcl(tcl, copy / "stitch" / "ip_catalog.json", "Pynq-Z1", 10.0)
    assert any("qnncc_partition_1/s_axis_0" in p for p in report.problems), report.problems


def test_driver_runs_partitions_and_software_in_order(cnn_build: Path) -> None:
    driver = cnn_build / "driver" / "driver.py"
    py_compile.compile(str(driver), doraise=True)
    spec = importlib.util.spec_from_file_location("qnncc_multi_driver", driver)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    schedule = module.META["schedule"]
    assert [s["kind"] for s in schedule] == ["software", "partition", "software", "partition", "software"]
    assert [s["inputs"] for s in schedule if s["kind"] == "partition"] == [[0], [1]]
    for step in schedule:
        if step["kind"] == "software":
            assert (cnn_build / "driver" / step["file"]).is_file()


def test_schedule_segments_cover_the_model_once() -> None:
    from qnncc.estimate import estimate

    model = estimate(two_partition_cnn(), board="Pynq-Z1", input_scale="1/255").model
    segments = run_schedule(model)
    names = [n.name for s in segments for n in s.nodes]
    assert sorted(names) == sorted(n.name for n in model.graph.node)
    assert [s.kind for s in segments].count("partition") == len(partition_nodes(model)) == 2


def test_verify_simulates_every_partition_bit_exact(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 256, (4, 16)).astype(np.float32), labels=np.arange(4))
    out = tmp_path / "mlp"
    result = build(two_partition_mlp(), BuildConfig(output_dir=out, input_scale="1/255", verify_data=data))
    figures = result.verification
    assert figures is not None and figures["bit_exact"] and figures["images"] == 4
    assert [p["bit_exact"] for p in figures["partitions"]] == [True, True]
    assert (out / "verification" / "cppsim_output_1.npy").is_file() and "accuracy" in figures
    again = verify_build(out, data, count=2)  # `qnncc verify` on the finished build
    assert again["bit_exact"] and again["images"] == 2 and len(again["partitions"]) == 2


def test_verify_names_the_partition_that_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qnncc.codegen.hls.cppsim as cppsim
    from qnncc.estimate import estimate
    from qnncc.flow.verify_partitions import verify_partitions

    model = estimate(two_partition_mlp(), board="Pynq-Z1", input_scale="1/255").model
    data = tmp_path / "data.npz"
    np.savez(data, images=np.random.default_rng(1).integers(0, 256, (3, 16)).astype(np.float32))
    real = cppsim.run_sharded
    calls = []

    def second_partition_off_by_one(sim, inputs, executor, shards):  # type: ignore[no-untyped-def]
        got = real(sim, inputs, executor, shards)
        calls.append(1)
        return [g + 1 for g in got] if len(calls) == 2 else got

    monkeypatch.setattr(cppsim, "run_sharded", second_partition_off_by_one)
    figures = verify_partitions(model, data, tmp_path / "v")
    assert not figures["bit_exact"] and figures["mismatching_images"] == 3
    assert [p["bit_exact"] for p in figures["partitions"]] == [True, False]
