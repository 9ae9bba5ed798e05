"""``qnncc sweep``: design-space sweeps as jobs, one table and a Pareto plot.

A sweep description (YAML or JSON, :class:`SweepSpec`) names models, boards,
clocks, target FPS values or folding files, and quantization formats; their
product is a list of points. Each point is one job
(:func:`~qnncc.flow.sweep_point.estimate_point`: :func:`qnncc.estimate.estimate`,
optionally preceded by post-training quantization and followed by a build with
C++ simulation) run by a :mod:`qnncc.jobs` executor (local process pool, or a
Dask cluster). Results are cached in ``<out>/.cache`` by
the content hash of the point (model, folding and calibration file contents,
options, qnncc version), so a sweep that was interrupted or extended only runs
the missing points. Outputs: ``sweep.csv`` (and ``sweep.parquet`` when pyarrow
is installed), ``pareto.png`` and ``jobs.json`` (per-job attempts, cache hits,
times and workers).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.flow.sweep_point import COLUMNS, estimate_point, point_job, public
from qnncc.jobs import EventHandler, Executor, JobResult, ResultCache, content_key, get_executor

__all__ = [
    "COLUMNS",
    "SweepModel",
    "SweepResult",
    "SweepSpec",
    "estimate_point",
    "load_sweep_spec",
    "run_sweep",
    "sweep_points",
]


class SweepModel(BaseModel):
    """One model of a sweep with its own input convention.

    Attributes:
        path: the model file (relative to the description file).
        input_scale: this model's input scale (overrides the sweep's).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    input_scale: str | None = None

    @field_validator("input_scale", mode="before")
    @classmethod
    def _scale_text(cls, value: Any) -> Any:
        return None if value is None else str(value)


class SweepSpec(BaseModel):
    """A sweep description: the product of its lists is the set of points.

    Attributes:
        models: model files (ONNX/QONNX/FINN-ONNX; relative to the description file),
            or ``{path: ..., input_scale: ...}`` mappings (:class:`SweepModel`).
        boards: board names (``qnncc boards``).
        clocks_ns: clock periods in ns; ``null`` is the board's default.
        target_fps: frames/s the folding optimiser aims at; ``null`` is as fast as fits.
        folding: FINN-format folding files, swept as alternatives to ``target_fps``.
        quant_formats: post-training quantization formats (``qnncc quantize``) applied to
            float models before estimating; needs ``calib``.
        calib: ``.npz`` of calibration images for ``quant_formats``.
        calib_items: ``"START:STOP"`` range of the calibration images (default: all).
        input_scale: the models' inputs were ``x * input_scale`` (e.g. ``"1/255"``).
        build: also build every point that fits (``qnncc build`` into ``<out>/points/<point>``).
        verify_data: ``.npz`` of images the builds C++-simulate and check against
            execute (needs ``build``).
        verify_count: simulate only the first images.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    models: tuple[str | SweepModel, ...] = Field(min_length=1)
    boards: tuple[str, ...] = ("Pynq-Z1",)
    clocks_ns: tuple[float | None, ...] = (None,)
    target_fps: tuple[float | None, ...] = ()
    folding: tuple[str, ...] = ()
    quant_formats: tuple[str, ...] = ()
    calib: str | None = None
    calib_items: str | None = None
    input_scale: str | None = None
    build: bool = False
    verify_data: str | None = None
    verify_count: int | None = Field(default=None, gt=0)

    @field_validator("models", "boards", "folding", "quant_formats", "clocks_ns", "target_fps", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, int, float)) else value

    @field_validator("input_scale", mode="before")
    @classmethod
    def _scale_text(cls, value: Any) -> Any:
        return None if value is None else str(value)

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if self.quant_formats and self.calib is None:
            raise ValueError("quant_formats need calib (an .npz of calibration images)")
        if self.verify_data is not None and not self.build:
            raise ValueError("verify_data needs build: true")
        for fps in self.target_fps:
            if fps is not None and fps <= 0:
                raise ValueError(f"target_fps {fps} is not positive")
        return self


def load_sweep_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Read a YAML/JSON sweep description: ``(spec, folder relative paths start from)``.

    Raises:
        QnnccError: for an unreadable file or an invalid description (one line naming the key).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise QnnccError(f"cannot read sweep description {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise QnnccError(f"sweep description {path} must be a mapping (models:, boards:, ...)")
    if "model" in data and "models" not in data:
        data["models"] = data.pop("model")
    try:
        return SweepSpec(**data), path.resolve().parent
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "description"
        raise QnnccError(f"sweep description {path}: {where}: {err['msg']}") from None


def sweep_points(spec: SweepSpec, base: Path) -> list[dict[str, Any]]:
    """The points of ``spec`` in table order (model, format, board, clock, target/folding).

    Each point is a plain dict (picklable job argument) with absolute paths.

    Raises:
        QnnccError: if a named file does not exist or a board is unknown.
    """
    for board in spec.boards:
        get_board(board)

    def resolve(name: str) -> str:
        path = (base / name).resolve()
        if not path.is_file():
            raise QnnccError(f"sweep input {name!r} not found (looked at {path})")
        return str(path)

    models = [
        (resolve(m), spec.input_scale) if isinstance(m, str) else (resolve(m.path), m.input_scale or spec.input_scale)
        for m in spec.models
    ]
    folds: list[tuple[float | None, str | None]] = [(fps, None) for fps in spec.target_fps]
    folds += [(None, resolve(f)) for f in spec.folding]
    calib = resolve(spec.calib) if spec.calib else None
    verify_data = resolve(spec.verify_data) if spec.verify_data else None
    points = []
    for (model, scale), fmt, board, clock, (fps, folding) in itertools.product(
        models, spec.quant_formats or (None,), spec.boards, spec.clocks_ns, folds or [(None, None)]
    ):
        point = {
            "model": model,
            "quant_format": fmt,
            "board": board,
            "clock_ns": clock,
            "target_fps": fps,
            "folding": folding,
            "input_scale": scale,
            "calib": calib if fmt else None,
            "calib_items": spec.calib_items if fmt else None,
            "build": spec.build,
            "verify_data": verify_data,
            "verify_count": spec.verify_count,
        }
        point["point"] = content_key(public(point))[:10]
        points.append(point)
    return points


@dataclass
class SweepResult:
    """What :func:`run_sweep` produced.

    Attributes:
        rows: one table row per point (``COLUMNS``), in point order.
        jobs: the job results (attempts, cache hits, times, workers).
        files: written files by kind (``csv``, ``parquet``, ``plot``, ``jobs``).
        executor: the executor's one-line description.
    """

    rows: list[dict[str, Any]]
    jobs: list[JobResult]
    files: dict[str, Path] = field(default_factory=dict)
    executor: str = ""

    @property
    def cached(self) -> int:
        """Points taken from the cache (not run again)."""
        return sum(1 for j in self.jobs if j.cached)

    @property
    def retried(self) -> int:
        """Points that needed more than one start (lost worker or failure)."""
        return sum(1 for j in self.jobs if j.attempts > 1)


def table_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV text with the ``COLUMNS`` header (empty cells for None)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row[c] for c in COLUMNS})
    return buf.getvalue()


def _write(path: Path, data: str | bytes) -> Path:
    """Write atomically (temporary file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)
    return path


