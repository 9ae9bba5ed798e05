"""Folding of a model's HW layers for the flows: the optimiser's layer specs, or a FINN folding file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from qnncc.boards import Board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.hw.folding_opt import FoldingPlan, LayerSpec, optimize_folding
from qnncc.hw.layers import HWLayer
from qnncc.hw.perf import (
    LayerEstimate,
    estimate_layer,
)

#: Folding mode -> resource model of the optimiser: ``estimate`` costs layers with FINN's formulas,
#: ``resources`` with the model fitted on Yosys synthesis of qnncc's RTL (:mod:`qnncc.hw.perf.fitted`).
FOLDING_MODES = {"estimate": "finn", "resources": "fitted"}
#: Least fraction of the optimiser's cost channel padding must save to be kept: a smaller saving is
#: within the fitted model's error (TFC at 100k FPS: 1% predicted, 10% more LUTs measured by Yosys).
MIN_PAD_SAVING = 0.05


def memory_styles(layer: HWLayer, board: Board | None, thresholds: bool = False) -> dict[str, list[str]]:
    """Memory styles the optimiser may pick for a layer's weights/thresholds on ``board``.

    ``thresholds``: also offer the threshold memory of a layer with a separate
    ``ram_style_thresholds`` (an MVAU with an activation) in LUTs or block RAM.
    """
    styles: dict[str, list[str]] = {}
    spec = layer.attributes.get("ram_style")
    if spec is not None and spec.allowed is not None:
        wanted = ["block", "distributed"] + (["ultra"] if board is not None and board.resources.uram > 0 else [])
        styles["ram_style"] = [s for s in wanted if s in spec.allowed]
    tspec = layer.attributes.get("ram_style_thresholds")
    if thresholds and tspec is not None and not int(layer.attrs.get("noActivation", 0)):
        styles["ram_style_thresholds"] = ["distributed", "block"]
    return styles


def layer_specs(model: ModelWrapper, board: Board | None = None, folding_mode: str = "estimate") -> list[LayerSpec]:
    """The optimiser's view of every HW layer in stream order (with style options when ``board`` is given).

    In the ``resources`` folding mode an MVAU's threshold memory style is a choice too: the fitted
    model costs its LUTs (FINN's formula gives thresholds of style "auto" no cost, so the
    ``estimate`` mode keeps the layer's).
    """
    from qnncc.transforms.hw import iter_hw_nodes

    specs = []
    for node in iter_hw_nodes(model):
        layer = get_custom_op(node)
        assert isinstance(layer, HWLayer)
        thresholds = folding_mode == "resources"
        styles: dict[str, list[Any]] = {**memory_styles(layer, board, thresholds)} if board is not None else {}
        styles.update({k: v for k, v in layer.throughput_options().items() if len(v) > 1})
        specs.append(LayerSpec(node.name, node.op_type, dict(layer.attrs), layer.legal_folding(), styles))
    return specs


def _stream_weights(
    specs: list[LayerSpec],
    plan: FoldingPlan,
    budget: Mapping[str, float],
    clock_ns: float,
    target_fps: float | None,
    resource_model: str,
    board: Board,
) -> tuple[FoldingPlan, list[LayerSpec]]:
    """The plan and specs with the weights of the layers that do not fit on chip streamed (or unchanged)."""
    from qnncc.hw.mem_mode_opt import choose_mem_modes, shared_port_cycles

    def optimise(trial: Sequence[LayerSpec]) -> FoldingPlan:
        return optimize_folding(trial, budget, clock_ns, target_fps, resource_model=resource_model)

    port = board.axi_port_width_bits if board.shell == "zynq" else 0
    plan, trial, streamed = choose_mem_modes(specs, optimise, plan, port)
    if not streamed:
        return plan, specs
    bound = shared_port_cycles(trial, port)
    if bound > plan.interval_cycles:  # the memory port sets the pace: fold for it, with fewer resources
        slower = optimize_folding(trial, budget, clock_ns, 1e9 / (bound * clock_ns), resource_model=resource_model)
        if slower.fits:
            for name in streamed:
                choice = slower.choice[name]
                slower.choice[name] = replace(choice, values={**choice.values, "mem_mode": "external"})
            slower.notes = [*plan.notes, f"folded for the memory port's {bound} cycles per frame"]
            plan = slower
    return plan, trial


def _optimise(
    work: ModelWrapper,
    specs: list[LayerSpec],
    budget: Mapping[str, float],
    clock_ns: float,
    target_fps: float | None,
    resource_model: str,
    board: Board,
    stream_weights: bool,
) -> tuple[FoldingPlan, list[LayerSpec]]:
    """The optimiser's plan for ``work`` (converters refined, weights streamed when needed) and its specs."""
    plan = optimize_folding(specs, budget, clock_ns, target_fps, resource_model=resource_model)
    if resource_model == "fitted":  # width converters between layers count too
        from qnncc.hw.folding_streams import refine_stream_widths

        plan = refine_stream_widths(work, specs, plan, budget)
    if not plan.fits and stream_weights:  # weights that do not fit on chip are streamed from DRAM
        plan, specs = _stream_weights(specs, plan, budget, clock_ns, target_fps, resource_model, board)
    return plan, specs


def _try_padding(
    work: ModelWrapper,
    plan: FoldingPlan,
    specs: list[LayerSpec],
    budget: Mapping[str, float],
    clock_ns: float,
    target_fps: float,
    board: Board,
    stream_weights: bool,
) -> tuple[ModelWrapper, FoldingPlan, list[LayerSpec]]:
    """``work``, ``plan`` and ``specs``, or the padded model with its plan when that is cheaper.

    The padding is chosen by :func:`qnncc.transforms.hw.pad_channels.padded_channels` for
    the frame target; the padded model is folded like the original and kept
    only if its plan fits whenever the original's does and costs at least
    :data:`MIN_PAD_SAVING` less in the fitted model (LUT first,
    :func:`qnncc.hw.folding_opt.resource_weights`).
    """
    from qnncc.hw.folding_opt import plan_cost
    from qnncc.transforms.hw.pad_channels import PadChannels, padded_channels

    target = math.floor(1e9 / (target_fps * clock_ns))
    counts = padded_channels(work, target)
    if not counts:
        return work, plan, specs
    padded = work.transform(PadChannels(counts), copy=True)
    pspecs = layer_specs(padded, board, "resources")
    pplan, pspecs = _optimise(padded, pspecs, budget, clock_ns, target_fps, "fitted", board, stream_weights)
    slower = pplan.interval_cycles > max(plan.interval_cycles, target)
    cheaper = plan_cost(pplan, budget) <= (1 - MIN_PAD_SAVING) * plan_cost(plan, budget)
    if slower or not cheaper or (plan.fits and not pplan.fits):
        return work, plan, specs
    pads = ", ".join(f"{t} {(work.get_tensor_shape(t) or [0])[-1]} -> {n}" for t, n in counts.items())
    pplan.notes.append(f"channels padded for cheaper foldings: {pads}")
    return padded, pplan, pspecs


def estimate_layers(model: ModelWrapper) -> list[tuple[str, LayerEstimate]]:
    """Per-layer estimates of every HW layer (attributes as set on the nodes), of the hardware qnncc emits."""
    return [(s.name, estimate_layer(s.op_type, s.attrs, emitted=True)) for s in layer_specs(model)]


def fold_model(
    work: ModelWrapper,
    board: Board,
    clock_ns: float,
    folding: str | Path | Mapping[str, Any] | None = None,
    target_fps: float | None = None,
    margin: float = 0.85,
    split: bool = True,
    notes: list[str] | None = None,
    folding_mode: str = "estimate",
    stream_weights: bool = True,
    pad_channels: bool = True,
) -> tuple[ModelWrapper, list[str], dict[str, int]]:
    """Fold the HW layers of ``work`` (in place): ``(model, unmatched folding keys, splits)``.

    The optimiser's remarks (an unreachable ``target_fps`` is folded as fast as
    possible and reported with the shortfall, not raised) are appended to ``notes``.

    With ``folding`` the FINN-format config is applied; otherwise the
    optimiser folds for ``target_fps`` (or as fast as ``board`` allows within
    ``margin`` of each resource) and, when even the most folded design does
    not fit and ``split`` is set, assigns the layers to partitions that each
    fit (``splits``: layer name -> partition index; empty for one partition).
    ``folding_mode`` ``"resources"`` makes the optimiser cost LUTs and FFs
    with the model fitted on Yosys synthesis (:data:`FOLDING_MODES`) and then
    trade foldings for fewer width converters (:mod:`qnncc.hw.folding_streams`).
    When the optimiser's plan does not fit and ``stream_weights`` is set, the
    weights of the MVAUs that do not fit on chip are streamed from DRAM
    (``mem_mode="external"``, chosen by :func:`qnncc.hw.mem_mode_opt.choose_mem_modes`)
    before the design is split. With ``pad_channels``, a ``target_fps`` and
    the ``resources`` mode, the channels between fully connected MVAUs may be
    padded with constant channels when that opens a cheaper folding
    (:func:`_try_padding`); the returned model is then the padded one.

    Raises:
        QnnccError: for an unknown ``folding_mode``.
    """
    from qnncc.transforms.hw import ApplyFoldingConfig, split_by_budget

    budget = {k: v * margin for k, v in board.resources.as_dict().items()}
    unmatched: list[str] = []
    splits: dict[str, int] = {}
    if folding is not None:
        apply = ApplyFoldingConfig(folding)
        work = work.transform(apply)
        unmatched = apply.unmatched
    else:
        resource_model = FOLDING_MODES.get(folding_mode)
        if resource_model is None:
            raise QnnccError(f"unknown folding mode {folding_mode!r}; known: {', '.join(FOLDING_MODES)}")
        specs = layer_specs(work, board, folding_mode)
        plan, specs = _optimise(work, specs, budget, clock_ns, target_fps, resource_model, board, stream_weights)
        if pad_channels and target_fps is not None and resource_model == "fitted":
            work, plan, specs = _try_padding(work, plan, specs, budget, clock_ns, target_fps, board, stream_weights)
        if notes is not None:
            notes.extend(plan.notes)
        if not plan.fits and split and target_fps is None:
            most_folded = [
                (
                    s.name,
                    estimate_layer(
                        s.op_type,
                        {**s.attrs, **plan.choice[s.name].values},
                        emitted=True,
                        resource_model=resource_model,
                    ),
                )
                for s in specs
            ]
            splits = split_by_budget(most_folded, budget)
            for k in sorted(set(splits.values())):
                members = [s for s in specs if splits[s.name] == k]
                sub = optimize_folding(members, budget, clock_ns, None, resource_model=resource_model)
                plan.choice.update(sub.choice)
        work = work.transform(ApplyFoldingConfig(plan.folding_config()))
    return work, unmatched, splits


def unmatched_folding_report(
    folding: str | Path, model: ModelWrapper, unmatched: Sequence[str], strict: bool
) -> tuple[bool, str]:
    """``(fatal, message)`` for folding-file entries that name no layer of ``model``.

    Fatal when no entry names a layer, or when ``strict`` (``--strict-folding``);
    the message quotes each unmatched key with the closest layer name, if any.
    """
    import difflib

    from qnncc.transforms.hw import iter_hw_nodes, load_folding_config

    layers = [n.name for n in iter_hw_nodes(model)]
    entries = [k for k in load_folding_config(folding) if k != "Defaults"]
    hints = []
    for key in unmatched:
        close = difflib.get_close_matches(key, layers, n=1, cutoff=0.5)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    where = f"folding file {folding}"
    if len(unmatched) == len(entries) or strict:
        what = "no entry names a layer of the model" if len(unmatched) == len(entries) else "entries name no layer"
        return True, f"{where}: {what} ({', '.join(hints)}); the layers are {', '.join(layers)}"
    return False, (
        f"{where}: {', '.join(hints)} names no layer of the model, so its folding is NOT applied and that layer "
        "keeps the default (PE=SIMD=1, the slowest); fix the name or use --strict-folding to make this an error"
    )
