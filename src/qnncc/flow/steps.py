"""The named steps of ``qnncc build`` and the state they share.

Flow (:func:`step_names`)::

    load -> tidy -> qonnx_to_finn -> prepare_io -> streamline -> lower -> convert_to_hw -> names
         -> fold -> partition -> estimate -> insert_dwc -> fifo -> hls | rtl -> [synth] -> stitch -> driver -> verify

``hls`` runs with the HLS backend (the default), ``rtl`` with ``--backend rtl``
(:mod:`qnncc.flow.rtl_steps`), ``synth`` with ``--synth``.

The steps from ``tidy`` to ``names`` are those of :func:`qnncc.flow.estimate.hw_pipeline`
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
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnncc.boards import Board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import Pipeline, run_step_body
from qnncc.custom_op.partition import partition_nodes, set_partition_child
from qnncc.flow.config import BUILD_STEPS, BuildConfig

__all__ = [
    "STATE_KEY",
    "STEP_OUTPUTS",
    "BuildContext",
    "changes_model",
    "child_model",
    "clear_outputs",
    "default_steps",
    "get_state",
    "run_step",
    "set_state",
    "step_names",
]

log = logging.getLogger("qnncc.build")

#: Metadata key of the build state in saved intermediate models.
STATE_KEY = "qnncc.build_state"

#: Steps that leave the model as it was (no checkpoint of their own; a resume loads the one before).
_READ_ONLY = frozenset({"estimate", "hls", "rtl", "synth", "stitch", "driver", "verify"})


def step_names() -> tuple[str, ...]:
    """Every build step in flow order (:data:`qnncc.flow.config.BUILD_STEPS`)."""
    return BUILD_STEPS


#: What each step writes besides checkpoints (relative to the build folder); a resume clears them first.
STEP_OUTPUTS: dict[str, tuple[str, ...]] = {
    "estimate": ("report",),
    "fifo": ("report/fifo_depths.json", "intermediate_models/dataflow_partition.onnx"),
    "hls": ("hls",),
    "rtl": ("rtl",),
    "synth": ("report/synth.json", "report/synth.md"),
    "stitch": ("stitch", "Makefile.vivado"),
    "driver": ("driver",),
    "verify": ("verification",),
}


def clear_outputs(folder: Path, first: str) -> None:
    """Delete what step ``first`` and every later step wrote into ``folder`` (so no stale file survives a resume)."""
    names = step_names()
    for step, paths in STEP_OUTPUTS.items():
        if names.index(step) >= names.index(first):
            for rel in paths:
                path = folder / rel
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()


def changes_model(name: str) -> bool:
    """Whether a step changes the model (and so saves a checkpoint of its own)."""
    return name not in _READ_ONLY


def default_steps(config: BuildConfig) -> list[str]:
    """The steps a configuration runs: ``config.steps``, or all that its outputs need, cut by from/to step."""
    names = list(step_names())
    if config.steps is not None:
        plan = list(config.steps)
    else:
        outputs = set(config.generate_outputs)
        drop: set[str] = set()
        if not outputs & {"estimate_reports", "plots"}:
            drop.add("estimate")
        if "hls" not in outputs:
            drop.update({"hls", "rtl", "stitch"})
        drop.add("hls" if config.backend == "rtl" else "rtl")
        if not config.synth:
            drop.add("synth")
        if "driver" not in outputs:
            drop.add("driver")
        needs_partition_model = outputs & {"hls", "stitch", "driver"} or config.verify_data is not None or config.synth
        if not needs_partition_model and config.to_step not in ("insert_dwc", "fifo"):
            drop.update({"insert_dwc", "fifo"})  # they only prepare the partition for code generation
        if config.verify_data is None:
            drop.add("verify")
        plan = [s for s in names if s not in drop]
    if config.from_step is not None:
        if config.from_step not in plan:
            raise QnnccError(f"--from-step {config.from_step}: not among the steps to run ({', '.join(plan)})")
        plan = plan[plan.index(config.from_step) :]
    if config.to_step is not None:
        if config.to_step not in plan:
            raise QnnccError(f"--to-step {config.to_step}: not among the steps to run ({', '.join(plan)})")
        plan = plan[: plan.index(config.to_step) + 1]
    if "verify" in plan and config.verify_data is None:
        raise QnnccError("step 'verify' needs verification data (--verify-data FILE.npz)")
    return plan


# ----------------------------------------------------------------------------- state
def get_state(model: ModelWrapper) -> dict[str, Any]:
    """The build state saved in a model's metadata (empty if none)."""
    for prop in model.model.metadata_props:
        if prop.key == STATE_KEY:
            value = json.loads(prop.value)
            return value if isinstance(value, dict) else {}
    return {}