def _write_parquet(rows: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Parquet copy of the table if pyarrow is installed (it is optional), else None."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows])
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def run_sweep(
    spec: SweepSpec | str | Path,
    output_dir: str | Path,
    executor: Executor | None = None,
    scheduler: str | None = None,
    on_event: EventHandler | None = None,
    base: Path | None = None,
    plot: bool = True,
) -> SweepResult:
    """Run every point of a sweep as a job and write the table, the plot and the job log.

    Args:
        spec: a :class:`SweepSpec` or the path of a YAML/JSON description.
        output_dir: where ``sweep.csv``, ``sweep.parquet`` (with pyarrow),
            ``pareto.png``, ``jobs.json`` and the result cache ``.cache/`` go; an
            existing folder is resumed (cached points are not run again).
        executor: the executor (default: :func:`qnncc.jobs.get_executor` of ``scheduler``).
        scheduler: Dask scheduler ``tcp://HOST:PORT`` when no executor is given
            (default ``$QNNCC_SCHEDULER``, else the local process pool).
        on_event: per-job progress handler.
        base: folder relative paths of a :class:`SweepSpec` start from (default: cwd).
        plot: draw ``pareto.png``.

    Returns:
        The :class:`SweepResult`; points that raised are rows with ``status`` ``failed``.

    Raises:
        QnnccError: for a bad description, a missing file or an unknown board.
    """
    if isinstance(spec, (str, Path)):
        spec, base = load_sweep_spec(spec)
    points = sweep_points(spec, base or Path.cwd())
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = ResultCache(out / ".cache")
    jobs = [point_job(p, out / "points") for p in points]
    owned = executor is None
    ex = executor or get_executor(scheduler)
    try:
        results = ex.run(jobs, on_event, cache=cache)
        description = ex.describe()
    finally:
        if owned:
            ex.close()
    rows = []
    for point, res in zip(points, results, strict=True):
        if res.ok:
            rows.append(res.value)
        else:
            row: dict[str, Any] = {c: None for c in COLUMNS}
            row.update({k: v for k, v in public(point).items() if k in COLUMNS and k != "build"})
            row.update(status="failed", error=res.error[:300])
            rows.append(row)
    result = SweepResult(rows, results, executor=description)
    result.files["csv"] = _write(out / "sweep.csv", table_csv(rows))
    if (parquet := _write_parquet(rows, out / "sweep.parquet")) is not None:
        result.files["parquet"] = parquet
    log = [
        {"name": j.name, "ok": j.ok, "cached": j.cached, "attempts": j.attempts, "seconds": round(j.seconds, 3)}
        | {"worker": j.worker, "error": j.error}
        for j in results
    ]
    result.files["jobs"] = _write(out / "jobs.json", json.dumps({"executor": description, "jobs": log}, indent=1))
    if plot:
        from qnncc.flow.sweep_plot import pareto_plot

        result.files["plot"] = pareto_plot(rows, out / "pareto.png")
    return result
