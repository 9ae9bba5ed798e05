"""The FINN-format report files of an estimate (``estimate_layer_cycles.json``, ...)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.perf import (
    NetworkEstimate,
    PartitionEstimate,
    network_performance_report,
    throughput_fps,
)
from qnncc.hw.perf.shell import ShellEstimate

if TYPE_CHECKING:
    from qnncc.flow.estimate import EstimateResult


def dma_shells(work: ModelWrapper, count: int, port_bits: int = 0) -> list[ShellEstimate] | None:
    """The Zynq shell's DMA cycles per frame of each partition (None if a partition has no DMA stream).

    ``port_bits``: the PS memory port the DMAs share (bounds the weight streams, :func:`estimate_dma_shell`).
    """
    from qnncc.custom_op.partition import partition_child
    from qnncc.hw.perf.shell import estimate_dma_shell, partition_dma_streams

    nodes = work.get_nodes_by_op_type("StreamingDataflowPartition")
    children = [partition_child(work, n) for n in nodes] if nodes else [work]
    if len(children) != count:
        return None
    shells = []
    for child in children:
        streams = partition_dma_streams(child)
        if not streams:
            return None
        shells.append(estimate_dma_shell(streams, port_bits))
    return shells


def network_report(
    parts: list[PartitionEstimate], network: NetworkEstimate, clk_ns: float, shells: list[ShellEstimate] | None = None
) -> dict[str, Any]:
    """FINN's network report; for several partitions, run in turn, with batch-10000 throughput.

    With the Zynq shell's DMA streams (``shells``), ``dma_shell_cycles`` and
    ``dma_shell_bottleneck`` name the slowest DMA stream, and the throughput
    is the slower of accelerator and shell (``max_cycles`` stays the
    accelerator's, as in FINN).
    """
    shell_keys: dict[str, Any] = {}
    if shells:
        slow = max(shells, key=lambda s: s.cycles)
        shell_keys = {"dma_shell_cycles": slow.cycles, "dma_shell_bottleneck": slow.bottleneck}
    if len(parts) == 1:
        report: dict[str, Any] = dict(network_performance_report(parts[0], clk_ns))
        if shells:
            report["estimated_throughput_fps"] = throughput_fps(max(parts[0].interval_cycles, shells[0].cycles), clk_ns)
        return {**report, **shell_keys}
    slowest = max(parts, key=lambda p: p.interval_cycles)
    return {
        **shell_keys,
        "critical_path_cycles": sum(p.latency_cycles for p in parts),
        "max_cycles": slowest.interval_cycles,
        "max_cycles_node_name": slowest.bottleneck,
        "estimated_throughput_fps": network.throughput_fps[max(network.throughput_fps)],
        "estimated_latency_ns": network.latency_ns,
        "num_partitions": len(parts),
        "reconfiguration_ms": network.reconfiguration_ms,
    }


def write_reports(result: EstimateResult, out: Path) -> None:
    """Write reports, folding and HW model to ``out`` atomically (via ``<out>.incomplete``)."""
    tmp = out.with_name(out.name + ".incomplete")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, data in result.reports.items():
        (tmp / name).write_text(json.dumps(data, indent=2) + "\n")
    (tmp / "folding_config.json").write_text(json.dumps(result.folding, indent=2) + "\n")
    (tmp / "fit_report.txt").write_text(result.fit.table() + "\n")
    (tmp / "estimate_summary.md").write_text(result.summary() + "\n")
    result.model.save(tmp / "hw_model.onnx")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
