"""Parallel-window sliding windows: layer rules, cycle model, cycle pattern and the optimiser's choice."""

from __future__ import annotations

from typing import Any

import pytest
from onnx import helper

from qnncc.core.errors import UnsupportedOpError
from qnncc.hw.folding_opt import LayerSpec, optimize_folding
from qnncc.hw.layers import HW_DOMAIN, ConvolutionInputGenerator
from qnncc.hw.perf import estimate_layer
from qnncc.hw.perf.estimate import EstimateError
from qnncc.hw.sim.patterns import layer_program

#: ResNet-50's stem window: 7x7, stride 2, over the padded 230x230 image of 3 channels.
STEM: dict[str, Any] = {
    "ConvKernelDim": [7, 7], "IFMChannels": 3, "IFMDim": [230, 230], "OFMDim": [112, 112], "Stride": [2, 2],
    "inputDataType": "UINT8", "outputDataType": "UINT8",
}  # fmt: skip


def swg(**attrs: Any) -> ConvolutionInputGenerator:
    node = helper.make_node("ConvolutionInputGenerator", ["x"], ["y"], domain=HW_DOMAIN, name="swg", **attrs)
    return ConvolutionInputGenerator(node)


def test_layer_rules() -> None:
    layer = swg(**STEM, SIMD=3, parallel_window=1)
    assert layer.output_elems_per_word() == 147 and layer.input_elems_per_word() == 3
    assert layer.legal_folding() == {"SIMD": [1, 3]} and layer.throughput_options()["parallel_window"] == [0, 1]
    with pytest.raises(UnsupportedOpError, match="parallel_window=1 needs SIMD = IFMChannels"):
        swg(**STEM, SIMD=1, parallel_window=1)
    dilated = {**STEM, "IFMDim": [230, 230], "OFMDim": [109, 109], "Dilation": [2, 2]}
    assert swg(**dilated, SIMD=3).throughput_options()["parallel_window"] == [0]
    assert swg(**STEM, SIMD=3, depthwise=1).throughput_options()["parallel_window"] == [0]


def test_cycles_drop_from_window_words_to_input_pixels() -> None:
    serial = estimate_layer("ConvolutionInputGenerator", {**STEM, "SIMD": 3})
    parallel = estimate_layer("ConvolutionInputGenerator", {**STEM, "SIMD": 3, "parallel_window": 1})
    assert serial.cycles >= 112 * 112 * 49  # one word per kernel position
    assert parallel.cycles == 230 * 230  # one input pixel per cycle
    with pytest.raises(EstimateError, match="parallel_window=1 needs SIMD = IFMChannels"):
        estimate_layer("ConvolutionInputGenerator", {**STEM, "SIMD": 1, "parallel_window": 1})


def test_cycle_pattern_reads_every_pixel_and_writes_every_window() -> None:
    program = layer_program(swg(**STEM, SIMD=3, parallel_window=1))
    assert program.iterations == 230 * 230
    assert program.reads(0) == 230 * 230
    assert int(program.length[program.wmask == 1].sum()) == 112 * 112


def test_optimiser_picks_the_parallel_window_when_the_target_needs_it() -> None:
    layer = swg(**STEM, SIMD=1)
    options = layer.throughput_options()
    specs = [LayerSpec("swg", "ConvolutionInputGenerator", dict(layer.attrs), layer.legal_folding(), options)]
    budget = {"LUT": 1e6, "FF": 2e6, "BRAM_18K": 4000, "URAM": 1000, "DSP": 10000}
    fast = optimize_folding(specs, budget, clock_ns=3.33, target_fps=2000)
    assert fast.choice["swg"].values == {"SIMD": 3, "parallel_window": 1, "MMV": 1} and fast.fps >= 2000
    serial_only = [LayerSpec("swg", "ConvolutionInputGenerator", dict(layer.attrs), layer.legal_folding())]
    assert optimize_folding(serial_only, budget, clock_ns=3.33, target_fps=2000).fps < 500  # the 487 FPS
