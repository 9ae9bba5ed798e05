"""Folding benchmark: qnncc's optimiser vs FINN's greedy SetFolding on the same performance model.

Prints, for TFC-W1A1 and LFC-W1A1 on Pynq-Z1 at 100 MHz:
* target 100,000 FPS: FPS and LUT/BRAM of FINN-style greedy folding and of
  qnncc's optimiser (and FINN's published figures for reference);
* FINN's LUT budget (1,819 / 35,914): the FPS qnncc reaches, as a ratio to FINN's 111,607;
* "fastest that fits" (85% of LUT and BRAM): the highest FPS;
* the fewest LUTs any folding needs for 1.3x FINN's FPS (a lower bound over
  all divisor foldings, and over zero-padded foldings where PE/SIMD need not
  divide the matrix: the padded matrix costed with the same formulas);
* wall-clock time of `qnncc.flow.estimate` (ingest -> reports).

Usage: python benchmarks/bench_folding.py
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from qnncc.boards import get_board
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate, layer_specs
from qnncc.hw.folding_opt import RESOURCES, LayerSpec, layer_candidates, optimize_folding
from qnncc.hw.perf import estimate_layer

LFC = Path(__file__).resolve().parent.parent / "tests" / "data" / "lfc_w1a1" / "LFCW1A1.onnx"
FINN = {"tfc": (111_607, 1_819, 7), "lfc": (111_607, 35_914, 165)}  # FPS, LUT, BRAM_18K at target 100k


def finn_greedy(layers: list[LayerSpec], target_cycles: int) -> dict[str, dict[str, int]]:
    """FINN's SetFolding: per layer raise SIMD, then PE, until the layer meets the cycle target."""
    config: dict[str, dict[str, int]] = {}
    for layer in layers:
        values = {k: 1 for k in layer.legal}
        for attr in ("SIMD", "PE"):
            if attr not in layer.legal:
                continue
            for v in layer.legal[attr]:
                values[attr] = v
                if estimate_layer(layer.op_type, {**layer.attrs, **values}).cycles <= target_cycles:
                    break
            if estimate_layer(layer.op_type, {**layer.attrs, **values}).cycles <= target_cycles:
                break
        config[layer.name] = values
    return config


def padded_min_lut(layer: LayerSpec, target_cycles: int) -> float:
    """Fewest LUTs of an MVAU/VVAU with any PE <= MH, SIMD <= MW meeting the target on a zero-padded matrix.

    A padded folding (PE, SIMD) computes ``ceil(MH/PE) * ceil(MW/SIMD)`` cycles
    per vector and costs what the divisor folding of the padded
    ``[ceil(MW/SIMD)*SIMD, ceil(MH/PE)*PE]`` matrix costs. LUTs grow with
    SIMD, so for each PE only the smallest SIMD meeting the target is tried.
    """
    a = dict(layer.attrs)
    mw, mh = int(a["MW"]), int(a["MH"])
    other = target_cycles // max(1, math.prod(int(v) for v in a.get("numInputVectors", [1])))
    best = math.inf
    for pe in range(1, mh + 1):
        budget = other // math.ceil(mh / pe)
        if budget < 1:
            continue
        simd = math.ceil(mw / budget)
        while math.ceil(mw / (simd - 1 or 1)) <= budget and simd > 1:
            simd -= 1
        padded = {**a, "MW": math.ceil(mw / simd) * simd, "MH": math.ceil(mh / pe) * pe, "PE": pe, "SIMD": simd}
        for style in layer.styles.get("ram_style", [a.get("ram_style", "auto")]):
            est = estimate_layer(layer.op_type, {**padded, "ram_style": style})
            if est.cycles <= target_cycles:
                best = min(best, est.lut)
    return best


