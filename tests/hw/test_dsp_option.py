"""Wide multipliers: the optimiser may map MVAU/VVAU dot products to DSPs (``resType``), few-bit ones stay in LUTs."""

from __future__ import annotations

from typing import Any

from onnx import helper

from qnncc.hw.folding_opt import LayerSpec, optimize_folding
from qnncc.hw.layers import HW_DOMAIN, MVAU

BUDGET = {"LUT": 20_000.0, "FF": 1e6, "BRAM_18K": 1000.0, "URAM": 0.0, "DSP": 2000.0}


def mvau(wdt: str, idt: str, **extra: Any) -> MVAU:
    attrs = {"MW": 64, "MH": 32, "SIMD": 1, "PE": 1, "inputDataType": idt, "weightDataType": wdt}
    attrs |= {"outputDataType": "INT32", "noActivation": 1, "numInputVectors": [1, 16, 16]} | extra
    return MVAU(helper.make_node("MVAU", ["x", "w"], ["y"], domain=HW_DOMAIN, name="mvau", **attrs))


def res_types(layer: Any) -> list[int | str] | None:
    return layer.throughput_options().get("resType")  # type: ignore[no-any-return]


def test_only_wide_products_offer_dsps() -> None:
    assert res_types(mvau("INT8", "UINT8")) == ["lut", "dsp"]
    assert res_types(mvau("INT4", "UINT4")) == ["lut", "dsp"]
    assert res_types(mvau("INT2", "UINT8")) is None
    assert res_types(mvau("BIPOLAR", "BIPOLAR", binaryXnorMode=1)) is None


def test_optimiser_moves_8bit_products_to_dsps_when_luts_are_short() -> None:
    layer = mvau("INT8", "UINT8")
    spec = LayerSpec("mvau", "MVAU", dict(layer.attrs), layer.legal_folding(), layer.throughput_options())
    plan = optimize_folding([spec], BUDGET, clock_ns=5.0, target_fps=50_000)
    assert plan.fits and plan.choice["mvau"].values["resType"] == "dsp" and plan.totals["DSP"] > 0
    lut_only = LayerSpec("mvau", "MVAU", dict(layer.attrs), layer.legal_folding(), {"resType": ["lut"]})
    assert not optimize_folding([lut_only], BUDGET, clock_ns=5.0, target_fps=50_000).fits


def test_fastest_plan_with_the_dsp_option_is_never_slower_than_without() -> None:
    """DSPs look cheap to the weighted cost; when they block a faster plan their weight rises and the search repeats."""
    layers = [mvau("INT8", "UINT8"), mvau("INT8", "UINT8", MW=128)]
    budget = {"LUT": 60_000.0, "FF": 1e6, "BRAM_18K": 1000.0, "URAM": 0.0, "DSP": 40.0}

    def specs(options: bool) -> list[LayerSpec]:
        return [
            LayerSpec(f"m{i}", "MVAU", dict(m.attrs), m.legal_folding(), m.throughput_options() if options else {})
            for i, m in enumerate(layers)
        ]

    with_dsp = optimize_folding(specs(True), budget, clock_ns=5.0)
    lut_only = optimize_folding(specs(False), budget, clock_ns=5.0)
    assert with_dsp.fits and lut_only.fits
    assert with_dsp.fps >= lut_only.fps