def set_state(model: ModelWrapper, state: dict[str, Any]) -> None:
    """Store the build state in the model's metadata (replacing an earlier one)."""
    props = model.model.metadata_props
    for i in reversed(range(len(props))):
        if props[i].key == STATE_KEY:
            del props[i]
    entry = props.add()
    entry.key = STATE_KEY
    entry.value = json.dumps(state, sort_keys=True)


def child_model(model: ModelWrapper) -> ModelWrapper:
    """The HW-only model of the single dataflow partition of ``model``.

    Raises:
        QnnccError: if the model has no partition or several (code generation handles one).
    """
    from qnncc.codegen import hw_partition

    sdps = partition_nodes(model)
    if not sdps:
        raise QnnccError("the model has no dataflow partition (run the 'partition' step first)")
    if len(sdps) > 1:
        raise QnnccError(
            f"the design needs {len(sdps)} partitions; code generation supports one ({split_cause(model)})"
        )
    return hw_partition(model)


def split_cause(model: ModelWrapper) -> str:
    """Why a partitioned model has several partitions: the software nodes between them, else the budget.

    Software nodes both downstream of a partition and upstream of another
    split the stream (each is named with the reason it stays in software);
    without such nodes the split came from the resource budget.
    """
    from qnncc.transforms.hw import explain_software_nodes

    sdps = partition_nodes(model)
    downstream = _software_reach(model, [t for n in sdps for t in n.output], forward=True)
    upstream = _software_reach(model, [t for n in sdps for t in n.input], forward=False)
    names = downstream & upstream
    if not names:
        return "the layers do not fit the board together: fold more or pick a larger board"
    reasons = [line for line in explain_software_nodes(model) if line.split(" ", 1)[0] in names]
    return "software between HW layers splits the stream: " + "; ".join(reasons or sorted(names))


def _software_reach(model: ModelWrapper, tensors: list[str], forward: bool) -> set[str]:
    """Names of the non-partition nodes reachable from ``tensors`` (consumers if ``forward``, else producers)."""
    found: set[str] = set()
    stack = list(tensors)
    while stack:
        tensor = stack.pop()
        if forward:
            nodes = model.find_consumers(tensor)
        else:
            producer = model.find_producer(tensor)
            nodes = [] if producer is None else [producer]
        for node in nodes:
            if node.op_type == "StreamingDataflowPartition" or node.name in found:
                continue
            found.add(node.name)
            stack.extend(node.output if forward else node.input)
    return found


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
    _pipeline: Pipeline | None = None

    def warn(self, message: str) -> None:
        """Record a warning for the user and the log."""
        self.warnings.append(message)
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
    from qnncc.flow.estimate import fold_model
    from qnncc.transforms.hw import iter_hw_nodes

    cfg = ctx.config
    work = _need(model, "fold")
    if cfg.folding is not None and not Path(cfg.folding).is_file():
        raise QnnccError(f"folding file {cfg.folding} does not exist")
    if next(iter_hw_nodes(work), None) is None:
        ops = sorted({n.op_type for n in work.graph.node})
        raise QnnccError(
            f"no layer of the model could be mapped to hardware (ops: {', '.join(ops)}); qnncc streams "
            "quantized layers (QONNX Quant/BipolarQuant or FINN MultiThreshold with integer weights)"
        )
    notes: list[str] = []
    work, unmatched, splits = fold_model(work, ctx.board, ctx.clock_ns, cfg.folding, cfg.target_fps, notes=notes)
    for note in notes:
        ctx.warn(f"folding: {note}")
    if unmatched:
        _check_folding_names(ctx, work, unmatched)
    ctx.state.update(splits=splits, unmatched_folding_keys=unmatched)
    return work


