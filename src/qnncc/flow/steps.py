"""The named steps of ``qnncc build`` and ``qnncc estimate``, and the state they share.

The plan (which steps, in which order) is :mod:`qnncc.flow.plan`; :func:`qnncc.flow.runner.run_steps`
runs them for both flows. The steps from ``tidy`` to ``names`` are those of :func:`qnncc.flow.estimate.hw_pipeline`
(the pipeline ``qnncc estimate`` runs), taken from it rather than listed
again; ``fold``, ``partition`` and ``estimate`` call the same functions as
:func:`qnncc.flow.estimate.estimate`. Each step takes and returns the model; a
step that changes it (:func:`changes_model`) is followed by a checkpoint.
Everything else a later step needs (input scale, partition splits, unmatched
folding keys, FIFO figures) is JSON in :attr:`BuildContext.state`, saved
in the checkpoint's metadata (``qnncc.build_state``) so a build can resume
from any step with nothing but the saved model.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnncc.boards import Board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import Pipeline, run_step_body
from qnncc.custom_op.partition import partition_nodes, set_partition_child
from qnncc.flow import partition_steps
from qnncc.flow.build_state import STATE_KEY, child_model, get_state, set_state
from qnncc.flow.config import BuildConfig
from qnncc.flow.diagnostics import float_input_warning, split_cause
from qnncc.flow.fifo_report import fifo_table, joins, large_fifos, record_fifos
from qnncc.flow.plan import STEP_OUTPUTS, changes_model, clear_outputs, default_steps, step_names

__all__ = [
    "STATE_KEY",
    "STEP_OUTPUTS",
    "BuildContext",
    "changes_model",
    "child_model",
    "clear_outputs",
    "default_steps",
    "float_input_warning",
    "get_state",
    "run_step",
    "set_state",
    "split_cause",
    "step_names",
]

log = logging.getLogger("qnncc.build")


# ----------------------------------------------------------------------------- context
@dataclass
class BuildContext:
    """What the steps of one build share.

    Attributes:
        config: the build settings.
        board: the target board.
        clock_ns: clock period in ns.
        shell: ``zynq`` or ``generic``.
        out: the folder being written (``<output>.incomplete``).
        source: the model given to the build (file or loaded model).
        state: JSON-ready values steps pass on (saved in checkpoints).
        warnings: messages for the user (also in ``build.log`` and the summary).
        layers: HLS top names in stream order (set by ``hls``).
        verification: cppsim figures (set by ``verify``).
        fifo_report: FIFO sizing figures (set by ``fifo``).
        step: the step running (set by :func:`qnncc.flow.runner.run_steps`).
        folding: the folding to apply (a FINN-format file or mapping); None: ``config.folding``.
        margin: usable fraction of each board resource for the optimiser.
        split: let the optimiser split a design that does not fit into partitions.
        stream_weights: let the optimiser stream the weights that do not fit on chip
            (``mem_mode="external"``) before it splits the design.
        notes: the folding optimiser's remarks (also warnings in a build).
        quiet: record warnings without logging them (``qnncc estimate`` returns them instead).
    """

    config: BuildConfig
    board: Board
    clock_ns: float
    shell: str
    out: Path
    source: ModelWrapper | str | Path
    state: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    fifo_report: dict[str, Any] | None = None
    step: str = ""
    folding: str | Path | Mapping[str, Any] | None = None
    margin: float = 0.85
    split: bool = True
    stream_weights: bool = True
    notes: list[str] = field(default_factory=list)
    quiet: bool = False
    _pipeline: Pipeline | None = None

    def warn(self, message: str) -> None:
        """Record a warning for the user and the log."""
        self.warnings.append(message)
        if not self.quiet:
            log.warning("%s", message)

    def pipeline(self) -> Pipeline:
        """:func:`qnncc.flow.estimate.hw_pipeline` for this model's input convention (from ``load``)."""
        from qnncc.flow.estimate import hw_pipeline

        if self._pipeline is None:
            self._pipeline = hw_pipeline(
                self.state.get("input_scale"), self.state.get("input_datatype", "UINT8"), self.config.insert_topk
            )
        return self._pipeline

    def fresh_dir(self, name: str) -> Path:
        """``out/name`` emptied (a step rewrites its whole output folder, also when resumed)."""
        path = self.out / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path


StepFn = Callable[[BuildContext, ModelWrapper | None], ModelWrapper]


def _need(model: ModelWrapper | None, step: str) -> ModelWrapper:
    if model is None:
        raise QnnccError(f"step {step!r} needs a model; run 'load' first or resume with --from-step")
    return model


