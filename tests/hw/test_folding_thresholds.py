"""The ``resources`` folding mode chooses where an MVAU's thresholds live (``ram_style_thresholds``).

FINN's formula gives thresholds of style "auto" no cost, so only the mode costed with the model
fitted on Yosys (:mod:`qnncc.hw.perf.fitted`) offers the choice: LUT-held thresholds cost LUTs,
block RAM ones cost BRAM. The RTL backend builds the chosen style.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qnncc.boards import get_board
from qnncc.codegen.rtl.fit_cases import case_model
from qnncc.codegen.rtl.generate import rtl_layer
from qnncc.custom_op import get_custom_op
from qnncc.flow.folding import layer_specs, memory_styles
from qnncc.hw.folding_opt import LayerSpec, optimize_folding
from qnncc.hw.perf import estimate_layer
from qnncc.hw.perf.fitted import fitted_resources

#: LFC's MVAU_1 (1024 x 1024, binary): 2048 XNOR lanes reach 100k FPS
LFC1 = {
    "MW": 1024,
    "MH": 1024,
    "inputDataType": "BINARY",
    "weightDataType": "BINARY",
    "outputDataType": "BINARY",
    "binaryXnorMode": 1,
    "noActivation": 0,
    "ram_style": "block",
}
BUDGET = {"LUT": 45220.0, "FF": 90440.0, "BRAM_18K": 238.0, "URAM": 0.0, "DSP": 187.0}


def one_mvau(attrs):
    model = case_model("MVAU", attrs)
    return model, model.graph.node[0]


def test_threshold_style_is_a_choice_only_in_the_resources_mode():
    board = get_board("Pynq-Z1")
    model, node = one_mvau({**LFC1, "MW": 64, "MH": 64, "PE": 1, "SIMD": 1})
    layer = get_custom_op(node)
    assert "ram_style_thresholds" not in memory_styles(layer, board)
    assert memory_styles(layer, board, thresholds=True)["ram_style_thresholds"] == ["distributed", "block"]
    (est,) = layer_specs(model, board)
    (res,) = layer_specs(model, board, "resources")
    assert "ram_style_thresholds" not in est.styles and res.styles["ram_style_thresholds"] == ["distributed", "block"]
    _, plain = one_mvau({**LFC1, "MW": 64, "MH": 64, "PE": 1, "SIMD": 1, "noActivation": 1, "outputDataType": "UINT8"})
    assert "ram_style_thresholds" not in memory_styles(get_custom_op(plain), board, thresholds=True)


def test_fitted_model_costs_lut_held_thresholds():
    deep = {**LFC1, "PE": 16, "SIMD": 128}  # 64 threshold words of 16 x 12 bits
    lut = fitted_resources("MVAU", {**deep, "ram_style_thresholds": "distributed"})["lut"]
    bram = fitted_resources("MVAU", {**deep, "ram_style_thresholds": "block"})["lut"]
    assert bram < lut
    blk, dist = (
        estimate_layer("MVAU", {**deep, "ram_style_thresholds": t}, emitted=True, resource_model="fitted")
        for t in ("block", "distributed")
    )
    assert blk.bram_18k > dist.bram_18k and blk.lut < dist.lut


def test_optimiser_moves_deep_thresholds_to_block_ram_within_the_budget():
    legal = {"PE": [2**k for k in range(11)], "SIMD": [2**k for k in range(11)]}
    styles = {"ram_style": ["block", "distributed"], "ram_style_thresholds": ["distributed", "block"]}
    spec = LayerSpec("MVAU_1", "MVAU", LFC1, legal, styles)
    plan = optimize_folding([spec], BUDGET, 10.0, 100_000, resource_model="fitted")
    values = plan.choice["MVAU_1"].values
    assert plan.interval_cycles <= 1000 and plan.fits
    assert values["ram_style_thresholds"] == "block"
    # without BRAM to spare, the thresholds stay in LUTs
    tight = {**BUDGET, "BRAM_18K": plan.totals["BRAM_18K"] - 1}
    plan2 = optimize_folding([spec], tight, 10.0, 100_000, resource_model="fitted")
    assert plan2.fits and plan2.choice["MVAU_1"].values["ram_style_thresholds"] == "distributed"


@pytest.mark.parametrize("style", ["block", "distributed", "auto"])
def test_rtl_builds_the_threshold_style(style):
    model, node = one_mvau({**LFC1, "MW": 64, "MH": 64, "PE": 2, "SIMD": 8, "ram_style_thresholds": style})
    rtl = rtl_layer(model, node)
    assert rtl.params.get("T_RAM_STYLE", "distributed") == ("block" if style == "block" else "distributed")


def chain_cost(model, specs, choice, weights):
    """Weighted cost of a chain's layers plus its width converters' LUTs (what the refinement minimises)."""
    import itertools

    from qnncc.hw.folding_opt import candidate_cost
    from qnncc.hw.folding_streams import _options, dwc_luts

    opts = {}
    for s in specs:
        node = model.get_node_by_name(s.name)
        opts[s.name] = next(o for o in _options(s, node, 10**9) if dict(o.candidate.values) == dict(choice[s.name]))
    names = [s.name for s in specs]
    dwcs = sum(dwc_luts(opts[a].out_bits, opts[b].in_bits) for a, b in itertools.pairwise(names))
    return sum(candidate_cost(o.candidate, weights) for o in opts.values()) + weights["LUT"] * dwcs


def test_converter_refinement_weighs_bram_like_the_optimiser():
    from qnncc.flow.estimate import hw_pipeline, prepare_input
    from qnncc.hw.folding_opt import resource_weights
    from qnncc.hw.folding_streams import refine_stream_widths

    path = Path(__file__).parents[1] / "data" / "lfc_w1a1" / "LFCW1A1.onnx"
    work, scale, dtype = prepare_input(path, "1/255")
    model = hw_pipeline(scale, dtype, True).run(work)
    board = get_board("Pynq-Z1")
    budget = {k: v * 0.85 for k, v in board.resources.as_dict().items()}
    specs = layer_specs(model, board, "resources")
    plan = optimize_folding(specs, budget, 10.0, 100_000, resource_model="fitted")
    refined = refine_stream_widths(model, specs, plan, budget)
    weights = resource_weights(budget)
    before = chain_cost(model, specs, {n: c.values for n, c in plan.choice.items()}, weights)
    after = chain_cost(model, specs, {n: c.values for n, c in refined.choice.items()}, weights)
    assert refined.interval_cycles <= 1000 and refined.fits
    assert after <= before  # coordinate descent on the optimiser's cost: never worse


def test_converter_refinement_spends_no_bram_on_a_few_luts():
    """A shallow threshold ROM in block RAM saves a few fitted LUTs but costs a BRAM: the refinement keeps LUTs."""
    from qnncc.hw.folding_streams import refine_stream_widths

    board = get_board("Pynq-Z1")
    budget = {k: v * 0.85 for k, v in board.resources.as_dict().items()}
    model, _ = one_mvau({**LFC1, "MW": 64, "MH": 64, "PE": 1, "SIMD": 8})  # TFC's MVAU_1
    specs = layer_specs(model, board, "resources")
    spec = specs[0]
    fixed = LayerSpec(spec.name, spec.op_type, spec.attrs, {"PE": [1], "SIMD": [8]}, spec.styles)
    lut = {
        t: estimate_layer("MVAU", {**spec.attrs, "PE": 1, "SIMD": 8, "ram_style": "block", "ram_style_thresholds": t},
                          emitted=True, resource_model="fitted")
        for t in ("distributed", "block")
    }  # fmt: skip
    assert lut["block"].lut < lut["distributed"].lut and lut["block"].bram_18k > lut["distributed"].bram_18k
    plan = optimize_folding([fixed], budget, 10.0, 100_000, resource_model="fitted")
    refined = refine_stream_widths(model, [fixed], plan, budget)
    assert refined.choice[spec.name].values["ram_style_thresholds"] == "distributed"
