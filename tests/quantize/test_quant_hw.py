"""The INT8 per-channel quantized mnist-conv continues through streamline and HW conversion (and cppsim)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import DATA
from qnncc.transforms.quantize import SparsityAnnotate

import qnncc
from qnncc.analysis import Emulator, load_npz, quantize, sparse_cycle_table, verify_cppsim

NPZ = DATA / "mnist_test.npz"


@pytest.fixture(scope="module")
def int8(golden_models):
    model = golden_models["mnist_conv"]
    calib = load_npz(NPZ, model, items="0:1000")
    return quantize(model, "int8-channel", calib.images), calib


def test_hw_layers_predict_like_the_qonnx_model(int8):
    from qnncc.transforms.hw import is_hw_node

    from qnncc.flow.estimate import detect_input_scale, hw_pipeline

    q, _ = int8
    assert detect_input_scale(q) == (1.0, "UINT8")  # the input quantizer takes raw pixels as UINT8
    hw = hw_pipeline(1.0, "UINT8", True).run(q.copy())
    ops = Counter(n.op_type for n in hw.graph.node)
    assert ops["MVAU"] == 3 and ops["ConvolutionInputGenerator"] == 2 and ops["LabelSelect"] == 1
    assert ops["StreamingMaxPool"] == 2  # the 3x3/stride-3 pool over 14x14 does not tile the image: still HW
    software = {n.op_type for n in hw.graph.node if not is_hw_node(n)}
    assert software <= {"Reshape"}  # shape-only
    images = load_npz(NPZ, q, items="5000:5200")
    got = qnncc.execute(hw, {hw.graph_input_names()[0]: images.images})[hw.graph_output_names()[0]].reshape(-1)
    np.testing.assert_array_equal(got, Emulator(q).predict(images.images))


def test_sparsity_reaches_the_perf_model(int8):
    from qnncc.flow.estimate import estimate

    q, calib = int8
    annotated = q.copy().transform(SparsityAnnotate(calib.images[:200]))
    # a folding with several words per window (the fastest folding reads a 5x5 window in one word,
    # which leaves zero-skipping nothing to skip)
    table = sparse_cycle_table(estimate(annotated, target_fps=2000).model)
    assert {"MVAU_0", "MVAU_1"} <= set(table.column("Layer"))  # the two convolutions
    for row in table.rows:
        window, dense, sparse = row[1], row[3], row[4]
        assert 0 < sparse <= dense and (window == "1x1" or sparse < dense)


@pytest.mark.slow
def test_cppsim_equals_execute_on_1000_images(int8):
    q, _ = int8
    evaluation = load_npz(NPZ, q, items="5000:6000")
    report = verify_cppsim(q, evaluation.images, evaluation.labels)
    assert report.partitions == 1 and not [op for _, op in report.software_nodes if op != "Reshape"]
    assert report.partition_mismatches == [0] * report.partitions
    assert report.identical_to_execute and report.identical_to_emulation
    assert report.accuracy is not None and report.accuracy > 99.0
