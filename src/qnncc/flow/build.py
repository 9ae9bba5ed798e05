"""``qnncc build``: from an ONNX model to HLS sources, stitch scripts, a PYNQ driver and a verified C++ simulation.

Python twin of the command line::

    import qnncc
    from qnncc.build import BuildConfig
    result = qnncc.build("tfc_w1a1.onnx", BuildConfig(output_dir="build", folding="folding_config.json",
                                                      verify_data="mnist.npz"))
    result.verification["accuracy"], result.fps, result.steps

The flow is a list of named steps (:mod:`qnncc.flow.steps`)::

    load, tidy, qonnx_to_finn, prepare_io, streamline, lower, convert_to_hw, names,
    fold, partition, estimate, insert_dwc, fifo, hls, stitch, driver, verify

``BuildConfig.steps`` picks steps, ``from_step`` resumes a previous build of
the same output folder at a step (from the model saved before it) and
``to_step`` stops early. Every step that changes the model saves it as
``intermediate_models/<NN>_<step>.onnx``, with the build state in its
metadata, so a resumed build gives the same files as a full one.

Everything is written to ``<output>.incomplete`` and renamed to ``<output>``
only when every step succeeded, so a failed build never looks finished; its
folder keeps ``build.log`` (with the traceback), ``build_log.json``
(``"status": "failed"`` and the step) and the intermediate models to resume
from. Output layout: ``intermediate_models/``, ``report/`` (FINN-format
estimate JSONs, ``summary.md``/``summary.html``, PNG plots, FIFO depths),
``hls/<layer>/``, ``stitch/``, ``driver/``, ``verification/``,
``Makefile.vivado``, ``build.log``, ``build_log.json``, ``build_config.json``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.config import BuildConfig, ConfigError, load_build_config, make_build_config
from qnncc.flow.outdir import check_output_dir, install_output, mark
from qnncc.flow.resume import build_options, check_resume_options, checkpoint_path, checkpoints, resume, saved_settings

__all__ = [
    "BuildConfig",
    "BuildError",
    "BuildInterrupted",
    "BuildObserver",
    "BuildResult",
    "BuildWarning",
    "ConfigError",
    "build",
    "checkpoints",
    "load_build_config",
    "make_build_config",
    "saved_settings",
    "verify_build",
]

log = logging.getLogger("qnncc.build")


class BuildError(QnnccError):
    """A build step failed; the partial output stays in ``<output>.incomplete``.

    Attributes:
        step: the failing step.
        folder: the incomplete build folder.
    """

    def __init__(self, message: str, step: str, folder: Path) -> None:
        super().__init__(message)
        self.step = step
        self.folder = folder


class BuildInterrupted(KeyboardInterrupt):
    """The user interrupted a build (Ctrl-C); the partial output stays in ``<output>.incomplete``.

    Attributes:
        step: the interrupted step; ``--from-step`` with it resumes the build.
        folder: the incomplete build folder.
    """

    def __init__(self, step: str, folder: Path) -> None:
        super().__init__(f"interrupted in step {step!r}; resume with --from-step {step}")
        self.step = step
        self.folder = folder


class BuildWarning(UserWarning):
    """A build warning (also in ``build.log``, the summary and :attr:`BuildResult.warnings`)."""


@runtime_checkable
class BuildObserver(Protocol):
    """Receives progress events (e.g. a progress bar); ``build(..., progress=observer)``."""

    def step_started(self, name: str, index: int, total: int) -> None:
        """Step ``name`` (number ``index`` of ``total``, from 1) starts."""

    def step_finished(self, name: str, seconds: float) -> None:
        """Step ``name`` finished after ``seconds``."""


class BuildResult(BaseModel):
    """What a build produced.

    Attributes:
        output_dir: the finished build folder.
        steps: seconds per step run, in order.
        layers: HLS top names in stream order.
        verification: cppsim figures (images, agreement with execute,
            accuracy, compile and simulation seconds) or None.
        fps: estimated frames/s of the slowest partition (0 without an estimate).
        estimate: the figures of ``report/estimate.json`` (None without an estimate).
        fifo_depths: depth per StreamingFIFO node.
        warnings: messages for the user.
        resumed_from: the checkpoint a resumed build started from.
        model: the model after the last step.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    output_dir: Path
    steps: dict[str, float]
    layers: list[str]
    verification: dict[str, Any] | None
    fps: float
    estimate: dict[str, Any] | None = None
    fifo_depths: dict[str, int] = {}
    warnings: list[str] = []
    resumed_from: str | None = None
    model: ModelWrapper | None = None


class _CallbackObserver:
    def __init__(self, fn: Callable[[str], None]) -> None:
        self.fn = fn

    def step_started(self, name: str, index: int, total: int) -> None:
        self.fn(name)

    def step_finished(self, name: str, seconds: float) -> None:
        pass


