"""Emulation, report tables and the ``qnncc quantize`` command on small slices of MNIST."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DATA
from qnncc.transforms.quantize import quantized_tensors

import qnncc
from qnncc.analysis import (
    Dataset,
    Emulator,
    Table,
    accuracy_report,
    benchmark_emulation,
    compression_report,
    fold_constant_quantizers,
    load_npz,
    quantize,
    rle_encode,
    sparsity_report,
)
from qnncc.cli.errors import EXIT_USER_ERROR
from qnncc.cli.quantize import quantize_command
from qnncc.core.errors import QnnccError

MODEL = DATA / "mnist_conv" / "model.onnx"
NPZ = DATA / "mnist_test.npz"


@pytest.fixture(scope="module")
def model(golden_models):
    return golden_models["mnist_conv"]


@pytest.fixture(scope="module")
def calib(model):
    return load_npz(NPZ, model, items="0:100")


@pytest.fixture(scope="module")
def evaluation(model):
    return load_npz(NPZ, model, items="5000:5100")


def test_load_npz(model, calib):
    assert calib.images.shape == (100, 1, 28, 28) and calib.images.dtype == np.float32
    assert calib.labels is not None and calib.labels.shape == (100,)
    assert calib.description == "mnist_test.npz[0:100]"
    scaled = load_npz(NPZ, model, items=":10", scale=1 / 255)
    assert float(scaled.images.max()) <= 1.0 and len(scaled) == 10
    for bad in ("5:2", "0:20000", "a:b"):
        with pytest.raises(QnnccError):
            load_npz(NPZ, model, items=bad)


def test_emulator_is_bit_exact_and_folds_weights(model, calib, evaluation):
    q = quantize(model, "int4-channel", calib.images)
    folded = fold_constant_quantizers(q)
    assert sum(n.op_type == "Quant" for n in folded.graph.node) == 8  # activations only
    emu = Emulator(q, batch_size=32)
    out = emu.run(evaluation.images)
    ref = qnncc.execute(q, {"Input3": evaluation.images}, backend="reference")["Plus214_Output_0"]
    np.testing.assert_array_equal(out, ref)
    assert emu.correct(evaluation.images, evaluation.labels) == int((ref.argmax(1) == evaluation.labels).sum())


def test_accuracy_report_float_row_is_the_float_model(model, calib, evaluation):
    report = accuracy_report(model, calib, evaluation, ["float32", "fixed16", "int4-channel"])
    ref = qnncc.execute(model, {"Input3": evaluation.images})["Plus214_Output_0"]
    assert report.result("float32").correct == int((ref.argmax(1) == evaluation.labels).sum())
    table = report.table
    assert table.column("Format") == ["Float32", "Fixed16", "INT4 (Channel)"]
    assert abs(table.cell("Fixed16", "Delta vs Float32 (points)")) <= 1.0
    csv = table.to_csv().splitlines()
    assert csv[0].startswith("Format,Top-1 (%)") and len(csv) == 4
    md = table.to_markdown()
    assert "mnist_test.npz[0:100]" in md and "mnist_test.npz[5000:5100]" in md and "| ---: |" in md
    assert table.to_rich().row_count == 3


def test_sparsity_report_small(model, calib, evaluation):
    small = Dataset(calib.images[:40], calib.labels[:40], "calib[0:40]")
    report = sparsity_report(model, small, evaluation, taus=[0.02], relu_taus=[5.0])
    assert report.experiments.column("Experiment") == ["Q+AS", "Q+AS+WS(0.02)", "Q+AS+TR(5)"]
    s0, s1, s2 = report.experiments.column("Sparsity (%)")
    assert 50 < s0 < s1 < 100 and s0 < s2 < 100  # pruning and a ReLU threshold add zero products
    assert any(n.op_type == "ThresholdedRelu" for n in report.models["Q+AS+TR(5)"].graph.node)
    assert report.layers.column("Layer") == ["Convolution28", "Convolution110", "Gemm_0"]
    assert report.layers.cell("Convolution28", "Window") == "5x5"
    assert all(any(kv.key == "qnncc.sparsity" for kv in n.metadata_props)
               for n in report.models["Q+AS"].graph.node if n.op_type == "Conv")  # fmt: skip


def test_compression_report_small(model, calib):
    q = quantize(model, "bfp8-channel", calib.images)
    table = compression_report(q, calib, max_items=20, batch_size=8)
    rows = {r[0]: r for r in table.rows}
    assert {"weights (mean)", "activations (mean)", "all (mean)"} <= set(rows)
    assert table.columns[-4:] == ["RLE-8", "RLE-4", "RLE-2", "Huffman"]
    # check one weight row by hand with the encoder
    wq = next(t for t in quantized_tensors(q) if t.is_weight and t.source == "Parameter5")
    ints = wq.params.integers(q.get_initializer("Parameter5"))
    pairs = len(rle_encode(ints, 4)[0])
    assert rows["Parameter5"][table.columns.index("RLE-4")] == pytest.approx(pairs * 12 / (ints.size * 8))
    assert rows["Input3"][table.columns.index("Huffman")] < 0.5  # MNIST background compresses well


def test_benchmark_emulation_smoke(model, calib, evaluation):
    q = quantize(model, "int8-channel", calib.images)
    bench = benchmark_emulation(q, evaluation.images[:20], single=2, qonnx_images=1)
    assert bench.identical and bench.emulation > 0
    assert set(bench.ratios()) >= {"qnncc reference, batched", "qnncc reference, per image"}


def test_table_validation():
    t = Table("t", ["a", "b"], formats={"b": ".1f"})
    t.add_row("x", 1.25)
    assert t.text_rows() == [["x", "1.2"]]
    with pytest.raises(ValueError):
        t.add_row("only one")


def test_cli_quantize_writes_models_and_reports(tmp_path):
    out = tmp_path / "q"
    args = [
        str(MODEL), "--calib", str(NPZ), "--calib-items", "0:100", "--eval", str(NPZ), "--eval-items",
        "5000:5100", "--format", "float32", "--format", "int8-channel", "-o", str(out), "--sparsity", "--encoding",
        "bfp8-channel",
    ]  # fmt: skip
    result = CliRunner().invoke(quantize_command, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".qnncc_build", "encoding.csv", "float32.onnx", "int8-channel.onnx", "report.csv", "report.md", "sparsity.csv",
        "sparsity_layers.csv",
    ]  # fmt: skip
    assert "INT8 (Channel)" in result.output and "Top-1" in result.output and "RLE-8" in result.output
    md = (out / "report.md").read_text()
    assert "calibration: 100 images (mnist_test.npz[0:100]); evaluation: 100 images (mnist_test.npz[5000:5100])" in md
    saved = qnncc.load(out / "int8-channel.onnx", simplify=False)
    assert sum(n.op_type == "Quant" for n in saved.graph.node) == 11
    assert any(kv.key == "qnncc.sparsity" for n in saved.graph.node for kv in n.metadata_props)


def test_cli_quantize_never_deletes_a_folder_of_the_users(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    args = [str(MODEL), "--calib", str(NPZ), "--calib-items", "0:20", "--format", "float32", "-o", str(mine)]
    result = CliRunner().invoke(quantize_command, args)
    assert result.exit_code == EXIT_USER_ERROR and "is not empty and is not a qnncc build" in result.output
    assert (mine / "thesis.tex").read_text() == "keep me" and not (tmp_path / "mine.incomplete").exists()
    result = CliRunner().invoke(quantize_command, [*args, "--force"])  # only qnncc's files are written
    assert result.exit_code == 0, result.output
    assert (mine / "thesis.tex").read_text() == "keep me" and (mine / "float32.onnx").is_file()
    result = CliRunner().invoke(quantize_command, args)  # now a qnncc output: replaced, the user's file kept
    assert result.exit_code == 0, result.output
    assert (mine / "thesis.tex").read_text() == "keep me"


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        quantize_command, [str(MODEL), "--calib", str(NPZ), "--format", "int9-channel", "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == EXIT_USER_ERROR and "qnncc: error:" in result.output
    result = runner.invoke(
        quantize_command, [str(MODEL), "--calib", str(tmp_path / "none.npz"), "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == EXIT_USER_ERROR and "does not exist" in result.output
    assert not (tmp_path / "x").exists()
