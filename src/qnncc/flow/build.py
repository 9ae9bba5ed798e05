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
from typing import Any

from pydantic import BaseModel, ConfigDict

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.build_files import finish_build, layer_names, model_name, start_log, write_final_reports
from qnncc.flow.config import BuildConfig, ConfigError, load_build_config, make_build_config
from qnncc.flow.outdir import check_output_dir, install_output, mark
from qnncc.flow.report import read_json
from qnncc.flow.resume import build_options, check_resume_options, checkpoint_path, checkpoints, resume, saved_settings
from qnncc.flow.runner import StepObserver
from qnncc.flow.verify import verify_build

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


#: Receives progress events (e.g. a progress bar); ``build(..., progress=observer)``.
BuildObserver = StepObserver


class _Both:
    """An observer that also records each step's seconds (for :class:`BuildResult`)."""

    def __init__(self, inner: StepObserver | None, record: Callable[[str, float], None]) -> None:
        self.inner, self.record = inner, record

    def step_started(self, name: str, index: int, total: int) -> None:
        if self.inner is not None:
            self.inner.step_started(name, index, total)

    def step_finished(self, name: str, seconds: float) -> None:
        self.record(name, seconds)
        if self.inner is not None:
            self.inner.step_finished(name, seconds)


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
    from qnncc.flow.plan import changes_model, default_steps
    from qnncc.flow.runner import run_steps
    from qnncc.flow.steps import BuildContext, get_state, set_state

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
    name = model_name(model, current)
    steps: dict[str, float] = {}
    saving = 0.0
    handler, collector, restore = start_log(tmp / "build.log")
    try:
        log.info("qnncc build of %s: steps %s%s", name, plan, f"; resumed from {resumed_from}" if resumed_from else "")
        log.info("config: %s", json.dumps(config.describe()))

        def checkpoint(step: str, model: ModelWrapper) -> Path | None:
            nonlocal saving
            if not (config.save_intermediate_models and changes_model(step)):
                return None
            t0 = time.perf_counter()
            set_state(model, ctx.state)
            path = checkpoint_path(tmp, step)
            model.save(path)
            saving += time.perf_counter() - t0
            return path

        def record(name: str, seconds: float) -> None:
            steps[name] = seconds

        try:
            current, _ = run_steps(plan, ctx, current, observer=_Both(observer, record), after_step=checkpoint)
        except KeyboardInterrupt:
            step = ctx.step
            log.error("step %s interrupted (Ctrl-C)", step)
            ctx.warnings[:0] = collector.messages
            finish_build(
                tmp, ctx, name, steps, "interrupted", resumed_from, error=f"interrupted in step {step!r}", step=step
            )
            raise BuildInterrupted(step, tmp) from None
        except Exception as exc:  # every failure becomes one line; the traceback goes to build.log
            step = ctx.step
            log.error("step %s failed", step, exc_info=True)
            message = str(exc).replace("\n", " ").strip() or type(exc).__name__
            if not isinstance(exc, QnnccError):
                message = f"{type(exc).__name__}: {message}"
            ctx.warnings[:0] = collector.messages
            finish_build(tmp, ctx, name, steps, "failed", resumed_from, error=f"step {step!r}: {message}", step=step)
            raise BuildError(
                f"step {step!r} failed: {message} (incomplete build in {tmp}; see build.log)", step, tmp
            ) from exc
        log.info("intermediate models saved in %.3f s", saving)
        ctx.warnings[:0] = collector.messages
        t0 = time.perf_counter()
        write_final_reports(tmp / "report", ctx, current)
        log.info("report files and plots written in %.3f s", time.perf_counter() - t0)
        finish_build(tmp, ctx, name, steps, "complete", resumed_from)
    finally:
        restore()
        handler.close()
    install_output(tmp, out)
    if show_warnings:
        for message in ctx.warnings:
            warnings.warn(message, BuildWarning, stacklevel=2)
    estimate = read_json(out / "report" / "estimate.json")
    fifo = read_json(out / "report" / "fifo_depths.json")
    return BuildResult(
        output_dir=out,
        steps=steps,
        layers=ctx.layers or layer_names(current),
        verification=ctx.verification,
        fps=float(estimate["estimated_throughput_fps"]) if estimate else 0.0,
        estimate=estimate,
        fifo_depths={f["name"]: f["depth"] for f in fifo["fifos"]} if fifo else {},
        warnings=ctx.warnings,
        resumed_from=resumed_from,
        model=current,
    )