#: Loggers whose warnings the build reports itself (BuildContext.warn), so they are not collected twice.
_OWN_WARNINGS = frozenset({log.name, "qnncc.transforms.hw.folding"})


class _Collect(logging.Handler):
    """Collects WARNING records of passes for the user."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name not in _OWN_WARNINGS:
            self.messages.append(record.getMessage())


def _as_model(model: Any) -> ModelWrapper | str | Path | None:
    """A model argument as qnncc takes it: also a qonnx ``ModelWrapper`` or an ``onnx.ModelProto``."""
    if model is None or isinstance(model, ModelWrapper | str | Path):
        return model
    import onnx

    if isinstance(model, onnx.ModelProto):
        return ModelWrapper(model)
    proto = getattr(model, "model", None)  # qonnx.core.modelwrapper.ModelWrapper and similar wrappers
    if isinstance(proto, onnx.ModelProto):
        return ModelWrapper(proto)
    raise QnnccError(
        f"model must be a file path, a qnncc or qonnx ModelWrapper or an onnx.ModelProto, got {type(model).__name__}"
    )


def _preflight(model: ModelWrapper | str | Path | None, config: BuildConfig, plan: list[str]) -> None:
    """Errors that need no build folder: missing input files, no C++ compiler."""
    if "load" in plan and model is None:
        raise QnnccError("no model given: pass MODEL_PATH (only --from-step after 'load' resumes without it)")
    if "load" in plan and isinstance(model, str | Path) and not Path(model).is_file():
        what = "is a directory, not a model file" if Path(model).is_dir() else "does not exist"
        raise QnnccError(f"model file {model} {what}")
    if "fold" in plan and config.folding is not None and not Path(config.folding).is_file():
        raise QnnccError(f"folding file {config.folding} does not exist")
    if "verify" in plan and config.verify_data is not None and not Path(config.verify_data).is_file():
        raise QnnccError(f"verification data {config.verify_data} does not exist")
    if "verify" in plan:
        from qnncc.flow.verify import check_compiler

        check_compiler()
        if config.backend == "rtl":
            from qnncc.codegen.rtl.tools import verilator_root

            verilator_root()  # RtlToolError naming the install command
    if "synth" in plan:
        from qnncc.codegen.rtl.tools import yosys_command

        yosys_command()


def build(
    model: Any,
    config: BuildConfig,
    progress: BuildObserver | Callable[[str], None] | None = None,
    *,
    show_warnings: bool = True,
) -> BuildResult:
    """Run the build flow (see the module docstring).

    Args:
        model: model file, or loaded model (a qnncc or qonnx ``ModelWrapper`` or
            an ``onnx.ModelProto``; not modified); may be None when resuming
            after ``load`` (``config.from_step``): the build folder's saved model is used.
        config: the build settings.
        progress: a :class:`BuildObserver`, or a function called with each
            step's name before it runs (e.g. to print it).
        show_warnings: also issue each build warning as a Python warning
            (:class:`BuildWarning`); the command line prints them itself.

    Returns:
        The :class:`BuildResult`; files are in ``config.output_dir``.

    Raises:
        QnnccError: for bad settings or input found before the build starts
            (no folder is written), e.g. an output folder that is not empty and
            not a qnncc build (see :mod:`qnncc.flow.outdir`), or a resume whose
            settings differ from those the saved steps used; or
            :class:`BuildError` for a failing step (the partial output stays in
            ``<output>.incomplete``; ``<output>`` is not touched).
        BuildInterrupted: on Ctrl-C (a ``KeyboardInterrupt`` naming the step to resume from).
    """
    from qnncc.flow.steps import BuildContext, changes_model, default_steps, get_state, run_step, set_state

    model = _as_model(model)
    board = get_board(config.board)
    clock_ns = config.clock_ns or board.default_clk_ns
    shell = config.shell or ("zynq" if board.pynq else "generic")
    plan = default_steps(config)
    _preflight(model, config, plan)
    observer: BuildObserver | None = (
        _CallbackObserver(progress) if progress is not None and not isinstance(progress, BuildObserver) else progress
    )
    out = check_output_dir(Path(config.output_dir), config.force)
    tmp = out.with_name(out.name + ".incomplete")
    options = build_options(config, board.name, clock_ns, shell)
    current: ModelWrapper | None = None
    resumed_from = None
    if plan and plan[0] != "load":
        current, resumed_from = resume(out, tmp, plan[0])
        saved = get_state(current).get("options")
        if isinstance(saved, dict):
            check_resume_options(saved, options, plan[0])
    else:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        mark(tmp, [])
    source: ModelWrapper | str | Path = model if model is not None else tmp
    ctx = BuildContext(config=config, board=board, clock_ns=clock_ns, shell=shell, out=tmp, source=source)
    if current is not None:
        ctx.state.update(get_state(current))
    ctx.state["options"] = options
    name = _model_name(model, current)
    steps: dict[str, float] = {}
    saving = 0.0
    handler, collector, restore = _start_log(tmp / "build.log")
    try:
        log.info("qnncc build of %s: steps %s%s", name, plan, f"; resumed from {resumed_from}" if resumed_from else "")
        log.info("config: %s", json.dumps(config.describe()))
        for index, step in enumerate(plan, start=1):
            if observer is not None:
                observer.step_started(step, index, len(plan))
            log.info("step %s: start", step)
            start = time.perf_counter()
            try:
                current = run_step(step, ctx, current)
            except KeyboardInterrupt:
                log.error("step %s interrupted (Ctrl-C)", step)
                ctx.warnings[:0] = collector.messages
                _finish(
                    tmp, ctx, name, steps, "interrupted", resumed_from, error=f"interrupted in step {step!r}", step=step
                )
                raise BuildInterrupted(step, tmp) from None
            except Exception as exc:  # every failure becomes one line; the traceback goes to build.log
                log.error("step %s failed", step, exc_info=True)
                message = str(exc).replace("\n", " ").strip() or type(exc).__name__
                if not isinstance(exc, QnnccError):
                    message = f"{type(exc).__name__}: {message}"
                ctx.warnings[:0] = collector.messages
                _finish(tmp, ctx, name, steps, "failed", resumed_from, error=f"step {step!r}: {message}", step=step)
                raise BuildError(
                    f"step {step!r} failed: {message} (incomplete build in {tmp}; see build.log)", step, tmp
                ) from exc
            steps[step] = time.perf_counter() - start
            if config.save_intermediate_models and changes_model(step):
                t0 = time.perf_counter()
                set_state(current, ctx.state)
                current.save(checkpoint_path(tmp, step))
                saving += time.perf_counter() - t0
            log.info("step %s: done in %.3f s", step, steps[step])
            if observer is not None:
                observer.step_finished(step, steps[step])
        log.info("intermediate models saved in %.3f s", saving)
        ctx.warnings[:0] = collector.messages
        t0 = time.perf_counter()
        _write_reports(tmp / "report", ctx, current)
        log.info("report files and plots written in %.3f s", time.perf_counter() - t0)
        _finish(tmp, ctx, name, steps, "complete", resumed_from)
    finally:
        restore()
        handler.close()
    install_output(tmp, out)
    if show_warnings:
        for message in ctx.warnings:
            warnings.warn(message, BuildWarning, stacklevel=2)
    estimate = _read(out / "report" / "estimate.json")
    fifo = _read(out / "report" / "fifo_depths.json")
    return BuildResult(
        output_dir=out,
        steps=steps,
        layers=ctx.layers or _layer_names(current),
        verification=ctx.verification,
        fps=float(estimate["estimated_throughput_fps"]) if estimate else 0.0,
        estimate=estimate,
        fifo_depths={f["name"]: f["depth"] for f in fifo["fifos"]} if fifo else {},
        warnings=ctx.warnings,
        resumed_from=resumed_from,
        model=current,
    )


def _write_reports(report: Path, ctx: Any, model: ModelWrapper | None) -> None:
    """The report files drawn from the final model and ``estimate.json``: I/O, DWCs, graph and plots (PNG)."""
    outputs = ctx.config.generate_outputs
    plots = "plots" in outputs
    if plots:
        try:
            import matplotlib  # noqa: F401  (optional: the plots are skipped without it)
        except ImportError as exc:
            ctx.warn(f"plots skipped: {exc}")
            plots = False
    if model is not None and "estimate_reports" in outputs:
        from qnncc.flow.report_model import write_model_reports

        write_model_reports(report, model, ctx.state.get("input_scale"), plots)
    figures = _read(report / "estimate.json")
    if plots and figures:
        from qnncc.flow.plots import write_plots

        write_plots(figures, report)


def _model_name(model: ModelWrapper | str | Path | None, current: ModelWrapper | None) -> str:
    if isinstance(model, str | Path):
        return Path(model).name
    found = current or model
    return (found.graph.name if found is not None else "") or "model"


def _read(path: Path) -> Any:
    from qnncc.flow.report import read_json

    return read_json(path)


def _layer_names(model: ModelWrapper | None) -> list[str]:
    """HLS top names of the partition of ``model`` (empty if it has none or several)."""
    from qnncc.codegen import safe_identifier
    from qnncc.codegen.hls import PASS_THROUGH_OPS

    if model is None or len(model.get_nodes_by_op_type("StreamingDataflowPartition")) != 1:
        return []
    from qnncc.flow.steps import child_model

    try:
        child = child_model(model)
    except QnnccError:  # e.g. a partition that still holds software nodes
        return []
    return [safe_identifier(n.name) for n in child.topological_sort() if n.op_type not in PASS_THROUGH_OPS]


def _start_log(path: Path) -> tuple[logging.Handler, _Collect, Callable[[], None]]:
    """Send qnncc's log records (INFO and up) to ``path`` and collect warnings; returns a function undoing it."""
    root = logging.getLogger("qnncc")
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    collector = _Collect()
    level = root.level
    root.addHandler(handler)
    root.addHandler(collector)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)

    def restore() -> None:
        root.removeHandler(handler)
        root.removeHandler(collector)
        root.setLevel(level)

    return handler, collector, restore


