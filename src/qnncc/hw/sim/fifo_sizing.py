"""FIFO sizing by cycle-level simulation (qnncc's replacement for FINN's RTL-simulation sizing).

Algorithm (:func:`size_fifos`), all runs on the compiled engine:

1. **reference**: every sized stream unbounded, inputs fed as fast as they
   are taken. Its steady-state interval ``II`` is the best the layers allow
   (unbounded FIFOs never deadlock and never back-pressure).
2. **measure**: unbounded again, but the input throttled to the
   achievable rate: by default *smooth*, word ``j`` of ``W`` of frame ``f``
   no earlier than ``(f + j / W) * II``. Every layer then runs at one frame
   per ``II`` without bursts, so each FIFO's maximum occupancy is the
   buffering the schedule itself needs (a residual bypass holds what its
   branch's latency asks for). Throttling whole frames instead
   (``measure="frames"``, qnncc's first method) lets fast front layers pile
   a frame into the FIFOs before slow ones (FINN's large first FIFOs: ten
   times the bits on ResNet-50's first partition).
3. **choose**: depth = :func:`practical_depth` of the maximum occupancy
   (2 = no FIFO needed; 3..32 -> 32, the depth of one SRL32 / the cost of
   any shallower shift-register FIFO; above: the next power of two, the
   depths ``axis_data_fifo`` takes), implementation by depth x width with
   :func:`qnncc.hw.layers.streamingfifo.fifo_style` (SRL, LUTRAM, BRAM).
4. **verify**: simulate the chosen depths with the input unthrottled. The
   interval must equal the reference and no frame may deadlock; if not,
   every FIFO that ran full (or blocks the deadlock) doubles and the
   verification repeats (at most ``max_rounds`` times).
5. **minimize** (optional, default on): by default
   :func:`~.fifo_groups.group_shrink`: the depths snap to the verified
   run's occupancies (free: the run replays exactly), then whole groups of
   FIFOs are lowered one step per simulation, failing groups split, every
   accepted state one that a simulation passed. ``search="serial"`` is the
   first method: starting from every FIFO as deep as the deepest one of
   step 4, FIFOs are revisited widest first, each bisected to its smallest
   passing depth plus ``slack`` (:func:`~.fifo_search.minimize_depths`; or,
   when that is not expected to finish in the budget, the costliest
   verified FIFOs first, :func:`~.fifo_search.shrink_depths`), then one
   final verification decides. Either search is bounded by
   ``minimize_seconds`` of CPU time of this process (other processes on a
   shared machine do not shrink it); FIFOs not reached keep their depth.

Whether bounded FIFOs deadlock does not depend on timing (layers are
Kahn processes with blocking reads and writes), so a depth that passes the
verification is deadlock-free for any input timing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from qnncc.core.model_wrapper import ModelWrapper

from .engine import simulate
from .fifo_groups import group_shrink
from .fifo_search import SRL_DEPTH, minimize_depths, practical_depth, search_fits, shrink_depths
from .network import DEFAULT_STREAM_DEPTH, Network, build_network
from .patterns import SimulationError
from .results import UNBOUNDED, SimResult

__all__ = ["DEFAULT_MINIMIZE_SECONDS", "SRL_DEPTH", "FIFOSizing", "practical_depth", "size_fifos"]

#: Default CPU-time budget of the depth minimisation (s): small partitions finish far below it.
DEFAULT_MINIMIZE_SECONDS = 6.0


@dataclass
class FIFOSizing:
    """Result of :func:`size_fifos`.

    Attributes:
        network: the simulated network.
        sized: indices of the streams that were sized.
        required: maximum occupancy per sized stream in the measure run.
        minimal: smallest depth found to pass verification, per stream the
            minimisation searched (before slack and rounding).
        depths: chosen depth per sized stream (2 means no FIFO is needed).
        styles: ``(impl_style, ram_style)`` per sized stream with depth > 2.
        reference: the unbounded run (best interval).
        measured: the throttled unbounded run (occupancies).
        verified: the final run with the chosen depths.
        baseline: the run with the network's own capacities (e.g. default
            depth 2 everywhere), for comparison; None if not run.
        rounds: verification rounds (1 when the first choice held).
        seconds: wall-clock time of the whole sizing (simulations and bookkeeping).
        extra_cycles: cycles of the rejected verification rounds.
        unminimized: sized streams the minimisation did not reach within its
            time budget (they keep the depth of step 4).
    """

    network: Network
    sized: list[int]
    required: dict[int, int]
    minimal: dict[int, int]
    depths: dict[int, int]
    styles: dict[int, tuple[str, str]]
    reference: SimResult
    measured: SimResult
    verified: SimResult
    baseline: SimResult | None
    rounds: int
    seconds: float
    extra_cycles: int = 0
    unminimized: int = 0

    @property
    def interval_cycles(self) -> int:
        """Steady-state interval with the chosen depths (equal to the reference's)."""
        value = self.verified.interval_cycles
        assert value is not None
        return value

    @property
    def simulated_cycles(self) -> int:
        """Cycles simulated over all runs."""
        runs = [self.reference, self.measured, self.verified] + ([self.baseline] if self.baseline else [])
        return sum(r.cycles for r in runs) + self.extra_cycles

    def fifo_depths(self) -> dict[str, int]:
        """Chosen depth by stream name (the producer's output tensor), every sized stream."""
        return {self.network.streams[i].name: d for i, d in self.depths.items()}

    def fifos(self) -> list[dict[str, Any]]:
        """One record per sized stream: name, producer, consumer, width, required, depth, styles."""
        net = self.network
        rows = []
        for i in self.sized:
            s = net.streams[i]
            impl, ram = self.styles.get(i, ("", ""))
            rows.append(
                {
                    "stream": s.name,
                    "producer": net.layers[s.producer].name,
                    "consumer": net.layers[s.consumer].name,
                    "width_bits": s.width,
                    "max_occupancy": self.required[i],
                    "min_depth": self.minimal.get(i),
                    "depth": self.depths[i],
                    "impl_style": impl,
                    "ram_style": ram,
                }
            )
        return rows

    def report(self) -> dict[str, Any]:
        """JSON-ready summary for build reports."""
        base = self.baseline
        return {
            "interval_cycles": self.interval_cycles,
            "interval_cycles_unbounded": self.reference.interval_cycles,
            "baseline_status": base.status if base else None,
            "baseline_interval_cycles": base.interval_cycles if base else None,
            "baseline_deadlock": base.deadlock.message() if base and base.deadlock else None,
            "first_output_latency_cycles": self.verified.first_output_latency,
            "last_output_latency_cycles": self.verified.last_output_latency,
            "verification_rounds": self.rounds,
            "unminimized_fifos": self.unminimized,
            "simulated_cycles": self.simulated_cycles,
            "seconds": round(self.seconds, 4),
            "fifos": self.fifos(),
        }

    def summary(self) -> str:
        """Readable table of the sized FIFOs and the intervals."""
        base = self.baseline
        default = f"; default depths: {base.status}" + (f", {base.interval_cycles}" if base.ok else "") if base else ""
        lines = [
            f"interval: {self.interval_cycles} cycles/frame with sized FIFOs "
            f"(unbounded: {self.reference.interval_cycles}{default})",
            f"sizing: {self.seconds:.3f} s, {self.rounds} verification round(s), "
            f"{self.simulated_cycles} cycles simulated",
            "| stream | producer -> consumer | bits | max occupancy | depth | style |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        for row in self.fifos():
            style = f"{row['impl_style']}/{row['ram_style']}" if row["impl_style"] else "-"
            lines.append(
                f"| {row['stream']} | {row['producer']} -> {row['consumer']} | {row['width_bits']} | "
                f"{row['max_occupancy']} | {row['depth']} | {style} |"
            )
        return "\n".join(lines)


def _interval(result: SimResult, what: str) -> int:
    result.check()
    value = result.interval_cycles
    if value is None:
        raise SimulationError(f"{what}: no steady-state interval (simulate at least 2 frames)")
    return value


def size_fifos(
    model: ModelWrapper | Network,
    frames: int = 4,
    *,
    size_io: bool = False,
    max_rounds: int = 8,
    latencies: Mapping[str, int] | None = None,
    baseline: bool = True,
    minimize: bool = True,
    slack: int = 4,
    engine: Literal["auto", "cpp", "python"] = "auto",
    minimize_seconds: float | None = DEFAULT_MINIMIZE_SECONDS,
    measure: Literal["smooth", "frames"] = "smooth",
    search: Literal["groups", "serial"] = "groups",
) -> FIFOSizing:
    """Choose FIFO depths that keep a partition's interval and never deadlock.

    Args:
        model: a HW model (see :func:`~.network.build_network`) or a network.
        frames: frames per simulation (>= 3: the throttled run needs a
            periodic state).
        size_io: also size the streams from the inputs and to the outputs
            (they always are when they carry a StreamingFIFO node already).
        max_rounds: verification rounds before giving up.
        latencies: pipeline depth overrides (see :func:`~.patterns.layer_latency`).
        baseline: also simulate the network's own capacities (for the report).
        minimize: shrink the depths by search (step 5 of the module docstring).
        slack: words added to a searched minimal depth before rounding.
        engine: simulation engine (see :func:`~.engine.simulate`).
        minimize_seconds: CPU-time budget of the minimisation (None: unbounded);
            streams not reached keep their verified depth.
        measure: input of the measure run (step 2): ``"smooth"`` spreads each
            frame's words evenly over the period, ``"frames"`` throttles whole
            frames (qnncc's first method: fast front layers pile up a frame).
        search: ``"groups"`` (:func:`~.fifo_groups.group_shrink`, many FIFOs
            per simulation) or ``"serial"`` (one FIFO at a time, the first method).

    Returns:
        The :class:`FIFOSizing`.

    Raises:
        SimulationError: the unbounded network does not finish (a pattern
            inconsistency), or the verification still fails after
            ``max_rounds`` rounds.
    """
    start = time.perf_counter()
    if frames < 3:
        raise SimulationError(f"FIFO sizing needs >= 3 frames, got {frames}")
    net = model if isinstance(model, Network) else build_network(model, latencies)
    sized = [i for i, s in enumerate(net.streams) if size_io or s.fifo_nodes or not net.is_io(i)]
    unbounded = dict.fromkeys(sized, UNBOUNDED)
    reference = simulate(net, frames, unbounded, engine=engine)
    ii = _interval(reference, "unbounded FIFOs")
    while len(set(reference.frame_intervals[-2:])) > 1 and frames < 32:  # not periodic yet: more frames
        frames *= 2
        reference = simulate(net, frames, unbounded, engine=engine)
        ii = _interval(reference, "unbounded FIFOs")
    period = max(reference.frame_intervals[-2:])
    measured = simulate(net, frames, unbounded, source_period=period, engine=engine, smooth_source=measure == "smooth")
    _interval(measured, "unbounded FIFOs, throttled input")
    required = {i: measured.max_occupancy[i] for i in sized}
    depths = {i: practical_depth(required[i]) for i in sized}
    extra = 0
    rounds = 0
    while True:
        rounds += 1
        verify_cpu = time.process_time()
        verified = simulate(net, frames, depths, engine=engine)
        verify_cpu = time.process_time() - verify_cpu
        if verified.ok and verified.interval_cycles is not None and verified.interval_cycles <= ii:
            break
        if rounds >= max_rounds:
            problem = verified.deadlock.message() if verified.deadlock else f"interval {verified.interval_cycles}"
            raise SimulationError(f"FIFO sizing did not converge in {max_rounds} rounds (reference {ii}): {problem}")
        extra += verified.cycles
        grow = [i for i in sized if verified.max_occupancy[i] >= depths[i]]
        if not grow:  # nothing ran full: the slowdown is not a FIFO's; grow everything once
            grow = sized
        for i in grow:
            depths[i] = practical_depth(2 * depths[i])
    minimal: dict[int, int] = {}
    unminimized = 0
    if minimize and search == "groups":
        deadline = None if minimize_seconds is None else time.process_time() + minimize_seconds
        found = group_shrink(net, frames, depths, ii, engine, deadline, first=verified)
        extra += found.cycles
        depths = found.depths  # a passing run's, or the verified ones snapped to their occupancy (the same run)
        if found.result is not None:
            extra += verified.cycles
            verified = found.result
        if found.simulations:
            minimal = {i: d for i, d in depths.items() if i in found.final or d <= DEFAULT_STREAM_DEPTH}
            unminimized = 0 if found.finished else len(sized) - len(minimal)
        else:
            unminimized = len(sized)
    elif minimize:
        deadline = None if minimize_seconds is None else time.process_time() + minimize_seconds
        if minimize_seconds is None or search_fits(net, sized, depths, verify_cpu, minimize_seconds):
            shrunk, minimal, tries, unminimized = minimize_depths(
                net, frames, sized, depths, ii, slack, engine, deadline
            )
        else:  # too many FIFOs for the budget: shrink the costliest verified FIFOs while time lasts
            shrunk, minimal, tries, unminimized = shrink_depths(net, frames, sized, depths, ii, slack, engine, deadline)
        extra += tries
        if minimal:  # else nothing was searched (no time): the depths are the verified ones
            check = simulate(net, frames, shrunk, engine=engine)
            if check.ok and check.interval_cycles is not None and check.interval_cycles <= ii:
                extra += verified.cycles
                depths, verified = shrunk, check
            else:
                extra += check.cycles
                minimal = {}
                unminimized = len(sized)
    styles = _styles(net, depths)
    base = simulate(net, frames, engine=engine) if baseline else None
    result = FIFOSizing(
        network=net,
        sized=sized,
        required=required,
        minimal=minimal,
        depths=depths,
        styles=styles,
        reference=reference,
        measured=measured,
        verified=verified,
        baseline=base,
        rounds=rounds,
        seconds=0.0,
        extra_cycles=extra,
        unminimized=unminimized,
    )
    result.seconds = time.perf_counter() - start
    return result


def _styles(net: Network, depths: Mapping[int, int]) -> dict[int, tuple[str, str]]:
    """``(impl_style, ram_style)`` of every FIFO deeper than a plain stream."""
    from qnncc.hw.layers.streamingfifo import fifo_style

    return {i: fifo_style(d, net.streams[i].width) for i, d in depths.items() if d > DEFAULT_STREAM_DEPTH}


def fifo_resource_bits(sizing: FIFOSizing) -> int:
    """Total FIFO storage in bits (depth x width over FIFOs deeper than 2)."""
    return sum(d * sizing.network.streams[i].width for i, d in sizing.depths.items() if d > DEFAULT_STREAM_DEPTH)


def fifo_resources(net: Network, depths: Mapping[int, int]) -> dict[str, float]:
    """Estimated LUT, FF, BRAM_18K and URAM of the FIFOs deeper than 2 (a depth per stream index).

    Each FIFO is costed as ``SetFIFODepths`` builds it: the implementation of
    :func:`qnncc.hw.layers.streamingfifo.fifo_style` and its ``StreamingFIFO``
    estimate (FINN's formulas, ``vivado`` FIFOs at a power-of-two depth).
    """
    from qnncc.hw.layers.streamingfifo import estimate_fifo, fifo_style
    from qnncc.hw.perf.estimate import Attrs

    total = dict.fromkeys(("LUT", "FF", "BRAM_18K", "URAM"), 0.0)
    for i, d in depths.items():
        if d <= DEFAULT_STREAM_DEPTH:
            continue
        width = net.streams[i].width
        impl, ram = fifo_style(d, width)
        attrs = {"depth": d, "folded_shape": [1, 1, width], "dataType": "BINARY", "impl_style": impl, "ram_style": ram}
        e = estimate_fifo(Attrs("StreamingFIFO", attrs))
        for key, value in (("LUT", e.lut), ("FF", e.ff), ("BRAM_18K", e.bram_18k), ("URAM", e.uram)):
            total[key] += value
    return total
