"""SLR floorplanning of an Alveo design: layers cut into per-SLR partitions, partitions assigned to SLRs.

A stacked-silicon Alveo device (U250: 4 SLRs) runs a design larger than one
SLR as several dataflow partitions, each placed in one SLR and streaming into
the next through the SLR crossings (FINN's ResNet-50 on U250 does the same).

* :func:`slr_splits` cuts the HW layers (stream order) into consecutive pieces
  that each fit one SLR's budget (``margin`` of its kernel resources minus one
  DDR controller), only where at most one stream crosses the cut and both of
  its ends have the same width (run ``InsertDWC`` first, so width converters
  are layers of their own), so each piece is a partition with one input and
  one output stream;
* :func:`assign_slrs` places the partitions of a model in order: a partition
  goes into the current SLR if it still fits, else into the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.vitis.platform import DDR_CONTROLLER, AlveoPlatform
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import STREAM_PASS_THROUGH_OPS, is_hw
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.perf import estimate_layer

__all__ = ["RESOURCES", "SlrPlacement", "assign_slrs", "fits_one_slr", "layer_resources", "slr_budget", "slr_splits"]

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")


def layer_resources(node: onnx.NodeProto) -> dict[str, float]:
    """Estimated resources of one HW layer (the hardware qnncc emits, :func:`qnncc.hw.perf.estimate_layer`)."""
    layer = get_custom_op(node)
    est = estimate_layer(node.op_type, dict(layer.attrs), emitted=True)
    return {"LUT": est.lut, "FF": est.ff, "BRAM_18K": est.bram_18k, "URAM": est.uram, "DSP": est.dsp}


def slr_budget(platform: AlveoPlatform, slr: int, margin: float = 0.85) -> dict[str, float]:
    """Usable resources of ``slr``: ``margin`` of its kernel resources, less one DDR controller."""
    return {k: margin * platform.slrs[slr][k] - DDR_CONTROLLER[k] for k in RESOURCES}


def _fits(used: Mapping[str, float], budget: Mapping[str, float]) -> bool:
    return all(used[k] <= budget[k] for k in RESOURCES)


def _stream_edges(model: ModelWrapper, order: list[onnx.NodeProto]) -> list[tuple[int, int, bool]]:
    """``(producer position, consumer position, same width)`` of every stream between two HW layers of ``order``."""
    pos = {id(n): i for i, n in enumerate(order)}
    edges = []
    for i, node in enumerate(order):
        layer = get_custom_op(node)
        assert isinstance(layer, HWLayer)
        for k, tensor in enumerate(node.output):
            stack = [tensor]
            while stack:
                t = stack.pop()
                for reader in model.find_consumers(t):
                    if reader.op_type in STREAM_PASS_THROUGH_OPS:
                        stack.append(reader.output[0])
                    elif id(reader) in pos:
                        other = get_custom_op(reader)
                        assert isinstance(other, HWLayer)
                        port = [x for x in reader.input if x and model.get_initializer(x) is None].index(t)
                        same = layer.outstream_width(k) == other.instream_width(port)
                        edges.append((i, pos[id(reader)], same))
    return edges


def fits_one_slr(model: ModelWrapper, platform: AlveoPlatform, margin: float = 0.85) -> bool:
    """Whether all HW layers of ``model`` together fit the budget of SLR0 (:func:`slr_budget`)."""
    need = [layer_resources(n) for n in model.graph.node if is_hw(n)]
    return _fits({k: sum(r[k] for r in need) for k in RESOURCES}, slr_budget(platform, 0, margin))


def slr_splits(model: ModelWrapper, platform: AlveoPlatform, margin: float = 0.85) -> dict[str, int]:
    """Partition index per HW layer name so that each partition fits one SLR (empty: the design fits one SLR).

    Args:
        model: the folded model before ``CreateDataflowPartition``.
        platform: the Alveo platform.
        margin: usable fraction of each SLR resource.

    Raises:
        CodegenError: if the layers do not fit the platform's SLRs with cuts at single streams.
    """
    order = [n for n in model.topological_sort() if is_hw(n)]
    need = [layer_resources(n) for n in order]
    total = {k: sum(r[k] for r in need) for k in RESOURCES}
    if not order or _fits(total, slr_budget(platform, 0, margin)):
        return {}
    edges = _stream_edges(model, order)
    cut_ok = [
        sum(1 for a, b, _ in edges if a <= p < b) <= 1 and all(same for a, b, same in edges if a <= p < b)
        for p in range(len(order))
    ]
    splits: dict[str, int] = {}
    start, slr = 0, 0
    while start < len(order):
        if slr >= len(platform.slrs):
            raise CodegenError(
                f"the design does not fit the {len(platform.slrs)} SLRs of {platform.board} at {margin:.0%} "
                f"(layers from {order[start].name} on are left); fold more"
            )
        budget = slr_budget(platform, slr, margin)
        used = dict.fromkeys(RESOURCES, 0.0)
        end, last_cut = start, None
        while end < len(order):
            nxt = {k: used[k] + need[end][k] for k in RESOURCES}
            if not _fits(nxt, budget) and end > start:
                break
            used = nxt
            if cut_ok[end]:
                last_cut = end
            end += 1
        if end < len(order):  # the SLR is full: cut at the last single stream inside it
            if last_cut is None:
                raise CodegenError(
                    f"{platform.board} SLR{slr}: no single-stream cut between {order[start].name} and "
                    f"{order[end - 1].name} (a fork/join or width change spans it); fold more"
                )
            end = last_cut + 1
        for node in order[start:end]:
            splits[node.name] = slr
        start, slr = end, slr + 1
    for node in model.topological_sort():  # a stream reshape between HW layers goes with its producer
        producer = model.find_producer(node.input[0]) if node.input else None
        if node.op_type in STREAM_PASS_THROUGH_OPS and producer is not None and producer.name in splits:
            splits[node.name] = splits[producer.name]
    return splits


@dataclass(frozen=True)
class SlrPlacement:
    """Where the partitions of a design go.

    Attributes:
        slr: SLR index per partition (graph order).
        used: estimated resources per SLR (partitions plus one DDR controller per SLR whose bank is used).
        limits: kernel resources per SLR of the platform.
    """

    slr: tuple[int, ...]
    used: tuple[dict[str, float], ...]
    limits: tuple[dict[str, int], ...]

    def within_limits(self) -> bool:
        """Whether every SLR's estimated use is within its kernel resources."""
        return all(_fits(u, lim) for u, lim in zip(self.used, self.limits, strict=True))


