"""Full-size tables on mnist-conv (slow): calibration on MNIST test 0..999, evaluation on 5000..9999."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

import qnncc
from qnncc.analysis import accuracy_report, benchmark_emulation, compression_report, load_npz, sparsity_report

NPZ = DATA / "mnist_test.npz"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(golden_models):
    model = golden_models["mnist_conv"]
    return model, load_npz(NPZ, model, items="0:1000"), load_npz(NPZ, model, items="5000:10000")


@pytest.fixture(scope="module")
def accuracy(setup):
    return accuracy_report(*setup)


def test_accuracy_table(setup, accuracy):
    model, _, evaluation = setup
    ref = qnncc.execute(model, {"Input3": evaluation.images})["Plus214_Output_0"]
    float_correct = int((ref.argmax(1) == evaluation.labels).sum())
    assert accuracy.result("float32").correct == float_correct  # exactly the executed float model
    table = accuracy.table
    assert table.column("Format") == [
        "Float32", "Fixed16", "Fixed8", "BFP8 (Layer)", "BFP8 (Channel)", "INT8 (Channel)", "INT4 (Channel)",
    ]  # fmt: skip
    assert abs(table.cell("Fixed16", "Delta vs Float32 (points)")) <= 0.1
    assert table.cell("INT8 (Channel)", "Top-1 (%)") > 99.0
    assert "evaluation: 5,000 images (mnist_test.npz[5000:10000])" in table.to_markdown()


def test_sparsity_table(setup):
    report = sparsity_report(*setup)
    exp = report.experiments
    assert exp.column("Experiment") == [
        "Q+AS", "Q+AS+WS(0.005)", "Q+AS+WS(0.01)", "Q+AS+WS(0.015)", "Q+AS+WS(0.02)",
    ]  # fmt: skip
    sparsity = exp.column("Sparsity (%)")
    assert sparsity == sorted(sparsity) and sparsity[0] > 50
    assert len(report.layers.rows) == 3


def test_compression_table(accuracy, setup):
    _, calib, _ = setup
    table = compression_report(accuracy.result("bfp8-channel").model, calib)
    mean = {r[0]: r for r in table.rows}["all (mean)"]
    assert all(0 < v < 3 for v in mean[-4:])


def test_emulation_is_10x_faster_than_node_by_node(accuracy, setup):
    pytest.importorskip("qonnx")
    _, _, evaluation = setup
    bench = benchmark_emulation(accuracy.result("int8-channel").model, evaluation.images[:1000], single=50)
    assert bench.identical
    assert bench.ratios()["qonnx execute_onnx, per image"] >= 10
    assert np.isfinite(bench.reference_batched)
