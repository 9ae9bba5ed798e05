"""qnncc sweep options: quantization formats of a float model, builds (and, slow, C++ verification)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from qnncc.analysis import load_npz, quantize
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate
from qnncc.flow.sweep import SweepSpec, run_sweep
from qnncc.ingest import load
from qnncc.jobs import InlineExecutor, LocalExecutor

DATA = Path(__file__).resolve().parents[1] / "data"
MNIST = DATA / "mnist_test.npz"
TFC_FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"


def test_quantization_formats_estimate_the_quantized_model(tmp_path: Path) -> None:
    float_model = DATA / "mnist_conv" / "model.onnx"
    spec = SweepSpec(
        models=[str(float_model)],
        quant_formats=["int8-channel", "int4-channel"],
        calib=str(MNIST),
        calib_items="0:100",
        target_fps=[2000],
    )
    with LocalExecutor(2) as ex:
        result = run_sweep(spec, tmp_path / "out", executor=ex, on_event=lambda e: None, plot=False)
    assert [(r["quant_format"], r["status"]) for r in result.rows] == [("int8-channel", "ok"), ("int4-channel", "ok")]
    loaded = load(float_model)
    calib = load_npz(MNIST, loaded, "0:100").images
    for row in result.rows:  # each row is the estimate of that quantized model
        direct = estimate(quantize(loaded, row["quant_format"], calib), board="Pynq-Z1", target_fps=2000)
        assert row["LUT"] == round(direct.fit.used["LUT"], 1)
        assert row["interval_cycles"] == direct.partition.interval_cycles
    assert result.rows[1]["BRAM_18K"] <= result.rows[0]["BRAM_18K"]  # 4-bit weights need no more memory


def _tfc_build_spec(**extra: object) -> SweepSpec:
    return SweepSpec(models=[str(demo_model_path())], folding=[str(TFC_FOLDING)], target_fps=[1e9], build=True, **extra)


def test_build_points(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_sweep(_tfc_build_spec(), out, executor=InlineExecutor(), on_event=lambda e: None, plot=False)
    unreachable, folded = result.rows
    assert unreachable["status"] == "short" and unreachable["build"] is None  # the fastest folding, not built
    assert folded["status"] == "ok" and folded["build"] == f"points/{folded['point']}"
    build = out / folded["build"]
    assert (build / "stitch" / "stitch_ipi.tcl").is_file() and (build / "driver" / "driver.py").is_file()
    assert len(list((build / "hls").iterdir())) >= 9  # one folder per layer
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert rows[1]["build"] == folded["build"] and rows[1]["bit_exact"] == ""


@pytest.mark.slow
def test_build_and_verify_points(tmp_path: Path) -> None:
    spec = _tfc_build_spec(verify_data=str(MNIST), verify_count=50)
    result = run_sweep(spec, tmp_path / "out", executor=InlineExecutor(), on_event=lambda e: None, plot=False)
    folded = result.rows[1]
    assert folded["bit_exact"] is True and folded["accuracy"] >= 0.9


def test_parquet_table_when_pyarrow_is_installed(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")  # optional dependency: not installed by `make install`
    spec = SweepSpec(models=[str(demo_model_path())], target_fps=[1000, 1e9])
    result = run_sweep(spec, tmp_path / "out", executor=InlineExecutor(), on_event=lambda e: None, plot=False)
    table = pq.read_table(result.files["parquet"]).to_pylist()
    assert table == [{k: r[k] for k in table[0]} for r in result.rows]
    assert table[0]["fps"] > 1000 and table[1]["status"] == "short"
