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
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.config import BuildConfig, ConfigError, load_build_config, make_build_config

__all__ = [
    "BuildConfig",
    "BuildError",
    "BuildObserver",
    "BuildResult",
    "ConfigError",
    "build",
    "checkpoints",
    "load_build_config",
    "make_build_config",
    "verify_build",
]

log = logging.getLogger("qnncc.build")
_CHECKPOINT = re.compile(r"^(?P<index>\d\d)_(?P<step>[A-Za-z0-9_\-]+)\.onnx$")


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


def checkpoints(folder: str | Path) -> dict[str, Path]:
    """Saved intermediate models of a build folder by step name, in flow order."""
    models = Path(folder) / "intermediate_models"
    found = []
    if models.is_dir():
        for path in models.iterdir():
            m = _CHECKPOINT.match(path.name)
            if m:
                found.append((int(m.group("index")), m.group("step"), path))
    return {step: path for _, step, path in sorted(found)}


def _checkpoint_path(folder: Path, step: str) -> Path:
    from qnncc.flow.steps import step_names

    return folder / "intermediate_models" / f"{step_names().index(step):02d}_{step}.onnx"


def _resume(out: Path, tmp: Path, first: str) -> tuple[ModelWrapper, str]:
    """Prepare ``tmp`` from the previous build of ``out`` and load the model saved before step ``first``."""
    from qnncc.flow.steps import clear_outputs, step_names

    names = step_names()
    source = next((d for d in (tmp, out) if checkpoints(d)), None)
    if source is None:
        raise QnnccError(f"cannot resume at step {first!r}: no intermediate models in {out} or {tmp}")
    before = [(s, p) for s, p in checkpoints(source).items() if names.index(s) < names.index(first)]
    if not before:
        raise QnnccError(f"cannot resume at step {first!r}: {source} has no model saved before it")
    step, path = before[-1]
    if source != tmp:
        if tmp.exists():
            shutil.rmtree(tmp)
        shutil.copytree(out, tmp)
    for s, p in checkpoints(tmp).items():
        if names.index(s) >= names.index(first):
            p.unlink()
    clear_outputs(tmp, first)
    model = ModelWrapper(str(tmp / "intermediate_models" / path.name))
    return model, f"{source.name}/intermediate_models/{path.name} (after step {step!r})"


def _preflight(model: ModelWrapper | str | Path, config: BuildConfig, plan: list[str]) -> None:
    """Errors that need no build folder: missing input files."""
    if "load" in plan and isinstance(model, str | Path) and not Path(model).is_file():
        what = "is a directory, not a model file" if Path(model).is_dir() else "does not exist"
        raise QnnccError(f"model file {model} {what}")
    if "fold" in plan and config.folding is not None and not Path(config.folding).is_file():
        raise QnnccError(f"folding file {config.folding} does not exist")
    if "verify" in plan and config.verify_data is not None and not Path(config.verify_data).is_file():
        raise QnnccError(f"verification data {config.verify_data} does not exist")


def build(
    model: ModelWrapper | str | Path,
    config: BuildConfig,
    progress: BuildObserver | Callable[[str], None] | None = None,
) -> BuildResult:
    """Run the build flow (see the module docstring).

    Args:
        model: model file or loaded model (not modified); unused when resuming
            after ``load`` (``config.from_step``).
        config: the build settings.
        progress: a :class:`BuildObserver`, or a function called with each
            step's name before it runs (e.g. to print it).

    Returns:
        The :class:`BuildResult`; files are in ``config.output_dir``.

    Raises:
        QnnccError: for bad settings or input found before the build starts
            (no folder is written), or :class:`BuildError` for a failing step
            (the partial output stays in ``<output>.incomplete``; ``<output>``
            is not touched).
    """
    from qnncc.flow.steps import BuildContext, changes_model, default_steps, get_state, run_step, set_state

    board = get_board(config.board)
    clock_ns = config.clock_ns or board.default_clk_ns
    shell = config.shell or ("zynq" if board.pynq else "generic")
    plan = default_steps(config)
    _preflight(model, config, plan)
    observer: BuildObserver | None = (
        _CallbackObserver(progress) if progress is not None and not isinstance(progress, BuildObserver) else progress
    )
    out = Path(config.output_dir)
    tmp = out.with_name(out.name + ".incomplete")
    current: ModelWrapper | None = None
    resumed_from = None
    if plan and plan[0] != "load":
        current, resumed_from = _resume(out, tmp, plan[0])
    else:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    ctx = BuildContext(config=config, board=board, clock_ns=clock_ns, shell=shell, out=tmp, source=model)
    if current is not None:
        ctx.state.update(get_state(current))
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
            except Exception as exc:  # every failure becomes one line; the traceback goes to build.log
                log.error("step %s failed", step, exc_info=True)
                message = str(exc).replace("\n", " ").strip() or type(exc).__name__
                if not isinstance(exc, QnnccError):
                    message = f"{type(exc).__name__}: {message}"
                ctx.warnings.extend(collector.messages)
                _finish(tmp, ctx, name, steps, "failed", resumed_from, error=f"step {step!r}: {message}", step=step)
                raise BuildError(
                    f"step {step!r} failed: {message} (incomplete build in {tmp}; see build.log)", step, tmp
                ) from exc
            steps[step] = time.perf_counter() - start
            if config.save_intermediate_models and changes_model(step):
                t0 = time.perf_counter()
                set_state(current, ctx.state)
                current.save(_checkpoint_path(tmp, step))
                saving += time.perf_counter() - t0
            log.info("step %s: done in %.3f s", step, steps[step])
            if observer is not None:
                observer.step_finished(step, steps[step])
        log.info("intermediate models saved in %.3f s", saving)
        ctx.warnings[:0] = collector.messages
        _finish(tmp, ctx, name, steps, "complete", resumed_from)
    finally:
        restore()
        handler.close()
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
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


def _model_name(model: ModelWrapper | str | Path, current: ModelWrapper | None) -> str:
    if isinstance(model, str | Path):
        return Path(model).name
    graph = (current or model).graph.name
    return graph or "model"


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
    ``verification/cppsim_results.json`` and refreshes the summary. The
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
    figures = verify_partition(model, data, folder / "verification", count=count, scheduler=scheduler)
    record = _read(folder / "build_log.json") or {}
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