def assign_slrs(
    partitions: Sequence[Mapping[str, float]],
    platform: AlveoPlatform,
    banks_in: Sequence[int] = (),
    margin: float = 0.85,
    strict: bool = True,
) -> SlrPlacement:
    """Place partitions (in order) into SLRs: the current SLR while it fits ``margin`` of it, else the next.

    Args:
        partitions: estimated resources of each partition.
        platform: the Alveo platform.
        banks_in: SLRs whose DDR bank the design uses (each costs one memory controller there).
        margin: usable fraction of each SLR resource when placing.
        strict: raise when a partition fits no SLR; otherwise place it anyway (in the current
            SLR, or the last) and let :meth:`SlrPlacement.within_limits` report it.

    Raises:
        CodegenError: (``strict``) if a partition does not fit an SLR of its own, or the partitions
            need more SLRs than the platform has.
    """
    slrs: list[int] = []
    used = [dict.fromkeys(RESOURCES, 0.0) for _ in platform.slrs]
    current = 0
    for k, need in enumerate(partitions):
        while current < len(platform.slrs):
            nxt = {r: used[current][r] + float(need.get(r, 0.0)) for r in RESOURCES}
            if _fits(nxt, slr_budget(platform, current, margin)):
                break
            if not any(used[current].values()):
                if not strict:
                    break
                over = [r for r in RESOURCES if nxt[r] > slr_budget(platform, current, margin)[r]]
                raise CodegenError(
                    f"partition {k} needs more {', '.join(over)} than {platform.board} SLR{current} offers "
                    f"at {margin:.0%}; fold more so that the partition step cuts it per SLR"
                )
            current += 1
        if current >= len(platform.slrs):
            if strict:
                raise CodegenError(f"the partitions need more than the {len(platform.slrs)} SLRs of {platform.board}")
            current = len(platform.slrs) - 1
        used[current] = {r: used[current][r] + float(need.get(r, 0.0)) for r in RESOURCES}
        slrs.append(current)
    for slr in set(banks_in):
        used[slr] = {r: used[slr][r] + DDR_CONTROLLER[r] for r in RESOURCES}
    return SlrPlacement(tuple(slrs), tuple(used), platform.slrs)
