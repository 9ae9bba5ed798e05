"""FINN's ``SetFolding`` heuristic, re-implemented on qnncc's HW models (the reference of bench_fitted_folding.py).

Behaviour of FINN's ``transformation/fpgadataflow/set_folding.py``
(``SetFolding(target_cycles_per_frame, mvau_wwidth_max=36, two_pass_relaxation=True)``),
with FINN's expected cycles (``get_exp_cycles``: qnncc's
``estimate_layer(op, attrs).cycles`` with FINN's formulas):

* MVAU: PE = SIMD = 1; raise SIMD over the divisors of MW until the cycles
  are below the target, stepping back one divisor (and stopping) once
  ``SIMD * weight bits`` exceeds ``mvau_wwidth_max``; then raise PE over the
  divisors of MH until the target is met.
* AddStreams, ChannelwiseOp, DuplicateStreams, GlobalAccPool, Thresholding:
  PE over the divisors of NumChannels; LabelSelect: PE over those of Labels.
* VVAU and Pool (after a depthwise sliding window): PE over the channels,
  then (VVAU, PE exhausted, target missed) SIMD over the kernel; the
  producing sliding window gets SIMD = that PE.
* FMPadding and non-depthwise ConvolutionInputGenerator: SIMD over the channels.
* Anything else (e.g. StreamingMaxPool) keeps its folding.
* Two-pass relaxation: if the slowest layer misses the target, run once more
  with the slowest layer's cycles as the target.

"Below the target" is FINN's strict ``cycles < target``; the target is
``int(f_clk / target_fps)`` cycles (FINN's ``_resolve_cycles_per_frame``).
"""

from __future__ import annotations

from typing import Any

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import divisors
from qnncc.hw.perf import estimate_layer

PE_OPS = ("AddStreams", "ChannelwiseOp", "DuplicateStreams", "GlobalAccPool", "Thresholding")
SIMD_OPS = ("FMPadding", "ConvolutionInputGenerator")


def _cycles(op: str, attrs: dict[str, Any]) -> int:
    return int(estimate_layer(op, attrs).cycles)


def _raise(op: str, attrs: dict[str, Any], name: str, max_val: int, target: int) -> None:
    """FINN's ``optimize_attribute_val``: the first divisor whose cycles are below the target (else the largest)."""
    for val in divisors(max_val):
        attrs[name] = val
        if _cycles(op, attrs) < target:
            return


def _fold_pass(nodes: list[tuple[str, str, dict[str, Any], str | None]], target: int, wwidth_max: int) -> None:
    by_name = {n: (op, a) for n, op, a, _ in nodes}
    for _name, op, a, producer in nodes:
        if op == "MVAU":
            a["PE"] = a["SIMD"] = 1
            wbits = DataType.from_name(a["weightDataType"]).bitwidth()
            for simd in divisors(int(a["MW"])):
                prev = a["SIMD"]
                a["SIMD"] = simd
                if _cycles(op, a) < target:
                    break
                if wbits * simd > wwidth_max:
                    a["SIMD"] = prev
                    break
            _raise(op, a, "PE", int(a["MH"]), target)
        elif op in PE_OPS:
            _raise(op, a, "PE", int(a["NumChannels"]), target)
        elif op == "LabelSelect":
            _raise(op, a, "PE", int(a["Labels"]), target)
        elif op in ("VVAU", "Pool"):
            if op == "VVAU":
                a["SIMD"] = 1
            channels = int(a["Channels"])
            _raise(op, a, "PE", channels, target)
            if op == "VVAU" and a["PE"] == channels and _cycles(op, a) > target:
                k = int(a["Kernel"][0]) * int(a["Kernel"][1])
                _raise(op, a, "SIMD", k, target)
            if producer is not None and by_name[producer][0] == "ConvolutionInputGenerator":
                by_name[producer][1]["SIMD"] = a["PE"]
        elif op in SIMD_OPS:
            if op == "ConvolutionInputGenerator":
                if int(a.get("depthwise", 0)):
                    continue  # set by its depthwise consumer
                _raise(op, a, "SIMD", int(a["IFMChannels"]), target)
            else:
                _raise(op, a, "SIMD", int(a["NumChannels"]), target)


def finn_set_folding(model: ModelWrapper, target_cycles: int, wwidth_max: int = 36) -> dict[str, Any]:
    """FINN-format folding config that FINN's ``SetFolding`` picks for the HW layers of ``model``.

    Args:
        model: the unfolded HW model (``hw_pipeline`` output), nodes in FINN's graph order.
        target_cycles: FINN's ``target_cycles_per_frame`` (``int(f_clk / fps)``).
        wwidth_max: FINN's ``mvau_wwidth_max``.

    Returns:
        ``{"Defaults": {}, node name: {"PE": .., "SIMD": ..}}`` (only folding attributes).
    """
    from qnncc.flow.folding import layer_specs

    specs = layer_specs(model)
    names = {s.name for s in specs}
    nodes = []
    for s in specs:
        node = model.get_node_by_name(s.name)
        producer = model.find_producer(node.input[0]) if node is not None else None
        prod = producer.name if producer is not None and producer.name in names else None
        nodes.append((s.name, s.op_type, dict(s.attrs), prod))
    _fold_pass(nodes, target_cycles, wwidth_max)
    slowest = max(_cycles(op, a) for _, op, a, _ in nodes)
    if slowest > target_cycles:  # two-pass relaxation: balance the pipeline to the reachable interval
        _fold_pass(nodes, slowest, wwidth_max)
    config: dict[str, Any] = {"Defaults": {}}
    for name, _op, a, _ in nodes:
        config[name] = {k: int(a[k]) for k in ("PE", "SIMD") if k in a}
    return config