def min_lut(layers: list[LayerSpec], target_cycles: int, padded: bool) -> float:
    """Lower bound on total LUTs for every layer to take <= ``target_cycles`` (LUT-only cost)."""
    weights = {"LUT": 1.0}
    total = 0.0
    for layer in layers:
        if padded and layer.op_type == "MVAU":
            total += padded_min_lut(layer, target_cycles)
            continue
        ok = [c.resources["LUT"] for c in layer_candidates(layer, weights) if c.cycles <= target_cycles]
        total += min(ok) if ok else math.inf
    return total


def totals(layers: list[LayerSpec], config: dict[str, dict[str, int]]) -> tuple[float, dict[str, float]]:
    ests = [estimate_layer(layer.op_type, {**layer.attrs, **config[layer.name]}) for layer in layers]
    res = {"LUT": sum(e.lut for e in ests), "BRAM_18K": sum(e.bram_18k for e in ests)}
    return 1e9 / (max(e.cycles for e in ests) * 10.0), res


def main() -> None:
    board = get_board("Pynq-Z1")
    full = {k: v * 0.85 for k, v in board.resources.as_dict().items()}
    print(f"{'model':<5} {'mode':<34} {'FPS':>11} {'LUT':>8} {'BRAM':>6}  note")
    for key, path, scale in (("tfc", demo_model_path(), None), ("lfc", LFC, "1/255")):
        t0 = time.perf_counter()
        base = estimate(path, board=board, clock_ns=10.0, input_scale=scale, folding={})
        t_est = time.perf_counter() - t0
        specs = layer_specs(base.model, board)
        fps_finn, lut_finn, bram_finn = FINN[key]
        print(f"{key:<5} {'FINN published (target 100k)':<34} {fps_finn:>11,} {lut_finn:>8,} {bram_finn:>6}")
        g_fps, g_res = totals(specs, finn_greedy(specs, math.floor(1e9 / (100_000 * 10.0))))
        label = "FINN greedy, our model (100k)"
        print(f"{key:<5} {label:<34} {g_fps:>11,.0f} {g_res['LUT']:>8,.0f} {g_res['BRAM_18K']:>6.0f}")
        plan = optimize_folding(specs, full, 10.0, target_fps=100_000)
        print(
            f"{key:<5} {'qnncc optimiser (100k)':<34} {plan.fps:>11,.0f} {plan.totals['LUT']:>8,.0f} "
            f"{plan.totals['BRAM_18K']:>6.0f}  LUT {plan.totals['LUT'] / lut_finn:.2f}x FINN"
        )
        budget = dict(full, LUT=float(lut_finn))
        plan = optimize_folding(specs, budget, 10.0)
        print(
            f"{key:<5} {'qnncc, FINN LUT budget':<34} {plan.fps:>11,.0f} {plan.totals['LUT']:>8,.0f} "
            f"{plan.totals['BRAM_18K']:>6.0f}  FPS {plan.fps / fps_finn:.2f}x FINN"
        )
        plan = optimize_folding(specs, full, 10.0)
        util = max(plan.totals[r] / board.resources.as_dict()[r] for r in RESOURCES if board.resources.as_dict()[r])
        print(
            f"{key:<5} {'qnncc fastest that fits (85%)':<34} {plan.fps:>11,.0f} {plan.totals['LUT']:>8,.0f} "
            f"{plan.totals['BRAM_18K']:>6.0f}  max util {util:.0%}"
        )
        target = math.floor(1e9 / (1.3 * fps_finn * 10.0))
        for padded in (False, True):
            label = f"min LUT at 1.3x FINN FPS ({'padded' if padded else 'divisor'})"
            lut = min_lut(specs, target, padded)
            print(
                f"{key:<5} {label:<34} {1e9 / (target * 10.0):>11,.0f} {lut:>8,.0f} {'':>6}  "
                f"{lut / lut_finn:.2f}x FINN LUT"
            )
        print(f"{key:<5} {'estimate wall-clock (ingest->HW)':<34} {t_est:>10.2f}s")


if __name__ == "__main__":
    main()