def _finish(
    folder: Path,
    ctx: Any,
    name: str,
    steps: dict[str, float],
    status: str,
    resumed_from: str | None,
    error: str | None = None,
    step: str | None = None,
) -> None:
    """Write ``build_log.json``, ``build_config.json`` and the summary of a finished or failed build."""
    from qnncc.flow.report import write_summary
    from qnncc.version import __version__

    config = ctx.config.describe()
    record: dict[str, Any] = {
        "status": status,
        "model": name,
        "qnncc_version": __version__,
        "board": ctx.board.name,
        "clock_ns": ctx.clock_ns,
        "shell": ctx.shell,
        "config": config,
        "steps_seconds": {k: round(v, 4) for k, v in steps.items()},
        "resumed_from": resumed_from,
        "warnings": ctx.warnings,
    }
    if error is not None:
        record.update(failed_step=step, error=error)
    (folder / "build_log.json").write_text(json.dumps(record, indent=2) + "\n")
    (folder / "build_config.json").write_text(json.dumps(config, indent=2) + "\n")
    try:
        write_summary(
            folder,
            name=name,
            status=status,
            config={**config, "clock_ns": ctx.clock_ns, "shell": ctx.shell},
            steps=steps,
            warnings=ctx.warnings,
            error=error,
            resumed_from=resumed_from,
        )
    except Exception:  # a summary must never hide the build's own error
        if error is None:
            raise
        log.exception("summary of the failed build")


