"""Threshold memory style in the HLS backend: ``ram_style_thresholds`` (MVAU) and ``ram_style`` (Thresholding).

The folding may put a layer's threshold memories in LUTs or block RAM (the RTL backend
honours it); the HLS top binds them with ``#pragma HLS BIND_STORAGE ... type = rom_1p
impl = lutram | bram`` (FINN's HLS backend: ``RESOURCE ... core = ROM_2P_LUTRAM |
ROM_2P_BRAM`` on ``threshs.m_thresholds``), nothing for ``auto``, and nothing when each
memory holds one entry (``NF = 1``). The C++ simulation stays bit-exact in every style.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from mem_mode_graphs import Layer, mvau_chain, random_input
from onnx import helper
from test_cppsim_mlp import random_values, single_node

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.codegen.hls import build_layer_sim, layer_code, render_layer
from qnncc.codegen.hls.lint import lint_top
from qnncc.hw.layers import HW_DOMAIN

#: ram style -> the storage pragma expected on the thresholds (None: no pragma).
EXPECTED = {"auto": None, "block": "impl = bram", "distributed": "impl = lutram"}
MODES = ("internal_embedded", "internal_decoupled", "external")
PRAGMA = "#pragma HLS BIND_STORAGE variable ="


def _storage_pragmas(model: ModelWrapper) -> list[str]:
    code = layer_code(model, model.graph.node[0])
    top = render_layer(code)[f"top_{code.name}.cpp"]
    assert lint_top(top) == []
    return [line.strip() for line in top.splitlines() if "BIND_STORAGE" in line and "thresholds_" in line]


def _thresholding(style: str, channels: int, pe: int) -> ModelWrapper:
    node = helper.make_node(
        "Thresholding", ["x", "t"], ["y"], name="Thresholding_0", domain=HW_DOMAIN, NumChannels=channels, PE=pe,
        numSteps=3, ActVal=0, inputDataType="INT8", weightDataType="INT8", outputDataType="UINT2",
        numInputVectors=[1, 5], ram_style=style,
    )  # fmt: skip
    table = np.sort(np.random.default_rng(7).integers(-100, 100, (channels, 3)), axis=1).astype(np.float32)
    return single_node(node, {"x": [1, 5, channels]}, {"t": table}, {"x": "INT8"})  # type: ignore[no-any-return]


def _mvau(style: str, mode: str) -> ModelWrapper:
    return mvau_chain([Layer(12, 8, pe=2, simd=4, mem_mode=mode, extra={"ram_style_thresholds": style})], (3,), 2)


def test_mvau_ram_style_thresholds_binds_the_threshold_rom_in_every_mem_mode() -> None:
    for style, mode in itertools.product(EXPECTED, MODES):
        want = EXPECTED[style]
        expected = [] if want is None else [f"{PRAGMA} thresholds_MVAU_0.values type = rom_1p {want}"]
        assert _storage_pragmas(_mvau(style, mode)) == expected, (style, mode)


@pytest.mark.parametrize(("style", "mode"), list(zip(EXPECTED, MODES, strict=True)))
def test_mvau_cppsim_is_bit_exact_in_every_threshold_style(style: str, mode: str) -> None:
    model = _mvau(style, mode)
    x = random_input(model, 4)
    expected = qnncc.execute(model, {"x": x})["y"]
    got = build_layer_sim(model, model.graph.node[0]).run([x])[0]
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


@pytest.mark.parametrize("style", ["block", "distributed"])
def test_thresholding_ram_style_binds_the_threshold_rom(style: str) -> None:
    model = _thresholding(style, channels=8, pe=2)
    assert _storage_pragmas(model) == [f"{PRAGMA} thresholds_Thresholding_0.values type = rom_1p {EXPECTED[style]}"]
    x = random_values(np.random.default_rng(3), DataType["INT8"], (4, 5, 8))
    expected = qnncc.execute(model, {"x": x})["y"]
    got = build_layer_sim(model, model.graph.node[0], synthesis_path=style == "block").run([x])[0]
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_one_entry_per_memory_binds_no_storage() -> None:
    """``PE = channels`` (``NF = 1``): every threshold memory is a register (FINN: only ``PE < NumChannels``)."""
    assert _storage_pragmas(_thresholding("block", channels=4, pe=4)) == []
    model = mvau_chain([Layer(8, 4, pe=4, simd=8, extra={"ram_style_thresholds": "block"})])
    assert _storage_pragmas(model) == []
