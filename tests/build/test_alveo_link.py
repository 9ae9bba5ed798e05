"""``--board U250`` builds: the Vitis link flow (kernels, link config, SLRs, memory banks) and the XRT driver.

The harness ``tests/vitis_stub`` checks the flow without Vitis: config syntax, every kernel and port
named exists (HLS kernel sources, partition IPs from their own stitch scripts), streams and memory
ports connected once, and every SLR within its resources. Each check is also shown to fail.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scale_graphs as sg
from partition_graphs import two_partition_cnn
from qnncc.transforms.hw import CreateDataflowPartition, InsertDWC
from vitis_stub import check as vitis_check

import qnncc
from qnncc import ModelWrapper
from qnncc.codegen.vitis import AlveoPlatform, slr_splits
from qnncc.codegen.vitis.platform import DDR_CONTROLLER
from qnncc.codegen.vitis.slr import RESOURCES, layer_resources, slr_budget
from qnncc.custom_op.partition import partition_nodes
from qnncc.flow.build import BuildConfig, build


@pytest.fixture(scope="module")
def alveo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alveo") / "cnn"
    build(two_partition_cnn(), BuildConfig(output_dir=out, input_scale="1/255", board="U250"))
    return out


def test_link_flow_passes_the_harness(alveo_build: Path) -> None:
    report = vitis_check.check_vitis_link(alveo_build, "U250")
    assert report.ok, report.problems
    cfg = (alveo_build / "vitis" / "link.cfg").read_text()
    assert "stream_connect=qnncc_mm2s_1_1.out:qnncc_partition_1_1.s_axis_0" in cfg
    assert "sp=qnncc_s2mm_0_1.dst:DDR[0]" in cfg and "slr=qnncc_partition_0_1:SLR0" in cfg
    slr = json.loads((alveo_build / "vitis" / "slr_assignment.json").read_text())
    assert slr["within_limits"] and [p["slr"] for p in slr["partitions"]] == [0, 0]
    assert "-kernel_name qnncc_partition_1" in (alveo_build / "vitis" / "package_xo.tcl").read_text()


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("stream_connect=qnncc_mm2s_1_1.out:qnncc_partition_1_1.s_axis_0\n", "", "used 0 times"),
        ("sp=qnncc_s2mm_0_1.dst:DDR[0]", "sp=qnncc_s2mm_0_1.dst:DDR[9]", "no memory bank DDR[9]"),
        ("slr=qnncc_mm2s_0_1:SLR0", "slr=qnncc_mm2s_0_1:SLR2", "memory DDR[0] is in SLR0"),
        ("qnncc_partition_1_1.s_axis_0", "qnncc_partition_1_1.s_axis_7", "no AXI-Stream port s_axis_7"),
        ("nk=qnncc_s2mm_1:1:", "nk=qnncc_s2mm_9:1:", "neither an HLS kernel source nor packaged"),
        ("[connectivity]", "[connectivity]\nkernel_frequency 300", "is not a [connectivity]"),
    ],
)
def test_harness_finds_broken_configs(alveo_build: Path, tmp_path: Path, old: str, new: str, problem: str) -> None:
    copy = tmp_path / "b"
    shutil.copytree(alveo_build, copy)
    cfg = copy / "vitis" / "link.cfg"
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new, 1))
    report = vitis_check.check_vitis_link(copy, "U250")
    assert any(problem in p for p in report.problems), report.problems


def test_harness_finds_an_slr_over_its_resources(alveo_build: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = [dict.fromkeys(RESOURCES, 40_000)] * 4
    monkeypatch.setitem(vitis_check.SLR_LIMITS, "U250", tiny)
    report = vitis_check.check_vitis_link(alveo_build, "U250")
    assert any(p.startswith("SLR0 is over its resources") for p in report.problems), report.problems


def test_alveo_driver_runs_the_schedule_through_dma_kernels(alveo_build: Path) -> None:
    spec = importlib.util.spec_from_file_location("qnncc_alveo_driver", alveo_build / "driver" / "driver.py")
    assert spec is not None and spec.loader is not None
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    assert [s["kind"] for s in driver.META["schedule"]] == [
        "software",
        "partition",
        "software",
        "partition",
        "software",
    ]
    assert [s["cu"] for s in driver.IO["inputs"]] == ["qnncc_mm2s_0_1", "qnncc_mm2s_1_1"]
    s = driver.IO["inputs"][0]
    x = np.random.default_rng(0).integers(0, 256, (2, *s["frame_shape"]))
    words = driver.pack_input(driver.fold_input(x, 0), 0)
    assert words.shape == (2, s["words_per_frame"], s["mem_bytes"])  # one memory word per stream word


def folded(tmp_path: Path, model: ModelWrapper) -> ModelWrapper:
    """The model after the build's ``fold`` step on the U250 (HW layers, no partitions yet)."""
    out = tmp_path / "rn"
    build(
        model,
        BuildConfig(output_dir=out, input_scale="1/255", board="U250", to_step="fold"),
    )
    return ModelWrapper(str(out / "intermediate_models" / "08_fold.onnx"))