# ----------------------------------------------------------------------------- steps
def _load(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.estimate import prepare_input

    work, scale, dtype = prepare_input(ctx.source, ctx.config.input_scale, ctx.config.input_datatype)
    ctx.state.update(input_scale=scale, input_datatype=dtype)
    log.info("input: scale %s, datatype %s", scale, dtype)
    if ctx.config.verify_data is not None:  # a bad data file fails now, not after the whole build
        from qnncc.flow.verify import check_verification_data

        name = work.graph_input_names()[0]
        check_verification_data(
            ctx.config.verify_data,
            work.get_tensor_shape(name) or [],
            dtype if scale is not None else None,
            scale,
            ctx.config.verify_count,
        )
    return work


def _fold(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.folding import fold_model, unmatched_folding_report
    from qnncc.transforms.hw import iter_hw_nodes

    cfg = ctx.config
    work = _need(model, "fold")
    folding = ctx.folding if ctx.folding is not None else cfg.folding
    if isinstance(folding, str | Path) and not Path(folding).is_file():
        raise QnnccError(f"folding file {folding} does not exist")
    if next(iter_hw_nodes(work), None) is None:
        ops = sorted({n.op_type for n in work.graph.node})
        raise QnnccError(
            f"no layer of the model could be mapped to hardware (ops: {', '.join(ops)}); qnncc streams "
            "quantized layers (QONNX Quant/BipolarQuant or FINN MultiThreshold with integer weights)"
        )
    notes: list[str] = []
    work, unmatched, splits = fold_model(
        work,
        ctx.board,
        ctx.clock_ns,
        folding,
        cfg.target_fps,
        ctx.margin,
        ctx.split,
        notes,
        cfg.folding_mode,
        stream_weights=ctx.stream_weights and cfg.stream_weights,  # estimate(stream_weights=) / the build config
        pad_channels=cfg.pad_channels,
    )
    ctx.notes.extend(notes)
    for note in notes:
        ctx.warn(f"folding: {note}")
    if unmatched and cfg.folding is not None and ctx.folding is None:  # a build's folding file
        fatal, message = unmatched_folding_report(cfg.folding, work, unmatched, cfg.strict_folding)
        if fatal:
            raise QnnccError(message)
        ctx.warn(message)
    ctx.state.update(splits=splits, unmatched_folding_keys=unmatched)
    return work


def _partition(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.transforms.hw import CreateDataflowPartition

    splits = ctx.state.get("splits") or {}  # the optimiser's budget split: parts run in turn
    in_turn = True
    if ctx.board.shell == "alveo" and not splits:  # one partition per SLR when the design needs several
        splits, in_turn = partition_steps.slr_splits_of(ctx, _need(model, "partition")), False
    work = _need(model, "partition").transform(CreateDataflowPartition(splits, in_turn=in_turn))
    parts = partition_nodes(work)
    log.info("%d dataflow partition(s); software nodes: %s", len(parts), [n.name for n in work.graph.node])
    message = float_input_warning(work, ctx.state.get("input_scale"))
    if message:
        ctx.warn(message)
    return work


def _estimate(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.estimate import finish_estimate
    from qnncc.flow.estimate_report import write_reports
    from qnncc.flow.report import estimate_figures

    work = _need(model, "estimate")
    result = finish_estimate(
        work,
        ctx.board,
        ctx.clock_ns,
        ctx.state.get("splits") or {},
        unmatched=ctx.state.get("unmatched_folding_keys") or [],
    )
    report = ctx.out / "report"
    write_reports(result, report)
    figures = estimate_figures(result, ctx.board, ctx.clock_ns, ctx.config.target_fps)
    (report / "estimate.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not result.fit.fits:
        ctx.warn(result.fit.summary())
    # the PNG plots are drawn from estimate.json when the build finishes (qnncc.flow.build), so this
    # step costs what `qnncc estimate` does: matplotlib's import and drawing took ~1 s of ~1.4 s here
    return work


def _insert_dwc(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.transforms.hw import InsertDWC

    work = _need(model, "insert_dwc")
    if partition_steps.is_multi(work):
        return partition_steps.insert_dwc(ctx, work)
    child = child_model(work)
    child.transform(InsertDWC())
    set_partition_child(work, child)
    return work


def _fifo(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    work = _need(model, "fifo")
    if partition_steps.is_multi(work):
        return partition_steps.fifo(ctx, work)
    child = child_model(work)
    mode = ctx.config.fifo_sizing
    sizing: dict[str, Any] | None = None
    if mode == "sim":
        try:
            from qnncc.transforms.hw.set_fifo_depths import SetFIFODepths
        except ImportError as exc:
            raise QnnccError(f"--fifo-sizing sim needs qnncc.hw.sim ({exc}); use largefifo or off") from None
        sizer = SetFIFODepths()
        child.transform(sizer)
        if sizer.result is not None:
            sizing = sizer.result.report()
            log.info("FIFO sizing: %.3f s of simulation", sizing.pop("seconds", 0.0))  # the report stays reproducible
    elif mode == "largefifo":
        large_fifos(child)
    set_partition_child(work, child)
    record_fifos(ctx, {"strategy": mode, "fifos": fifo_table(child), "sizing": sizing}, joins(child))
    models = ctx.out / "intermediate_models"
    models.mkdir(parents=True, exist_ok=True)
    child.save(models / "dataflow_partition.onnx")  # the HW partition as code generation sees it
    log.info("FIFOs (%s): %s", mode, ctx.state["fifo_depths"] or "none")
    return work


def _hls(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.codegen import generate_hls
    from qnncc.codegen.vivado.tlast import write_tlast_ips

    work = _need(model, "hls")
    if partition_steps.is_multi(work):
        return partition_steps.hls(ctx, work)
    child = child_model(work)
    ctx.fresh_dir("hls")
    project = generate_hls(child, ctx.out, part=ctx.board.part, clock_ns=ctx.clock_ns)
    ctx.layers = [c.name for c in project.layers]
    if ctx.shell == "zynq":  # TLAST inserters before the DMAs' S2MM channels (see qnncc.codegen.vivado.tlast)
        write_tlast_ips(child, ctx.out, ctx.board.part, ctx.clock_ns)
    return work


def _rtl(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.rtl_steps import rtl_step

    work = _need(model, "rtl")
    if partition_steps.is_multi(work):
        return partition_steps.rtl(ctx, work)
    return rtl_step(ctx, work)


def _synth(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.rtl_steps import synth_step

    return synth_step(ctx, _need(model, "synth"))


def _stitch(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.codegen.vivado.stitch import write_stitch

    work = _need(model, "stitch")
    if partition_steps.is_multi(work):
        return partition_steps.stitch(ctx, work)
    ctx.fresh_dir("stitch")
    mode, backend = ctx.shell, ctx.config.backend
    write_stitch(child_model(work), ctx.out, ctx.board, ctx.clock_ns, mode, backend=backend)  # type: ignore[arg-type]
    if ctx.board.shell == "alveo":
        partition_steps.vitis_link(ctx, work)
    return work


def _driver(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.codegen import write_driver

    work = _need(model, "driver")
    if ctx.board.shell == "alveo" or partition_steps.is_multi(work):
        return partition_steps.driver(ctx, work)
    ctx.fresh_dir("driver")
    child_model(work)  # one partition of HW layers, or a clear error
    write_driver(work, ctx.out, board=ctx.board.name)  # the parent: the driver runs its software parts too
    return work


def _verify(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.verify import verify_partition

    work = _need(model, "verify")
    if partition_steps.is_multi(work):
        return partition_steps.verify(ctx, work)
    assert ctx.config.verify_data is not None
    if ctx.config.backend == "rtl":
        from qnncc.flow.rtl_steps import verify_partition_rtl

        figures = verify_partition_rtl(
            work, ctx.config.verify_data, ctx.fresh_dir("verification"), count=ctx.config.verify_count
        )
        ctx.verification = figures
        if not (figures["bit_exact"] and figures["backpressure_bit_exact"]):
            raise QnnccError(
                f"RTL simulation differs from execute on {figures['mismatching_images']} of {figures['images']} "
                f"images (under back-pressure: {'same' if figures['backpressure_bit_exact'] else 'differs'}; "
                f"see {ctx.out / 'verification'})"
            )
        return work
    figures = verify_partition(
        work,
        ctx.config.verify_data,
        ctx.fresh_dir("verification"),
        count=ctx.config.verify_count,
        scheduler=ctx.config.scheduler,
    )
    ctx.verification = figures
    if not figures["bit_exact"]:
        raise QnnccError(
            f"C++ simulation differs from execute on {figures['mismatching_images']} of {figures['images']} "
            f"images (see {ctx.out / 'verification'})"
        )
    return work


_FIXED: dict[str, StepFn] = {
    "load": _load,
    "fold": _fold,
    "partition": _partition,
    "estimate": _estimate,
    "insert_dwc": _insert_dwc,
    "fifo": _fifo,
    "hls": _hls,
    "rtl": _rtl,
    "synth": _synth,
    "stitch": _stitch,
    "driver": _driver,
    "verify": _verify,
}


def run_step(name: str, ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    """Run one build step on ``model`` (None before ``load``) and return the model after it."""
    fn = _FIXED.get(name)
    if fn is not None:
        return fn(ctx, model)
    bodies = dict(ctx.pipeline().steps)
    if name not in bodies:
        raise QnnccError(f"unknown step {name!r}; steps are {', '.join(step_names())}")
    return run_step_body(bodies[name], _need(model, name))
