"""Width-converter-aware refinement of a folding plan (the ``resources`` folding mode).

The optimiser (:mod:`qnncc.hw.folding_opt`) costs each layer alone, but where
a producer's output word (``PE`` elements) differs from its consumer's input
word (``SIMD`` elements) the build inserts a StreamingDataWidthConverter,
whose LUTs the per-layer cost never sees: on LFC-W1A1 at 100k FPS they were
14% of the Yosys LUTs. This pass revisits every layer of a plan in stream
order and takes, among its foldings that still meet the cycle target, the
cheapest one counting the LUTs of the converters on its input and output
streams (given its neighbours' current choices), with the optimiser's cost
(LUTs weighted 1, other resources 0.05, each per budget: a memory moved to
block RAM must save LUTs worth its BRAMs) and LUT figures from the model
fitted on Yosys synthesis (:mod:`qnncc.hw.perf.fitted`); a few rounds of
this coordinate descent (each round can only lower the total). Streams
between a producer and several consumers, and any non-chain structure, are
costed edge by edge the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers.base import HWLayer

from .folding_opt import Candidate, FoldingPlan, LayerSpec, candidate_cost, plan_totals, resource_weights
from .perf import estimate_layer
from .perf.estimate import EstimateError
from .perf.fitted import fitted_resources

__all__ = ["refine_stream_widths"]

#: Coordinate-descent rounds over the layers.
ROUNDS = 3


@dataclass(frozen=True)
class _Option:
    candidate: Candidate
    lut: float
    in_bits: int
    out_bits: int


def _widths(node: onnx.NodeProto, values: Mapping[str, Any]) -> tuple[int, int]:
    probe = onnx.NodeProto()
    probe.CopyFrom(node)
    for attr in probe.attribute:
        if attr.name in values:
            value = values[attr.name]
            if isinstance(value, str):
                attr.s = value.encode()
            else:
                attr.i = int(value)
    names = {a.name for a in probe.attribute}
    probe.attribute.extend(onnx.helper.make_attribute(k, v) for k, v in values.items() if k not in names)
    layer = get_custom_op(probe)
    assert isinstance(layer, HWLayer)
    return layer.instream_width(0), layer.outstream_width(0)


def dwc_luts(in_bits: int, out_bits: int) -> float:
    """Fitted LUTs of the width converter between two stream widths (0 when they are equal)."""
    if in_bits == out_bits:
        return 0.0
    fitted = fitted_resources("StreamingDataWidthConverter", {"inWidth": in_bits, "outWidth": out_bits})
    return fitted["lut"] if fitted is not None else 0.0


def _options(spec: LayerSpec, node: onnx.NodeProto, target: int) -> list[_Option]:
    choices: dict[str, Sequence[int | str]] = {**spec.legal, **spec.styles}
    names = sorted(choices)
    out = []
    for combo in itertools.product(*(choices[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        try:
            est = estimate_layer(spec.op_type, {**spec.attrs, **values}, emitted=True, resource_model="fitted")
        except EstimateError:
            continue
        if est.frame_cycles > target:
            continue
        res = {"LUT": float(est.lut), "FF": float(est.ff), "BRAM_18K": float(est.bram_18k),
               "URAM": float(est.uram), "DSP": float(est.dsp)}  # fmt: skip
        in_bits, out_bits = _widths(node, values)
        out.append(_Option(Candidate(values, int(est.frame_cycles), res), float(est.lut), in_bits, out_bits))
    return out


def refine_stream_widths(
    model: ModelWrapper, specs: Sequence[LayerSpec], plan: FoldingPlan, budget: Mapping[str, float]
) -> FoldingPlan:
    """The plan with foldings re-chosen to save width-converter LUTs at the same interval.

    Args:
        model: the HW model the specs were read from (node names = spec names).
        specs: the optimiser's layers.
        plan: a plan of :func:`~qnncc.hw.folding_opt.optimize_folding` (``resource_model="fitted"``).
        budget: usable resources; a refined plan over budget is discarded.

    Returns:
        A new plan (or ``plan`` itself when nothing is saved or the refined plan does not fit).
    """
    nodes = {s.name: model.get_node_by_name(s.name) for s in specs}
    if any(n is None for n in nodes.values()):
        return plan
    target = plan.interval_cycles
    options = {s.name: _options(s, nodes[s.name], target) for s in specs}  # type: ignore[arg-type]
    current: dict[str, _Option] = {}
    for s in specs:
        chosen = plan.choice[s.name].values
        match = [o for o in options[s.name] if dict(o.candidate.values) == dict(chosen)]
        if not match:
            return plan
        current[s.name] = match[0]
    edges = []  # (producer, consumer) HW layer pairs sharing a stream
    for s in specs:
        node = nodes[s.name]
        assert node is not None
        for tensor in node.input[:1]:
            producer = model.find_producer(tensor)
            if producer is not None and producer.name in current:
                edges.append((producer.name, s.name))

    weights = resource_weights(budget)

    def cost(name: str, opt: _Option) -> float:  # the optimiser's weighted cost (BRAM counts too) + converter LUTs
        converters = 0.0
        for a, b in edges:
            if a == name:
                converters += dwc_luts(opt.out_bits, current[b].in_bits)
            elif b == name:
                converters += dwc_luts(current[a].out_bits, opt.in_bits)
        return candidate_cost(opt.candidate, weights) + weights["LUT"] * converters

    for _ in range(ROUNDS):
        changed = False
        for s in specs:
            best = min(options[s.name], key=lambda o: (cost(s.name, o), o.candidate.cycles))
            if cost(s.name, best) < cost(s.name, current[s.name]) - 1e-9:
                current[s.name] = best
                changed = True
        if not changed:
            break
    choice = {name: opt.candidate for name, opt in current.items()}
    refined = plan_totals(choice, plan, budget)
    return refined if refined.fits or not plan.fits else plan
