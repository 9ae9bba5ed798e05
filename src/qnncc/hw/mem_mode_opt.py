"""Where the weights live: on chip when they fit, streamed from DRAM (``mem_mode="external"``) when not.

The folding optimiser (:mod:`qnncc.hw.folding_opt`) folds every layer with
its weights on chip. When that plan does not fit the board's budget,
:func:`choose_mem_modes` streams the weights of MVAUs (FINN's
``mem_mode="external"``, :mod:`qnncc.hw.layers.weight_stream`) in order of
the on-chip bits they free per bit they stream: ``MW * MH * W`` over the
input vectors per frame (the stream carries the matrix once per vector),
so large fully connected layers go first and a convolution, whose weights
would pass hundreds of times per frame, last. It streams the shortest
prefix of that order whose re-optimised plan fits (exponential then binary
search: a longer prefix frees more memory), and keeps every layer on chip
when the all-on-chip plan fits or when streaming every candidate still
does not fit (the flow then splits the design into partitions).

A streamed layer's estimate has no weight memory and at least the cycles
its DMA stream needs (:func:`~qnncc.hw.perf.mac.external_weight_cycles`);
the memory port those DMAs share bounds the frame rate as well
(:func:`shared_port_cycles`), reported in the plan's notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from qnncc.core.datatype import DataType

from .folding_opt import FoldingPlan, LayerSpec

__all__ = ["choose_mem_modes", "external_spec", "shared_port_cycles", "stream_order"]

#: The optimiser as :func:`choose_mem_modes` calls it: layer specs -> plan.
Optimise = Callable[[Sequence[LayerSpec]], FoldingPlan]


def _vectors(spec: LayerSpec) -> int:
    return math.prod(int(v) for v in list(spec.attrs.get("numInputVectors", [1]))[1:])


def _bits(spec: LayerSpec) -> int:
    w = DataType.from_name(str(spec.attrs["weightDataType"])).bitwidth()
    return int(spec.attrs["MW"]) * int(spec.attrs["MH"]) * w


def _candidate(spec: LayerSpec) -> bool:
    a = spec.attrs
    allowed = str(a.get("mem_mode", "internal_decoupled")) != "external"
    writeable = int(a.get("runtime_writeable_weights", 0))
    return spec.op_type == "MVAU" and allowed and "weightDataType" in a and not writeable


def stream_order(specs: Sequence[LayerSpec]) -> list[str]:
    """Names of the layers that may stream their weights, best first (weight bits per vector, descending)."""
    cands = [s for s in specs if _candidate(s)]
    cands.sort(key=lambda s: (-_bits(s) / _vectors(s), s.name))
    return [s.name for s in cands]


def external_spec(spec: LayerSpec) -> LayerSpec:
    """``spec`` with its weights streamed: ``mem_mode="external"``, ``MMV=1``, no memory-style or MMV option."""
    styles = {k: v for k, v in spec.styles.items() if k not in ("ram_style", "MMV")}
    attrs = {**spec.attrs, "mem_mode": "external", "MMV": 1}
    return replace(spec, attrs=attrs, styles=styles)


def shared_port_cycles(specs: Sequence[LayerSpec], port_bits: int) -> int:
    """Cycles per frame the streamed weights need through one ``port_bits``-wide memory port (0 without one).

    Formula of :func:`qnncc.hw.perf.shell.estimate_dma_shell`: the weight bits per frame over the port width.
    """
    if port_bits <= 0:
        return 0
    bits = sum(_bits(s) * _vectors(s) for s in specs if str(s.attrs.get("mem_mode", "")) == "external")
    return -(-bits // port_bits)


def choose_mem_modes(
    specs: Sequence[LayerSpec], optimise: Optimise, plan: FoldingPlan | None = None, port_bits: int = 0
) -> tuple[FoldingPlan, list[LayerSpec], list[str]]:
    """Stream the weights of as few layers as needed (best first, :func:`stream_order`) for the plan to fit.

    Args:
        specs: the layers with their weights on chip.
        optimise: the folding optimiser for a list of specs (budget, clock and target bound in).
        plan: ``optimise(specs)`` if already computed.
        port_bits: the memory port the weight DMAs share (0: none modelled; Alveo's kernels have their own).

    Returns:
        ``(plan, specs, streamed)``: the chosen plan (its choices carry ``mem_mode="external"`` for
        the streamed layers), the specs it was optimised for, and the streamed layer names (empty
        when everything fits on chip or streaming does not make it fit). The plan's notes name the
        streamed layers and the memory-port bound.
    """
    plan = plan if plan is not None else optimise(specs)
    order = stream_order(specs)
    if plan.fits or not order:
        return plan, list(specs), []

    def attempt(k: int) -> tuple[FoldingPlan, list[LayerSpec]]:
        chosen = set(order[:k])
        trial = [external_spec(s) if s.name in chosen else s for s in specs]
        return optimise(trial), trial

    tried: dict[int, tuple[FoldingPlan, list[LayerSpec]]] = {}
    k, fitting = 1, None
    while True:  # exponential search for a prefix that fits
        tried[k] = attempt(k)
        if tried[k][0].fits:
            fitting = k
            break
        if k == len(order):
            break
        k = min(2 * k, len(order))
    if fitting is None:
        plan.notes.append(f"streaming the weights of all {len(order)} MVAU(s) (mem_mode='external') does not fit")
        return plan, list(specs), []
    lo, hi = fitting // 2 + 1, fitting  # prefixes below fitting // 2 + 1 were tried (powers of two) or are smaller
    while lo < hi:
        mid = (lo + hi) // 2
        tried.setdefault(mid, attempt(mid))
        if tried[mid][0].fits:
            hi = mid
        else:
            lo = mid + 1
    best, trial = tried[hi]
    streamed = order[:hi]
    for name in streamed:
        choice = best.choice[name]
        best.choice[name] = replace(choice, values={**choice.values, "mem_mode": "external"})
    best.notes.append(
        f"weights streamed from DRAM (mem_mode='external') for {len(streamed)} layer(s) that do not fit on chip: "
        + ", ".join(streamed)
    )
    port = shared_port_cycles(trial, port_bits)
    if port > best.interval_cycles:
        fps = best.fps * best.interval_cycles / port
        best.notes.append(
            f"the weight streams share a {port_bits}-bit memory port: {port} cycles per frame bound the "
            f"frame rate to {fps:,.0f} FPS"
        )
    return best, trial, streamed
