"""The files of a build besides its steps' outputs: ``build.log``, ``build_log.json``, final reports."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.report import read_json

log = logging.getLogger("qnncc.build")


#: Loggers whose warnings the build reports itself (BuildContext.warn), so they are not collected twice.
_OWN_WARNINGS = frozenset({log.name, "qnncc.transforms.hw.folding"})


class LogCollector(logging.Handler):
    """Collects WARNING records of passes for the user."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the message of a warning from outside the build's own loggers."""
        if record.name not in _OWN_WARNINGS:
            self.messages.append(record.getMessage())


def write_final_reports(report: Path, ctx: Any, model: ModelWrapper | None) -> None:
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
    figures = read_json(report / "estimate.json")
    if plots and figures:
        from qnncc.flow.plots import write_plots

        write_plots(figures, report)


def model_name(model: ModelWrapper | str | Path | None, current: ModelWrapper | None) -> str:
    """The model's name for the log and summary: its file name, else the graph's name."""
    if isinstance(model, str | Path):
        return Path(model).name
    found = current or model
    return (found.graph.name if found is not None else "") or "model"


def layer_names(model: ModelWrapper | None) -> list[str]:
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


def start_log(path: Path) -> tuple[logging.Handler, LogCollector, Callable[[], None]]:
    """Send qnncc's log records (INFO and up) to ``path`` and collect warnings; returns a function undoing it."""
    root = logging.getLogger("qnncc")
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    collector = LogCollector()
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


def finish_build(
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
