"""Partition and network levels of the performance model (fpgaConvNet style).

* A **partition** is a set of layers streaming concurrently on one device:
  its interval is the slowest layer's cycles per frame, its latency the sum
  of layer latencies along the longest path of the layer DAG, its resources
  the sums over layers.
* A **network** runs its partitions one after the other, reconfiguring the
  device between them: a batch of ``B`` frames costs
  ``sum_p (latency_p + (B - 1) * interval_p) * clk_p + (P - 1) * t_reconf``.

Source: Venieris & Bouganis, "fpgaConvNet: Mapping Regular and Irregular
Convolutional Neural Networks on FPGAs", TNNLS 2019 (Sec. IV, performance
model); FINN ``dataflow_performance`` analysis for the critical path.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from .estimate import EstimateError, LayerEstimate

__all__ = [
    "NetworkEstimate",
    "PartitionEstimate",
    "estimate_network",
    "estimate_partition",
    "throughput_fps",
]


def throughput_fps(interval_cycles: float, clk_ns: float) -> float:
    """Frames per second of a pipeline with the given initiation interval.

    ``fps = 1e9 / (interval_cycles * clk_ns)`` (FINN ``estimated_throughput_fps``).

    Args:
        interval_cycles: Cycles between two frames (the bottleneck layer's cycles).
        clk_ns: Clock period in ns.

    Raises:
        EstimateError: if either argument is not positive.
    """
    if interval_cycles <= 0 or clk_ns <= 0:
        raise EstimateError(f"throughput_fps needs positive interval and clock, got {interval_cycles}, {clk_ns} ns")
    return 1e9 / (interval_cycles * clk_ns)


@dataclass(frozen=True)
class PartitionEstimate:
    """Performance and resources of layers streaming together on one device.

    Attributes:
        interval_cycles: Initiation interval, cycles per frame (max over layers).
        bottleneck: Name of the (first) layer with the largest cycles.
        latency_cycles: Sum of layer latencies along the longest path, cycles.
        critical_path: Layer names on that path, in stream order.
        layer_names: All layer names, in the given order.
        lut: Total LUTs.
        ff: Total FFs.
        bram_18k: Total RAMB18 primitives.
        uram: Total URAM blocks.
        dsp: Total DSP slices.
    """

    interval_cycles: int
    bottleneck: str
    latency_cycles: int
    critical_path: tuple[str, ...]
    layer_names: tuple[str, ...]
    lut: int
    ff: int
    bram_18k: int
    uram: int
    dsp: int

    def resources(self) -> dict[str, int]:
        """Totals keyed by FINN's report names (``LUT``, ``FF``, ``BRAM_18K``, ``URAM``, ``DSP``)."""
        return {"LUT": self.lut, "FF": self.ff, "BRAM_18K": self.bram_18k, "URAM": self.uram, "DSP": self.dsp}

    def throughput_fps(self, clk_ns: float) -> float:
        """Frames per second at clock period ``clk_ns`` (ns)."""
        return throughput_fps(self.interval_cycles, clk_ns)

    def latency_ns(self, clk_ns: float) -> float:
        """Latency of one frame in ns at clock period ``clk_ns`` (ns)."""
        return self.latency_cycles * clk_ns


def _longest_path(names: Sequence[str], weights: dict[str, int], edges: Sequence[tuple[str, str]]) -> list[str]:
    """Heaviest node-weighted path of a DAG (Kahn order; ties go to the earlier layer)."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    indeg = dict.fromkeys(names, 0)
    for src, dst in edges:
        for end in (src, dst):
            if end not in succ:
                raise EstimateError(f"partition edge ({src!r}, {dst!r}) names unknown layer {end!r}")
        succ[src].append(dst)
        indeg[dst] += 1
    best = {n: weights[n] for n in names}
    prev: dict[str, str | None] = dict.fromkeys(names)
    ready = [n for n in names if indeg[n] == 0]
    visited = 0
    while ready:
        node = ready.pop(0)
        visited += 1
        for nxt in succ[node]:
            cand = best[node] + weights[nxt]
            # the first predecessor always links (so zero-latency layers stay on the path)
            if cand > best[nxt] or (prev[nxt] is None and cand >= best[nxt]):
                best[nxt], prev[nxt] = cand, node
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    if visited != len(names):
        raise EstimateError("partition edges contain a cycle; layers must form a DAG")
    end = max(names, key=lambda n: (best[n], -names.index(n)))
    path = [end]
    while (p := prev[path[-1]]) is not None:
        path.append(p)
    return path[::-1]


def estimate_partition(
    layers: Sequence[tuple[str, LayerEstimate]],
    edges: Sequence[tuple[str, str]] | None = None,
) -> PartitionEstimate:
    """Combine layer estimates of one partition.

    Args:
        layers: ``(name, estimate)`` pairs; names must be unique.
        edges: Stream connections ``(producer, consumer)`` between layer
            names, forming a DAG. ``None`` means a chain in the given order.

    Returns:
        Interval (the largest ``frame_cycles`` of a layer: its cycles plus
        the per-frame pipeline drain of qnncc's loops when estimated with
        ``emitted=True``), bottleneck name, latency along the longest path
        (sum of ``latency_cycles``), resource totals.

    Raises:
        EstimateError: no layers, duplicate names, unknown names in edges,
            or a cycle.
    """
    if not layers:
        raise EstimateError("a partition needs at least one layer")
    names = [name for name, _ in layers]
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise EstimateError(f"duplicate layer names in partition: {', '.join(dups)}")
    est = dict(layers)
    if edges is None:
        edges = list(itertools.pairwise(names))
    path = _longest_path(names, {n: est[n].latency_cycles for n in names}, edges)
    bottleneck = max(names, key=lambda n: (est[n].frame_cycles, -names.index(n)))
    return PartitionEstimate(
        interval_cycles=est[bottleneck].frame_cycles,
        bottleneck=bottleneck,
        latency_cycles=sum(est[n].latency_cycles for n in path),
        critical_path=tuple(path),
        layer_names=tuple(names),
        lut=sum(e.lut for e in est.values()),
        ff=sum(e.ff for e in est.values()),
        bram_18k=sum(e.bram_18k for e in est.values()),
        uram=sum(e.uram for e in est.values()),
        dsp=sum(e.dsp for e in est.values()),
    )


@dataclass(frozen=True)
class NetworkEstimate:
    """Latency and throughput of partitions run in turn on one device.

    Attributes:
        num_partitions: Number of partitions.
        latency_ns: Time for one frame (batch 1), reconfigurations included, ns.
        reconfiguration_ms: Time of one device reconfiguration, ms.
        batch_time_ms: Time to process a whole batch, by batch size, ms.
        throughput_fps: Frames per second, by batch size.
    """

    num_partitions: int
    latency_ns: float
    reconfiguration_ms: float
    batch_time_ms: dict[int, float]
    throughput_fps: dict[int, float]


def estimate_network(
    partitions: Sequence[PartitionEstimate],
    reconfiguration_ms: float,
    *,
    clk_ns: float | Sequence[float],
    batch_sizes: Sequence[int] = (1,),
    shell_cycles: Sequence[int] | None = None,
) -> NetworkEstimate:
    """Network time when partitions run one after the other with reconfiguration.

    For a batch of ``B`` frames: partition ``p`` streams all frames in
    ``(latency_p + (B - 1) * interval_p) * clk_p`` ns, and every partition
    after the first costs one reconfiguration (fpgaConvNet's model). With
    ``shell_cycles`` (cycles per frame of each partition's DMA shell,
    :mod:`qnncc.hw.perf.shell`) a partition's interval is the larger of the
    two, and its latency at least the shell's cycles (frames enter and leave
    through the DMA streams).

    Args:
        partitions: Partition estimates, in execution order.
        reconfiguration_ms: Full reconfiguration time of the device, ms.
        clk_ns: Clock period (ns), one for all partitions or one per partition.
        batch_sizes: Batch sizes to report throughput for.
        shell_cycles: DMA shell cycles per frame, one per partition (None: no shell).

    Raises:
        EstimateError: no partitions, a negative reconfiguration time, a
            non-positive clock or batch size, or a clock or shell list of the wrong length.
    """
    if not partitions:
        raise EstimateError("a network needs at least one partition")
    if reconfiguration_ms < 0:
        raise EstimateError(f"reconfiguration time must not be negative, got {reconfiguration_ms} ms")
    clocks = [float(clk_ns)] * len(partitions) if isinstance(clk_ns, int | float) else [float(c) for c in clk_ns]
    if len(clocks) != len(partitions) or any(c <= 0 for c in clocks):
        raise EstimateError(f"need one positive clock period per partition, got {clocks} for {len(partitions)}")
    if not batch_sizes or any(b < 1 for b in batch_sizes):
        raise EstimateError(f"batch sizes must be positive, got {list(batch_sizes)}")
    reconf_ns = (len(partitions) - 1) * reconfiguration_ms * 1e6
    shells = [0] * len(partitions) if shell_cycles is None else [int(s) for s in shell_cycles]
    if len(shells) != len(partitions) or any(s < 0 for s in shells):
        raise EstimateError(f"need one shell cycle count >= 0 per partition, got {shells} for {len(partitions)}")
    timing = [
        (max(p.latency_cycles, s), max(p.interval_cycles, s), c)
        for p, s, c in zip(partitions, shells, clocks, strict=True)
    ]

    def batch_ns(batch: int) -> float:
        return sum((lat + (batch - 1) * ii) * c for lat, ii, c in timing) + reconf_ns

    times = {b: batch_ns(b) for b in batch_sizes}
    return NetworkEstimate(
        num_partitions=len(partitions),
        latency_ns=batch_ns(1),
        reconfiguration_ms=reconfiguration_ms,
        batch_time_ms={b: t / 1e6 for b, t in times.items()},
        throughput_fps={b: b * 1e9 / t for b, t in times.items()},
    )
