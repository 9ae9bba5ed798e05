"""qnncc.flow.estimate and `qnncc estimate`: FINN reference figures, optimiser, reports, over-budget handling."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import DATA

from qnncc.cli import EXIT_OVER_BUDGET, main
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate, layer_specs
from qnncc.hw.perf import estimate_layer

SEED_FOLDING = {
    "Thresholding_0": {"PE": 49},
    "MVAU_0": {"PE": 16, "SIMD": 49, "ram_style": "block"},
    "MVAU_1": {"PE": 8, "SIMD": 8, "ram_style": "auto"},
    "MVAU_2": {"PE": 8, "SIMD": 8, "ram_style": "auto"},
    "MVAU_3": {"PE": 10, "SIMD": 8, "ram_style": "distributed"},
    "LabelSelect_0": {"PE": 1},
}
# FINN (finn-plus 1.6.1) analytic estimates for TFC-W1A1 with the seed folding, Pynq-Z1, 10 ns.
FINN_CYCLES = [16, 64, 64, 64, 8, 10]
FINN_LUT = [392, 5615, 766, 766, 963]
FINN_BRAM = [0, 22, 2, 2, 0]
LFC = DATA / "lfc_w1a1" / "LFCW1A1.onnx"


@pytest.fixture(scope="module")
def tfc_seed(tmp_path_factory):
    out = tmp_path_factory.mktemp("est") / "tfc"
    return estimate(demo_model_path(), board="Pynq-Z1", clock_ns=10.0, folding=SEED_FOLDING, output_dir=out), out


def test_seed_folding_matches_finn(tfc_seed):
    """FINN's formulas (``emitted=False``) reproduce FINN; the flow estimates the hardware qnncc emits."""
    result, _ = tfc_seed
    assert [n for n, _ in result.layers] == ["Thresholding_0", "MVAU_0", "MVAU_1", "MVAU_2", "MVAU_3", "LabelSelect_0"]
    finn = [(s.name, estimate_layer(s.op_type, s.attrs)) for s in layer_specs(result.model)]
    assert [e.cycles for _, e in finn] == FINN_CYCLES
    for (name, e), lut, bram in zip(finn, FINN_LUT, FINN_BRAM, strict=False):
        assert abs(e.lut - lut) <= 0.15 * lut, (name, e.lut, lut)
        assert abs(e.bram_18k - bram) <= 0.15 * bram, (name, e.bram_18k, bram)
    # qnncc's LabelSelect writes its K index words in a loop of their own (labelselect.hpp)
    assert [e.cycles for _, e in result.layers] == [*FINN_CYCLES[:-1], FINN_CYCLES[-1] + 1]
    perf = result.reports["estimate_network_performance.json"]
    # MVAU_0: 64 iterations + its 5-cycle pipeline drain per frame
    assert perf["max_cycles"] == 64 + 5 and perf["max_cycles_node_name"] == "MVAU_0"
    # the 8-bit DMA stream moves the 16 x 392-bit input words in 784 cycles: the shell bounds the frame rate
    assert perf["dma_shell_cycles"] == 784
    assert perf["estimated_throughput_fps"] == pytest.approx(1e9 / (784 * 10.0))


def test_reports_are_written_in_finn_format(tfc_seed):
    _, out = tfc_seed
    assert not out.with_name(out.name + ".incomplete").exists()
    perf = json.loads((out / "estimate_network_performance.json").read_text())
    assert set(perf) == {
        "critical_path_cycles",
        "max_cycles",
        "max_cycles_node_name",
        "estimated_throughput_fps",
        "estimated_latency_ns",
        "dma_shell_cycles",  # qnncc: the Zynq shell's slowest DMA stream
        "dma_shell_bottleneck",
    }
    cycles = json.loads((out / "estimate_layer_cycles.json").read_text())
    assert cycles["MVAU_1"] == 64
    resources = json.loads((out / "estimate_layer_resources.json").read_text())
    assert resources["MVAU_0"]["BRAM_18K"] == 22 and "total" in resources
    folding = json.loads((out / "folding_config.json").read_text())
    assert folding["MVAU_0"]["SIMD"] == 49
    assert (out / "hw_model.onnx").stat().st_size > 0


