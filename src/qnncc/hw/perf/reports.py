"""FINN-format estimate reports (the JSON files of FINN's ``step_generate_estimate_reports``).

* ``estimate_layer_cycles.json``: ``{node_name: cycles}``
* ``estimate_layer_resources.json``: ``{node_name: {"BRAM_18K", "BRAM_efficiency",
  "LUT", "URAM", "URAM_efficiency", "DSP"}, "total": {...}}``
* ``estimate_network_performance.json``: ``critical_path_cycles``,
  ``max_cycles``, ``max_cycles_node_name``, ``estimated_throughput_fps``,
  ``estimated_latency_ns``

The functions return plain dicts; ``json.dump`` them into the build directory.
"""

from __future__ import annotations

from collections.abc import Sequence

from .estimate import EstimateError, LayerEstimate
from .partition import PartitionEstimate, estimate_partition, throughput_fps

__all__ = ["layer_cycles_report", "layer_resources_report", "network_performance_report"]


def _check_names(layers: Sequence[tuple[str, LayerEstimate]]) -> None:
    names = [n for n, _ in layers]
    if "total" in names:
        raise EstimateError("a layer must not be named 'total' (reserved key of the resources report)")
    if len(set(names)) != len(names):
        raise EstimateError("duplicate layer names in report")


def layer_cycles_report(layers: Sequence[tuple[str, LayerEstimate]]) -> dict[str, int]:
    """Contents of FINN's ``estimate_layer_cycles.json``: cycles per frame by node name."""
    _check_names(layers)
    return {name: est.cycles for name, est in layers}


def layer_resources_report(layers: Sequence[tuple[str, LayerEstimate]]) -> dict[str, dict[str, float]]:
    """Contents of FINN's ``estimate_layer_resources.json``.

    Per node: ``BRAM_18K``, ``BRAM_efficiency``, ``LUT``, ``URAM``,
    ``URAM_efficiency``, ``DSP``. The ``"total"`` entry sums the counts; its
    efficiencies are the payload-weighted means (total payload bits over
    total allocated bits), where FINN's ``aggregate_dict_keys`` adds the
    per-layer ratios.
    """
    _check_names(layers)
    report: dict[str, dict[str, float]] = {
        name: {
            "BRAM_18K": est.bram_18k,
            "BRAM_efficiency": est.bram_efficiency,
            "LUT": est.lut,
            "URAM": est.uram,
            "URAM_efficiency": est.uram_efficiency,
            "DSP": est.dsp,
        }
        for name, est in layers
    }
    bram = sum(e.bram_18k for _, e in layers)
    uram = sum(e.uram for _, e in layers)
    report["total"] = {
        "BRAM_18K": bram,
        "BRAM_efficiency": sum(e.bram_efficiency * e.bram_18k for _, e in layers) / bram if bram else 1.0,
        "LUT": sum(e.lut for _, e in layers),
        "URAM": uram,
        "URAM_efficiency": sum(e.uram_efficiency * e.uram for _, e in layers) / uram if uram else 1.0,
        "DSP": sum(e.dsp for _, e in layers),
    }
    return report


def network_performance_report(
    partition: PartitionEstimate | Sequence[tuple[str, LayerEstimate]], clk_ns: float
) -> dict[str, float | int | str]:
    """Contents of FINN's ``estimate_network_performance.json``.

    ``critical_path_cycles`` is the partition latency (sum of layer latencies
    on the longest path), ``max_cycles`` the interval and
    ``max_cycles_node_name`` the bottleneck;
    ``estimated_throughput_fps = 1e9 / (max_cycles * clk_ns)`` and
    ``estimated_latency_ns = critical_path_cycles * clk_ns`` (FINN
    ``dataflow_performance``).

    Args:
        partition: A partition estimate, or ``(name, estimate)`` pairs forming a chain.
        clk_ns: Clock period in ns.
    """
    if not isinstance(partition, PartitionEstimate):
        partition = estimate_partition(partition)
    return {
        "critical_path_cycles": partition.latency_cycles,
        "max_cycles": partition.interval_cycles,
        "max_cycles_node_name": partition.bottleneck,
        "estimated_throughput_fps": throughput_fps(partition.interval_cycles, clk_ns),
        "estimated_latency_ns": partition.latency_cycles * clk_ns,
    }