def check_slr_splits(model: ModelWrapper, shape: tuple[int, ...]) -> None:
    """SLRs of about 40% of the design: cuts on single streams, every piece within budget, execution unchanged."""
    model.transform(InsertDWC())  # as the partition step does before cutting
    hw = [n for n in model.graph.node if n.domain == "qnncc.hw"]
    total = {r: sum(layer_resources(n)[r] for n in hw) for r in RESOURCES}
    biggest = {r: max(layer_resources(n)[r] for n in hw) for r in RESOURCES}
    share = {r: max(0.4 * total[r], biggest[r]) for r in RESOURCES}
    slr = {r: int((share[r] + DDR_CONTROLLER[r]) / 0.85) + 1 for r in RESOURCES}
    platform = AlveoPlatform("U250", "test", (slr,) * 8, ("DDR[0]",) * 8)
    splits = slr_splits(model, platform)
    assert max(splits.values()) >= 2
    parted = model.copy().transform(CreateDataflowPartition(splits))
    budget = slr_budget(platform, 0)
    for k in range(max(splits.values()) + 1):
        members = [n for n in hw if splits.get(n.name, -1) == k]
        need = {r: sum(layer_resources(n)[r] for n in members) for r in RESOURCES}
        assert all(need[r] <= budget[r] for r in RESOURCES), (k, need, budget)
    for node in partition_nodes(parted):  # single-stream cuts: one input, one output stream per partition
        assert len(node.input) == 1 and len(node.output) == 1
    x = np.random.default_rng(3).integers(0, 256, shape).astype(np.float32)
    name = model.graph_input_names()[0]
    out = model.graph_output_names()[0]
    np.testing.assert_array_equal(qnncc.execute(parted, {name: x})[out], qnncc.execute(model, {name: x})[out])


def test_slr_splits_of_a_small_cnn(tmp_path: Path) -> None:
    check_slr_splits(folded(tmp_path, two_partition_cnn()), (2, 3, 8, 8))


@pytest.mark.slow
def test_slr_splits_of_a_residual_network_cut_between_blocks(tmp_path: Path) -> None:
    check_slr_splits(folded(tmp_path, sg.resnet50(width=0.0625, resolution=64, classes=10)), (2, 3, 64, 64))


def test_single_partition_build_links_its_packaged_block_design(tmp_path: Path) -> None:
    from qnncc.data import demo_model_path

    out = tmp_path / "tfc"
    build(demo_model_path(), BuildConfig(output_dir=out, board="U250", target_fps=100_000))
    report = vitis_check.check_vitis_link(out, "U250")
    assert report.ok, report.problems
    cfg = (out / "vitis" / "link.cfg").read_text()
    assert "nk=qnncc_bd:1:qnncc_bd_1" in cfg and "stream_connect=qnncc_mm2s_0_1.out:qnncc_bd_1.s_axis_0" in cfg
    assert "QnnccAlveo" in (out / "driver" / "driver.py").read_text()
