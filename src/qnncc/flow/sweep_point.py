"""One point of a sweep as a job: quantize (optional), estimate, build and verify (optional) -> a table row.

:func:`estimate_point` is the job function (module level, so pool and Dask
workers import it); :func:`point_job` keys it by the content of everything the
row depends on, which makes sweeps resumable through the result cache.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.flow.config import PIPELINE_STEPS
from qnncc.flow.estimate import estimate_context, finish_estimate
from qnncc.flow.runner import run_steps
from qnncc.jobs import Job, content_key
from qnncc.version import __version__

__all__ = ["COLUMNS", "estimate_point", "file_hash", "point_job", "public"]

#: Columns of the sweep table, in order (resources are the worst partition's, as ``qnncc estimate``;
#: ``build``, ``bit_exact`` and ``accuracy`` are filled when the sweep builds and verifies).
COLUMNS = (
    "point",
    "model",
    "quant_format",
    "board",
    "clock_ns",
    "target_fps",
    "folding",
    "status",
    "error",
    "fps",
    "latency_us",
    "interval_cycles",
    "LUT",
    "FF",
    "BRAM_18K",
    "URAM",
    "DSP",
    "fits",
    "partitions",
    "bottleneck",
    "build",
    "bit_exact",
    "accuracy",
)

#: Point keys holding file paths (shown as ``folder/name``, hashed into the job key).
FILE_KEYS = ("model", "folding", "calib", "verify_data")


def file_hash(path: Path) -> str:
    """SHA-256 of a sweep input file.

    Raises:
        QnnccError: if it cannot be read.
    """
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise QnnccError(f"sweep input {path} cannot be read: {exc.strerror}") from None


def public(point: dict[str, Any]) -> dict[str, Any]:
    """The point as the table shows it (``folder/name`` instead of absolute paths)."""
    out = dict(point)
    for key in FILE_KEYS:
        if out.get(key):
            path = Path(out[key])
            out[key] = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return out


def _empty_row(point: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update({k: v for k, v in public(point).items() if k in COLUMNS and k != "build"})
    return row


@functools.lru_cache(maxsize=8)
def _source_model(model: str, digest: str, scale: str | None, fmt: str | None, calib: tuple[str, str | None]) -> Any:
    """The model file, or its post-training quantized copy for ``fmt`` (memoised per process; ``digest`` keys it)."""
    if not fmt:
        return model
    from qnncc.analysis import load_npz, quantize
    from qnncc.flow.estimate import parse_scale
    from qnncc.ingest import load

    loaded = load(model)
    return quantize(loaded, fmt, load_npz(calib[0], loaded, calib[1], parse_scale(scale)).images)


@functools.lru_cache(maxsize=8)
def _hw_model(
    model: str, digest: str, scale: str | None, fmt: str | None, calib: tuple[str, str | None]
) -> tuple[Any, dict[str, Any]]:
    """The unfolded HW model of a point's model and the step state (memoised per worker process: points share it).

    Runs the build's steps ``load`` and the HW pipeline with the flows' runner.
    """
    ctx = estimate_context(
        _source_model(model, digest, scale, fmt, calib), get_board("Pynq-Z1"), 10.0, input_scale=scale
    )
    work, _ = run_steps(["load", *PIPELINE_STEPS], ctx, None)
    return work, dict(ctx.state)


def estimate_point(point: dict[str, Any], build_root: str | None = None) -> dict[str, Any]:
    """One sweep point (a job): quantize if asked, estimate, optionally build and verify; its table row.

    The figures are those of :func:`qnncc.estimate.estimate` with the point's
    options; the HW model before folding is shared by the points of a model
    that run in the same worker process. With ``point["build"]`` a design that
    fits is built by :func:`qnncc.build` into ``<build_root>/<point id>``
    (C++ simulation of ``verify_data`` included; its compiles run inline, in
    this worker).

    A :class:`~qnncc.core.errors.QnnccError` (unreachable target, unsupported
    model, failing build, ...) is a result of the point: the row says
    ``error`` and the message; any other exception fails the job.
    """
    row = _empty_row(point)
    board = get_board(point["board"])
    clock = point.get("clock_ns") or board.default_clk_ns
    row["clock_ns"] = clock
    digest = file_hash(Path(point["model"]))
    calib = (point.get("calib") or "", point.get("calib_items"))
    memo = (point["model"], digest, point.get("input_scale"), point.get("quant_format"), calib)
    try:
        base, state = _hw_model(*memo)
        ctx = estimate_context(
            point["model"], board, clock, point.get("folding"), point.get("target_fps"), point.get("input_scale")
        )
        ctx.state.update(state)
        work, _ = run_steps(["fold", "partition"], ctx, base.copy())  # the build's steps, the flows' runner
        assert work is not None
        notes = ctx.notes
        unmatched, splits = ctx.state.get("unmatched_folding_keys") or [], ctx.state.get("splits") or {}
        result = finish_estimate(work, board, clock, splits, unmatched=unmatched)
    except QnnccError as exc:
        row.update(status="error", error=" ".join(str(exc).split())[:300])
        return row
    perf = result.reports["estimate_network_performance.json"]
    used = {k: round(float(v), 1) for k, v in result.fit.used.items()}
    fps = float(perf["estimated_throughput_fps"])
    target = point.get("target_fps")
    # an unreachable target is folded as fast as possible: the row keeps that design and says so
    short = target is not None and point.get("folding") is None and fps < float(target) * (1 - 1e-9)
    row.update(
        status="short" if short else "ok",
        error=" ".join(" ".join(notes).split())[:300] if short else "",
        fps=round(fps, 3),
        latency_us=round(float(perf["estimated_latency_ns"]) / 1e3, 4),
        interval_cycles=int(result.partition.interval_cycles),
        fits=bool(result.fit.fits),
        partitions=len(result.partitions),
        bottleneck=result.partition.bottleneck,
        **{k: used[k] for k in ("LUT", "FF", "BRAM_18K", "URAM", "DSP")},
    )
    if point.get("build") and not short:  # a point short of its target is not built
        row.update(_build_point(point, _source_model(*memo), Path(build_root or "points"), row))
    return row


def _build_point(point: dict[str, Any], model: Any, root: Path, row: dict[str, Any]) -> dict[str, Any]:
    """Build (and verify) one estimated point: the ``build``, ``bit_exact`` and ``accuracy`` cells."""
    from qnncc.flow.build import build
    from qnncc.flow.config import make_build_config

    if not row["fits"] or row["partitions"] != 1:
        return {"build": "skipped: does not fit one partition"}
    out = root / str(point["point"])
    config = make_build_config(
        f"sweep point {point['point']}",
        output_dir=out,
        board=point["board"],
        clock_ns=point.get("clock_ns"),
        folding=point.get("folding"),
        target_fps=point.get("target_fps") if point.get("folding") is None else None,
        input_scale=point.get("input_scale"),
        verify_data=point.get("verify_data"),
        verify_count=point.get("verify_count"),
        scheduler="inline",
    )
    try:
        result = build(model, config)
    except QnnccError as exc:
        return {"build": "error: " + " ".join(str(exc).split())[:300]}
    cells: dict[str, Any] = {"build": f"{root.name}/{out.name}"}
    if result.verification is not None:
        cells["bit_exact"] = bool(result.verification["bit_exact"])
        if "accuracy" in result.verification:
            cells["accuracy"] = round(float(result.verification["accuracy"]), 6)
    return cells


def point_job(point: dict[str, Any], build_root: Path | None = None) -> Job:
    """The job of one point, keyed by the point and the contents of the files it reads.

    ``build_root`` (where builds go) is not part of the key.
    """
    files = [file_hash(Path(point[k])) for k in FILE_KEYS if point.get(k)]
    key = content_key("qnncc-sweep-point/2", __version__, public(point), files)
    label = f"{Path(point['model']).parent.name}/{point['board']}"
    detail = point["quant_format"] or ""
    target = point["target_fps"] if point["folding"] is None else Path(point["folding"]).name
    name = f"{label}/{detail}{'/' if detail else ''}{target}"
    return Job(estimate_point, (point, str(build_root) if build_root else None), name=name, key=key)