def verify_build(
    build_dir: str | Path, data: str | Path, count: int | None = None, scheduler: str | None = None
) -> dict[str, Any]:
    """C++-simulate a finished build's partition on ``data`` (``qnncc verify``).

    Uses the last intermediate model of ``build_dir``, writes
    ``verification/cppsim_results.json`` (``rtlsim_results.json``, simulated
    with Verilator, for a build of ``--backend rtl``) and refreshes the summary. The
    compiles and simulation shards run on ``scheduler``'s Dask cluster (None:
    ``$QNNCC_SCHEDULER``, else a local process pool).

    Returns:
        The figures (see :func:`qnncc.flow.verify.verify_partition`).

    Raises:
        QnnccError: for a folder that is not a build, bad data or a failing compile.
    """
    from qnncc.flow.report import write_summary
    from qnncc.flow.verify import verify_partition

    folder = Path(build_dir)
    if not folder.is_dir():
        raise QnnccError(f"build folder {folder} does not exist")
    saved = checkpoints(folder)
    if not saved:
        raise QnnccError(f"{folder} has no intermediate models; is it a qnncc build folder?")
    path = list(saved.values())[-1]
    model = ModelWrapper(str(path))
    if len(model.get_nodes_by_op_type("StreamingDataflowPartition")) != 1:
        raise QnnccError(f"the last saved model of {folder} ({path.name}) has no single dataflow partition")
    from qnncc.flow.steps import get_state
    from qnncc.flow.verify import check_compiler, check_verification_data

    state = get_state(model)
    scale = state.get("input_scale")
    shape = model.get_tensor_shape(model.graph_input_names()[0]) or []
    check_verification_data(data, shape, state.get("input_datatype") if scale is not None else None, scale, count)
    check_compiler()
    record = _read(folder / "build_log.json") or {}
    if record.get("config", {}).get("backend") == "rtl":  # a build of the RTL backend: Verilator
        from qnncc.flow.rtl_steps import verify_partition_rtl

        figures = verify_partition_rtl(model, data, folder / "verification", count=count)
    else:
        figures = verify_partition(model, data, folder / "verification", count=count, scheduler=scheduler)
    config = {**record.get("config", {}), "clock_ns": record.get("clock_ns"), "shell": record.get("shell")}
    write_summary(
        folder,
        name=record.get("model", folder.name),
        status=record.get("status", "complete"),
        config=config,
        steps={k: float(v) for k, v in record.get("steps_seconds", {}).items()},
        warnings=record.get("warnings", []),
        resumed_from=record.get("resumed_from"),
    )
    return figures
