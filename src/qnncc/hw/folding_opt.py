"""Folding optimiser: choose PE/SIMD per layer from the performance model.

Algorithm (documented in ``docs/folding.md``):

1. For every layer, enumerate all legal foldings (PE and SIMD divide the
   folded dimensions) and estimate each with :func:`qnncc.hw.perf.estimate_layer`.
   Keep the Pareto front over (cycles, normalised resource cost), where the
   cost of a candidate is ``sum_r usage_r / budget_r`` over LUT, FF, BRAM_18K,
   URAM and DSP with ``budget_r`` the board's resources times the margin.
2. For a cycle target ``T`` (the frame interval ``f_clk / fps``) the cheapest
   configuration meeting it is separable: each layer independently takes its
   cheapest front candidate with ``cycles <= T``. This is exactly optimal for
   the summed cost, unlike FINN's ``SetFolding``, which raises SIMD then PE
   per layer until it meets the target without looking at resources.
3. "Target FPS" mode evaluates step 2 once. "Fastest that fits" mode searches
   the sorted set of candidate cycle counts for the smallest ``T`` whose
   configuration fits every resource budget (binary search; feasibility is
   monotone in ``T`` because larger targets admit every cheaper candidate);
   if the summed cost hides a single over-budget resource, the weight of that
   resource is raised and the search repeated (a few Lagrangian rounds); the
   same happens when a secondary resource is what blocks a faster interval
   than the one found, and the fastest fitting plan of all rounds is kept.

Throughput options (``LayerSpec.styles``) multiply the candidates; ``MMV > 1``
(several vectors per cycle, :mod:`qnncc.hw.layers.mmv`) is only combined with
every folding attribute at its largest legal value, where it is legal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qnncc.core.errors import QnnccError

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")
#: Rounds of weight adjustment when a secondary resource stays over budget.
LAGRANGE_ROUNDS = 4


class FoldingError(QnnccError):
    """No folding meets the request (e.g. the target is beyond every layer's fastest folding)."""


@dataclass(frozen=True)
class LayerSpec:
    """What the optimiser needs to know about one HW layer.

    Attributes:
        name: node name, e.g. ``MVAU_0``.
        op_type: HW op type, e.g. ``MVAU``.
        attrs: the layer's attributes (FINN names).
        legal: legal values per folding attribute, e.g. ``{"PE": [1, 2, 4], "SIMD": [...]}``.
        styles: memory-style and throughput options the optimiser may choose, e.g.
            ``{"ram_style": ["block", "distributed"], "parallel_window": [0, 1]}``
            (empty: keep the layer's).
    """

    name: str
    op_type: str
    attrs: Mapping[str, Any]
    legal: Mapping[str, Sequence[int]]
    styles: Mapping[str, Sequence[str | int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """One folding of one layer with its estimate.

    Attributes:
        values: folding attribute values, e.g. ``{"PE": 4, "SIMD": 8}``.
        cycles: cycles per frame.
        resources: usage per resource name (see :data:`RESOURCES`).
    """

    values: Mapping[str, int | str]
    cycles: int
    resources: Mapping[str, float]


@dataclass
class FoldingPlan:
    """The optimiser's answer.

    Attributes:
        choice: chosen candidate per layer name.
        interval_cycles: the slowest layer's cycles per frame.
        fps: frames per second at the given clock.
        totals: summed resources.
        fits: whether every resource is within the budget.
    """

    choice: dict[str, Candidate]
    interval_cycles: int
    fps: float
    totals: dict[str, float]
    fits: bool
    notes: list[str] = field(default_factory=list)

    def folding_config(self) -> dict[str, Any]:
        """The plan as a FINN-format folding config."""
        cfg: dict[str, Any] = {"Defaults": {}}
        cfg.update({name: dict(c.values) for name, c in self.choice.items()})
        return cfg


def _resources(estimate: Any) -> dict[str, float]:
    return {
        "LUT": float(estimate.lut),
        "FF": float(estimate.ff),
        "BRAM_18K": float(estimate.bram_18k),
        "URAM": float(estimate.uram),
        "DSP": float(estimate.dsp),
    }


def layer_candidates(layer: LayerSpec, weights: Mapping[str, float], resource_model: str = "finn") -> list[Candidate]:
    """All legal foldings of a layer on its (cycles, cost) Pareto front, fastest first.

    ``resource_model`` ``"fitted"`` costs LUTs and FFs with the model fitted on
    Yosys synthesis of qnncc's RTL (:mod:`qnncc.hw.perf.fitted`).
    """
    from qnncc.hw.perf import estimate_layer
    from qnncc.hw.perf.estimate import EstimateError

    options: dict[str, Sequence[int | str]] = {**layer.legal, **layer.styles}
    names = sorted(options)
    raw: list[Candidate] = []
    for combo in itertools.product(*(options[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        if int(values.get("MMV", 1)) > 1 and any(values[k] != max(v) for k, v in layer.legal.items()):
            continue  # several vectors per cycle only after one per cycle (qnncc.hw.layers.mmv); skip the estimate
        try:
            est = estimate_layer(  # the hardware qnncc emits
                layer.op_type, {**layer.attrs, **values}, emitted=True, resource_model=resource_model
            )
        except EstimateError:
            continue  # a combination the layer rejects (e.g. parallel_window with SIMD below the channels)
        raw.append(Candidate(values, int(est.frame_cycles), _resources(est)))
    if not raw:
        raise FoldingError(f"{layer.name}: no legal folding has an estimate")
    raw.sort(key=lambda c: (c.cycles, _cost(c, weights)))
    front: list[Candidate] = []
    best = math.inf
    for cand in raw:  # fastest first: keep a candidate only if it is cheaper than every faster one
        cost = _cost(cand, weights)
        if cost < best:
            front.append(cand)
            best = cost
    return front


def _cost(c: Candidate, weights: Mapping[str, float]) -> float:
    return sum(c.resources[r] * weights.get(r, 0.0) for r in RESOURCES)


def candidate_cost(c: Candidate, weights: Mapping[str, float]) -> float:
    """A candidate's cost: its resources weighted by ``weights`` (see :func:`resource_weights`)."""
    return _cost(c, weights)


def plan_cost(plan: FoldingPlan, budget: Mapping[str, float], primary: str = "LUT") -> float:
    """A plan's summed resources weighted as the optimiser starts (:func:`resource_weights`)."""
    weights = resource_weights(budget, primary)
    return sum(plan.totals[r] * weights[r] for r in RESOURCES)


def resource_weights(budget: Mapping[str, float], primary: str = "LUT") -> dict[str, float]:
    """The optimiser's starting cost weights: ``1/budget`` for ``primary``, ``0.05/budget`` for the others.

    A resource without budget weighs nothing (e.g. URAM on a board without it).
    """
    return {r: (1.0 if r == primary else 0.05) / budget[r] if budget.get(r) else 0.0 for r in RESOURCES}


def _cheapest_meeting(front: Sequence[Candidate], target: int, weights: Mapping[str, float]) -> Candidate | None:
    ok = [c for c in front if c.cycles <= target]
    return min(ok, key=lambda c: (_cost(c, weights), c.cycles)) if ok else None


def plan_for_target(
    fronts: Mapping[str, Sequence[Candidate]],
    target: int,
    weights: Mapping[str, float],
    clock_ns: float,
    budget: Mapping[str, float],
) -> FoldingPlan | None:
    """Cheapest plan whose every layer takes at most ``target`` cycles, or None if impossible."""
    choice = {}
    for name, front in fronts.items():
        cand = _cheapest_meeting(front, target, weights)
        if cand is None:
            return None
        choice[name] = cand
    totals = {r: sum(c.resources[r] for c in choice.values()) for r in RESOURCES}
    interval = max(c.cycles for c in choice.values())
    fits = all(totals[r] <= budget.get(r, math.inf) for r in RESOURCES)
    return FoldingPlan(choice, interval, 1e9 / (interval * clock_ns), totals, fits)


def plan_totals(choice: Mapping[str, Candidate], like: FoldingPlan, budget: Mapping[str, float]) -> FoldingPlan:
    """A plan of ``choice`` (totals, interval, fit) at the clock of ``like``, keeping its notes."""
    clock_ns = 1e9 / (like.fps * like.interval_cycles)
    totals = {r: sum(c.resources[r] for c in choice.values()) for r in RESOURCES}
    interval = max(c.cycles for c in choice.values())
    fits = all(totals[r] <= budget.get(r, math.inf) for r in RESOURCES)
    return FoldingPlan(dict(choice), interval, 1e9 / (interval * clock_ns), totals, fits, list(like.notes))


def optimize_folding(
    layers: Sequence[LayerSpec],
    budget: Mapping[str, float],
    clock_ns: float,
    target_fps: float | None = None,
    primary: str = "LUT",
    resource_model: str = "finn",
) -> FoldingPlan:
    """Choose a folding for every layer.

    Args:
        layers: the HW layers.
        budget: usable resources (board resources times the safety margin),
            keys from :data:`RESOURCES`.
        clock_ns: clock period in ns.
        target_fps: frames/s to reach with the fewest resources; None asks
            for the highest frame rate that fits ``budget``.
        primary: the resource to minimise first (LUT, the one dataflow
            designs usually run out of); the others start with a small weight
            that grows while they are over budget.
        resource_model: ``"finn"`` (FINN's formulas) or ``"fitted"`` (the
            ``resources`` folding mode: LUTs and FFs from the model fitted on
            Yosys synthesis, :mod:`qnncc.hw.perf.fitted`).

    Returns:
        The plan; ``fits`` tells whether it is within ``budget``. When no
        folding reaches ``target_fps`` the plan is the fastest one (each layer
        at the cheapest candidate within the slowest layer's fastest cycles)
        and ``notes`` names the shortfall and the limiting layer.

    Raises:
        FoldingError: if there are no layers.
    """
    weights = resource_weights(budget, primary)
    if not layers:
        raise FoldingError("no HW layers to fold")
    if target_fps is not None:
        return _plan_for_fps(layers, budget, clock_ns, target_fps, primary, weights, resource_model)
    return _plan_fastest(layers, budget, clock_ns, primary, weights, resource_model)


def _over_budget(plan: FoldingPlan, budget: Mapping[str, float], skip: str = "") -> list[str]:
    return [r for r in RESOURCES if r != skip and plan.totals[r] > budget.get(r, math.inf)]


def _plan_for_fps(
    layers: Sequence[LayerSpec],
    budget: Mapping[str, float],
    clock_ns: float,
    target_fps: float,
    primary: str,
    weights: dict[str, float],
    resource_model: str = "finn",
) -> FoldingPlan:
    target = math.floor(1e9 / (target_fps * clock_ns))
    plan: FoldingPlan | None = None
    for _ in range(LAGRANGE_ROUNDS):  # raise the weight of a secondary resource that stays over budget
        fronts = {layer.name: layer_candidates(layer, weights, resource_model) for layer in layers}
        plan = plan_for_target(fronts, target, weights, clock_ns, budget)
        if plan is None:
            return _best_effort(fronts, target_fps, target, weights, clock_ns, budget)
        over = _over_budget(plan, budget, skip=primary)
        if not over:
            return plan
        for r in over:
            weights[r] *= 4.0
    assert plan is not None
    plan.notes.append(f"over budget in {', '.join(_over_budget(plan, budget))} at {target_fps:,.0f} FPS")
    return plan


def shortfall_note(target_fps: float, target: int, fronts: Mapping[str, Sequence[Candidate]], clock_ns: float) -> str:
    """One line naming an unreachable target, the best frame rate and the layer that limits it."""
    limit, name = max((min(c.cycles for c in f), n) for n, f in fronts.items())
    fps = 1e9 / (limit * clock_ns)
    return (
        f"target {target_fps:,.0f} FPS is unreachable (needs <= {target} cycles per layer): the fastest folding "
        f"gives {fps:,.0f} FPS, {100 * (1 - fps / target_fps):.0f}% short; {name} limits it at {limit} cycles"
    )


def _best_effort(
    fronts: Mapping[str, Sequence[Candidate]],
    target_fps: float,
    target: int,
    weights: Mapping[str, float],
    clock_ns: float,
    budget: Mapping[str, float],
) -> FoldingPlan:
    """The cheapest plan at the fastest reachable interval, with a note of the shortfall."""
    fastest = max(min(c.cycles for c in f) for f in fronts.values())
    plan = plan_for_target(fronts, fastest, weights, clock_ns, budget)
    assert plan is not None  # every layer has a candidate at its own fastest cycles <= fastest
    plan.notes.append(shortfall_note(target_fps, target, fronts, clock_ns))
    if not plan.fits:
        plan.notes.append(f"over budget in {', '.join(_over_budget(plan, budget))} at {plan.fps:,.0f} FPS")
    return plan


def _plan_fastest(
    layers: Sequence[LayerSpec],
    budget: Mapping[str, float],
    clock_ns: float,
    primary: str,
    weights: dict[str, float],
    resource_model: str = "finn",
) -> FoldingPlan:
    slowest: FoldingPlan | None = None
    found: FoldingPlan | None = None
    for _ in range(LAGRANGE_ROUNDS):
        fronts = {layer.name: layer_candidates(layer, weights, resource_model) for layer in layers}
        lowest_possible = max(min(c.cycles for c in f) for f in fronts.values())
        targets = sorted({c.cycles for f in fronts.values() for c in f if c.cycles >= lowest_possible})
        lo, hi, best, best_index = 0, len(targets) - 1, None, len(targets)
        while lo <= hi:  # smallest feasible interval; feasibility grows with the interval
            mid = (lo + hi) // 2
            plan = plan_for_target(fronts, targets[mid], weights, clock_ns, budget)
            if plan is not None and plan.fits:
                best, best_index, hi = plan, mid, mid - 1
            else:
                lo = mid + 1
        if best is not None:
            if found is None or best.interval_cycles < found.interval_cycles:
                found = best
            if best_index == 0:
                return found
            # a faster interval failed: if a secondary resource (e.g. DSPs chosen for being cheap)
            # blocked it, weigh that resource more and search again; keep the fastest plan found
            faster = plan_for_target(fronts, targets[best_index - 1], weights, clock_ns, budget)
            blocking = _over_budget(faster, budget, skip=primary) if faster is not None else []
            if not blocking:
                return found
            for r in blocking:
                weights[r] *= 4.0
            continue
        if found is not None:
            return found
        slowest = plan_for_target(fronts, targets[-1], weights, clock_ns, budget)
        assert slowest is not None  # the largest target admits every layer's slowest candidate
        over = _over_budget(slowest, budget)
        if not over:
            return slowest
        for r in over:
            weights[r] *= 4.0
    if found is not None:
        return found
    assert slowest is not None
    slowest.notes.append(
        f"even the most folded configuration exceeds the budget in {', '.join(_over_budget(slowest, budget))}"
    )
    return slowest
