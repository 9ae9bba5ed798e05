"""Results of a cycle-level simulation: per-layer statistics, deadlock diagnosis, :class:`SimResult`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .network import Network
from .patterns import SimulationError

__all__ = ["UNBOUNDED", "Deadlock", "DeadlockError", "LayerStats", "SimResult"]

#: Capacity used for an "unbounded" stream.
UNBOUNDED = 1 << 40


@dataclass(frozen=True)
class LayerStats:
    """Cycle counts of one layer over the whole simulation.

    Attributes:
        active: cycles in which an iteration was issued.
        read_stalls: cycles stalled on an empty input stream.
        write_stalls: cycles stalled on a full output stream.
        drain: cycles draining the pipeline at frame ends.
        frame_cycles: cycles between the ends of the last two frames (0 with one frame).
    """

    active: int
    read_stalls: int
    write_stalls: int
    drain: int
    frame_cycles: int


@dataclass(frozen=True)
class Deadlock:
    """Where a simulation got stuck.

    Attributes:
        cycle: the first cycle in which nothing could advance.
        blocked: ``(layer, frame, iteration, reason)`` of every blocked layer,
            reason e.g. ``"reads empty 'x' (A -> B)"`` or ``"writes full 'y' (B -> C), 2/2 words"``.
        wait_cycle: layers that wait on each other in a ring (each on the
            next: for the producer of an empty stream or the consumer of a
            full one), first layer repeated at the end; empty if none is found.
    """

    cycle: int
    blocked: tuple[tuple[str, int, int, str], ...]
    wait_cycle: tuple[str, ...] = ()

    def message(self) -> str:
        """One readable paragraph naming the blocked layers and the ring they wait in."""
        parts = [f"{name} (frame {f}, iteration {i}) {why}" for name, f, i, why in self.blocked]
        ring = f"; wait cycle: {' -> '.join(self.wait_cycle)}" if self.wait_cycle else ""
        return f"deadlock at cycle {self.cycle}: " + "; ".join(parts) + ring


class DeadlockError(SimulationError):
    """The simulated dataflow deadlocks (the message names the blocked layers)."""


@dataclass
class SimResult:
    """Outcome of a simulation.

    Attributes:
        network: the simulated network.
        frames: frames simulated.
        status: ``"ok"``, ``"deadlock"`` or ``"timeout"`` (``max_cycles`` reached).
        cycles: simulated cycles.
        capacities: capacity of every stream (by index).
        max_occupancy: maximum occupancy of every stream (by index).
        frame_start: ``[layers, frames]`` cycle of each frame's first issue (-1: not reached).
        frame_end: ``[layers, frames]`` cycle each frame finished (-1: not reached).
        layer_stats: per layer (by index).
        deadlock: details when ``status == "deadlock"``.
        wall_seconds: wall-clock time of the engine call.
        engine: ``"cpp"`` or ``"python"``.
    """

    network: Network
    frames: int
    status: Literal["ok", "deadlock", "timeout"]
    cycles: int
    capacities: list[int]
    max_occupancy: list[int]
    frame_start: np.ndarray
    frame_end: np.ndarray
    layer_stats: list[LayerStats]
    deadlock: Deadlock | None
    wall_seconds: float
    engine: str
    source_period: int = 0
    _sinks: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._sinks = [i for i, layer in enumerate(self.network.layers) if layer.op_type == "Sink"]

    @property
    def ok(self) -> bool:
        """Whether every frame completed."""
        return self.status == "ok"

    @property
    def output_ends(self) -> np.ndarray:
        """Cycle of the last output word of each frame (latest over the outputs; -1 if not reached)."""
        ends = self.frame_end[self._sinks]
        return np.where((ends < 0).any(axis=0), -1, ends.max(axis=0))

    @property
    def interval_cycles(self) -> int | None:
        """Steady-state initiation interval: cycles between the last outputs of the last two frames."""
        ends = self.output_ends
        if self.frames < 2 or ends[-1] < 0 or ends[-2] < 0:
            return None
        return int(ends[-1] - ends[-2])

    @property
    def frame_intervals(self) -> list[int]:
        """Cycles between the last outputs of consecutive completed frames."""
        ends = [int(e) for e in self.output_ends if e >= 0]
        return [b - a for a, b in itertools.pairwise(ends)]

    @property
    def first_output_latency(self) -> int | None:
        """Cycles from the first input word to the first output word of frame 0."""
        starts = self.frame_start[self._sinks, 0]
        return None if (starts < 0).any() else int(starts.min()) + 1

    @property
    def last_output_latency(self) -> int | None:
        """Cycles from the first input word to the last output word of frame 0."""
        end = int(self.output_ends[0])
        return None if end < 0 else end + 1

    @property
    def cycles_per_second(self) -> float:
        """Simulated cycles per wall-clock second of the engine."""
        return self.cycles / max(self.wall_seconds, 1e-9)

    def occupancy(self) -> dict[str, int]:
        """Maximum occupancy by stream name."""
        return {s.name: self.max_occupancy[i] for i, s in enumerate(self.network.streams)}

    def check(self) -> SimResult:
        """``self`` if every frame completed.

        Raises:
            DeadlockError: with :meth:`Deadlock.message` on a deadlock.
            SimulationError: when the cycle limit was reached.
        """
        if self.status == "deadlock":
            assert self.deadlock is not None
            raise DeadlockError(self.deadlock.message())
        if self.status == "timeout":
            raise SimulationError(f"simulation did not finish {self.frames} frames within {self.cycles} cycles")
        return self

    def summary(self) -> str:
        """Readable summary: status, interval, latencies, streams and layers."""
        net = self.network
        lines = [
            f"status: {self.status} after {self.cycles} cycles ({self.frames} frames, "
            f"{self.cycles_per_second / 1e6:.1f} M cycles/s, {self.engine} engine)",
            f"interval: {self.interval_cycles} cycles/frame; latency first/last output of frame 0: "
            f"{self.first_output_latency}/{self.last_output_latency} cycles",
        ]
        if self.deadlock is not None:
            lines.append(self.deadlock.message())
        lines.append("streams (max occupancy / capacity):")
        for i in range(len(net.streams)):
            cap = "inf" if self.capacities[i] >= UNBOUNDED else str(self.capacities[i])
            lines.append(f"  {net.describe_stream(i)}: {self.max_occupancy[i]} / {cap}")
        lines.append("layers (active / read stalls / write stalls / drain, cycles per frame):")
        for layer, st in zip(net.layers, self.layer_stats, strict=True):
            lines.append(
                f"  {layer.name}: {st.active} / {st.read_stalls} / {st.write_stalls} / {st.drain}, {st.frame_cycles}"
            )
        return "\n".join(lines)