@pytest.mark.parametrize(("path", "scale", "finn_lut"), [(demo_model_path(), None, 1819), (LFC, "1/255", 35914)])
def test_optimiser_beats_finn_at_100k_fps(path, scale, finn_lut):
    result = estimate(path, board="Pynq-Z1", clock_ns=10.0, target_fps=100_000, input_scale=scale)
    fps = result.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
    assert fps >= 100_000
    assert result.partition.lut < finn_lut
    assert result.fit.fits


def test_fastest_that_fits_is_within_margin():
    result = estimate(demo_model_path(), board="Pynq-Z1")
    assert result.fit.fits
    assert all(result.fit.utilisation[r] <= 85.0 for r in ("LUT", "BRAM_18K", "DSP"))
    slower = estimate(demo_model_path(), board="Pynq-Z1", target_fps=100_000)
    assert (
        result.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
        > slower.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
    )


def test_over_budget_is_a_clear_message(tmp_path):
    unfolded = {f"MVAU_{i}": {"PE": 1024 if i < 3 else 10, "SIMD": 784 if i == 0 else 1024} for i in range(4)}
    result = CliRunner().invoke(
        main,
        [
            "estimate",
            str(LFC),
            "--input-scale",
            "1/255",
            "--folding",
            _write(tmp_path, unfolded),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == EXIT_OVER_BUDGET, result.output
    assert "LUT" in result.output and "over budget" in result.output
    assert "Traceback" not in result.output


def test_cli_estimate_and_unknown_board(tmp_path):
    ok = CliRunner().invoke(
        main, ["estimate", str(demo_model_path()), "--target-fps", "100000", "-o", str(tmp_path / "e")]
    )
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "e" / "estimate_layer_cycles.json").exists()
    bad = CliRunner().invoke(
        main, ["estimate", str(demo_model_path()), "--board", "Pynq-Z9", "-o", str(tmp_path / "x")]
    )
    assert bad.exit_code == 2 and "Pynq-Z1" in bad.output and not (tmp_path / "x").exists()


def _write(tmp_path, config) -> str:
    path = tmp_path / "folding.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_network_that_does_not_fit_is_split_into_partitions(mnist):
    import numpy as np

    import qnncc

    streamed = estimate(LFC, board="Pynq-Z1", input_scale="1/255", margin=0.3)
    assert len(streamed.partitions) == 1  # the weights that do not fit on chip are streamed first
    assert any("mem_mode='external'" in n for n in streamed.folding_notes)
    result = estimate(LFC, board="Pynq-Z1", input_scale="1/255", margin=0.3, stream_weights=False)
    assert len(result.partitions) > 1
    assert result.network is not None and result.network.num_partitions == len(result.partitions)
    perf = result.reports["estimate_network_performance.json"]
    assert perf["num_partitions"] == len(result.partitions)
    parents = [n.op_type for n in result.model.graph.node]
    assert parents.count("StreamingDataflowPartition") == len(result.partitions)
    images = mnist[0][:50]
    got = qnncc.execute(result.model, {result.model.graph_input_names()[0]: images})
    src = qnncc.load(LFC)
    ref = qnncc.execute(src, {src.graph_input_names()[0]: images / np.float32(255)})
    np.testing.assert_array_equal(next(iter(got.values())).reshape(-1), next(iter(ref.values())).argmax(-1))


def test_unreachable_target_reports_the_best_folding_and_the_shortfall():
    fastest = estimate(demo_model_path(), board="Pynq-Z1")
    best_fps = fastest.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
    result = estimate(demo_model_path(), board="Pynq-Z1", target_fps=1e12)  # far beyond any folding
    fps = result.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
    assert fps >= best_fps * 0.999  # folded as fast as any folding can go, not given up
    (note,) = [n for n in result.folding_notes if "unreachable" in n]
    assert note.startswith("target 1,000,000,000,000 FPS is unreachable") and "100% short" in note
    limiting = note.rsplit("; ", 1)[1].split()[0]
    assert limiting in dict(result.layers)  # names the layer that limits the frame rate
    assert f"Folding: {note}" in result.summary()