def _check_folding_names(ctx: BuildContext, model: ModelWrapper, unmatched: list[str]) -> None:
    import difflib

    from qnncc.transforms.hw import iter_hw_nodes, load_folding_config

    assert ctx.config.folding is not None
    layers = [n.name for n in iter_hw_nodes(model)]
    entries = [k for k in load_folding_config(ctx.config.folding) if k != "Defaults"]
    hints = []
    for key in unmatched:
        close = difflib.get_close_matches(key, layers, n=1, cutoff=0.5)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    where = f"folding file {ctx.config.folding}"
    if len(unmatched) == len(entries) or ctx.config.strict_folding:
        what = "no entry names a layer of the model" if len(unmatched) == len(entries) else "entries name no layer"
        raise QnnccError(f"{where}: {what} ({', '.join(hints)}); the layers are {', '.join(layers)}")
    ctx.warn(
        f"{where}: {', '.join(hints)} names no layer of the model, so its folding is NOT applied and that layer "
        "keeps the default (PE=SIMD=1, the slowest); fix the name or use --strict-folding to make this an error"
    )


def _partition(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.transforms.hw import CreateDataflowPartition

    work = _need(model, "partition").transform(CreateDataflowPartition(ctx.state.get("splits") or {}))
    parts = partition_nodes(work)
    log.info("%d dataflow partition(s); software nodes: %s", len(parts), [n.name for n in work.graph.node])
    message = float_input_warning(work, ctx.state.get("input_scale"))
    if message:
        ctx.warn(message)
    return work


#: Ops that only rearrange the graph input (no arithmetic): no reason to warn when they stay in software.
_LAYOUT_OPS = frozenset({"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity"})


def float_input_warning(model: ModelWrapper, input_scale: float | None) -> str | None:
    """A warning when a float graph input without quantizer keeps the first layer in software, else None.

    Such a model (e.g. LFC exported for inputs ``pixels / 255``) builds, but its
    first thresholds run in software and the accelerator takes their outputs;
    ``--input-scale`` makes the accelerator take the integers instead.
    """
    names = model.graph_input_names()
    sdps = partition_nodes(model)
    if (
        input_scale is not None
        or len(names) != 1
        or len(sdps) < 1
        or not model.get_tensor_datatype(names[0]).is_float()
    ):
        return None
    first = sdps[0]
    if names[0] in first.input:
        return None
    software = []
    needed = set(first.input)
    for node in reversed(model.topological_sort()):
        if node is not first and any(o in needed for o in node.output):
            software.append(node)
            needed.update(node.input)
    compute = [n for n in reversed(software) if n.op_type not in _LAYOUT_OPS]
    if not compute:
        return None
    stream = first.input[0]
    dt = model.get_tensor_datatype(stream)
    shape = model.get_tensor_shape(stream) or []
    bits = int(math.prod(shape[1:])) * dt.bitwidth() if shape else 0
    ops = ", ".join(f"{n.name} ({n.op_type})" for n in compute)
    return (
        f"INPUT: the graph input {names[0]!r} is float and has no input quantizer, so {ops} run(s) in software "
        f"before the accelerator, which takes {dt.name} {shape} ({bits} bits per frame). If the input is x * SCALE "
        "for integers x (e.g. pixels / 255), pass --input-scale SCALE (e.g. --input-scale 1/255): the accelerator "
        "then takes the integers x (UINT8) and these layers move into hardware"
    )


def _estimate(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.estimate import finish_estimate, write_reports
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
    child = child_model(work)
    child.transform(InsertDWC())
    set_partition_child(work, child)
    return work


def _fifo(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    work = _need(model, "fifo")
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
        _large_fifos(child)
    set_partition_child(work, child)
    fifos = fifo_table(child)
    ctx.fifo_report = {"strategy": mode, "fifos": fifos, "sizing": sizing}
    merging = joins(child)
    if mode == "off" and merging:
        ctx.fifo_report["unsized_joins"] = merging
        ctx.warn(
            f"--fifo-sizing off: the design forks and joins streams ({', '.join(merging)}); without FIFOs sized "
            "for the longer branch the stitched accelerator can deadlock (use --fifo-sizing sim or largefifo)"
        )
    ctx.state["fifo_depths"] = {f["name"]: f["depth"] for f in fifos}
    report = ctx.out / "report"
    report.mkdir(parents=True, exist_ok=True)
    (report / "fifo_depths.json").write_text(json.dumps(ctx.fifo_report, indent=2) + "\n")
    models = ctx.out / "intermediate_models"
    models.mkdir(parents=True, exist_ok=True)
    child.save(models / "dataflow_partition.onnx")  # the HW partition as code generation sees it
    log.info("FIFOs (%s): %s", mode, ctx.state["fifo_depths"] or "none")
    return work


def joins(child: ModelWrapper) -> list[str]:
    """Names of the nodes of a HW model that merge two or more streams (e.g. ``AddStreams`` after a fork)."""
    return [n.name for n in child.graph.node if sum(1 for t in n.input if t and child.get_initializer(t) is None) > 1]


def _large_fifos(child: ModelWrapper) -> None:
    """A StreamingFIFO on every stream, deep enough for one whole frame of its words (power of two)."""
    from qnncc.custom_op import get_custom_op
    from qnncc.hw.layers.streamingfifo import fifo_style
    from qnncc.transforms.hw import InsertFIFO

    child.transform(InsertFIFO(depth=2))
    for node in child.get_nodes_by_op_type("StreamingFIFO"):
        layer = get_custom_op(node)
        folded = [int(d) for d in layer.attrs["folded_shape"]]
        words = math.prod(folded[1:-1]) if len(folded) > 2 else 1
        depth = max(2, 1 << max(words - 1, 1).bit_length())
        width = folded[-1] * layer.output_datatype(0).bitwidth()  # type: ignore[attr-defined]
        impl, ram = fifo_style(depth, width)
        child.set_nodeattr(node, "depth", depth)
        child.set_nodeattr(node, "impl_style", impl)
        child.set_nodeattr(node, "ram_style", ram)


def fifo_table(child: ModelWrapper) -> list[dict[str, Any]]:
    """One row per StreamingFIFO of a HW model: name, stream, depth, width, styles, LUT and BRAM estimates."""
    from qnncc.custom_op import get_custom_op

    rows = []
    for node in child.get_nodes_by_op_type("StreamingFIFO"):
        layer = get_custom_op(node)
        attrs = dict(layer.attrs)
        folded = [int(d) for d in attrs["folded_shape"]]
        width = folded[-1] * layer.output_datatype(0).bitwidth()  # type: ignore[attr-defined]
        est = layer.estimate(emitted=False)  # type: ignore[attr-defined]
        producer = child.find_producer(node.input[0])
        consumer = child.find_consumer(node.output[0])
        rows.append(
            {
                "name": node.name,
                "producer": producer.name if producer is not None else "(input)",
                "consumer": consumer.name if consumer is not None else "(output)",
                "depth": int(attrs["depth"]),
                "width_bits": int(width),
                "impl_style": str(attrs.get("impl_style", "")),
                "ram_style": str(attrs.get("ram_style", "")),
                "LUT": int(est.lut),
                "BRAM_18K": int(est.bram_18k),
            }
        )
    return rows


def _hls(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.codegen import generate_hls
    from qnncc.codegen.vivado.tlast import write_tlast_ips

    work = _need(model, "hls")
    child = child_model(work)
    ctx.fresh_dir("hls")
    project = generate_hls(child, ctx.out, part=ctx.board.part, clock_ns=ctx.clock_ns)
    ctx.layers = [c.name for c in project.layers]
    if ctx.shell == "zynq":  # TLAST inserters before the DMAs' S2MM channels (see qnncc.codegen.vivado.tlast)
        write_tlast_ips(child, ctx.out, ctx.board.part, ctx.clock_ns)
    return work


def _rtl(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.rtl_steps import rtl_step

    return rtl_step(ctx, _need(model, "rtl"))


def _synth(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.rtl_steps import synth_step

    return synth_step(ctx, _need(model, "synth"))


def _stitch(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.codegen.vivado.stitch import write_stitch

    work = _need(model, "stitch")
    ctx.fresh_dir("stitch")
    mode, backend = ctx.shell, ctx.config.backend
    write_stitch(child_model(work), ctx.out, ctx.board, ctx.clock_ns, mode, backend=backend)  # type: ignore[arg-type]
    return work


def _driver(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.codegen import write_driver

    work = _need(model, "driver")
    ctx.fresh_dir("driver")
    child_model(work)  # one partition of HW layers, or a clear error
    write_driver(work, ctx.out, board=ctx.board.name)  # the parent: the driver runs its software parts too
    return work


def _verify(ctx: BuildContext, model: ModelWrapper | None) -> ModelWrapper:
    from qnncc.flow.verify import verify_partition

    work = _need(model, "verify")
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
