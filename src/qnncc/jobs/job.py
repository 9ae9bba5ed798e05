"""Jobs, their results and progress events: the vocabulary of :mod:`qnncc.jobs`.

A job is a picklable call ``fn(*args, **kwargs)`` of a module-level function
(pickled by reference, so local processes and Dask workers with the same qnncc
installed can run it), named for reporting and keyed by the SHA-256 of its
content so its result can be cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnncc.core.errors import QnnccError

__all__ = ["Job", "JobError", "JobEvent", "JobResult", "content_key", "run_job"]


class JobError(QnnccError):
    """One or more jobs failed (each failure is named with its one-line reason)."""


def _encode(value: Any) -> Any:
    """JSON stand-in for values ``json`` cannot encode (paths, bytes, tuples of them, objects)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    return "pickle:" + hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest()


def content_key(*parts: Any) -> str:
    """SHA-256 (hex) of ``parts``: JSON with sorted keys (paths as text, bytes and other objects by hash).

    Callers put everything the result depends on into ``parts`` (inputs'
    contents, options, tool versions) so equal keys mean equal results.
    """
    text = json.dumps(parts, sort_keys=True, default=_encode, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Job:
    """One independent unit of work.

    Attributes:
        fn: a module-level function (pickled by reference).
        args: positional arguments (picklable).
        kwargs: keyword arguments (picklable).
        name: what progress and failure reports call the job.
        key: content hash identifying the result (default: hash of the
            function's qualified name and the arguments, :func:`content_key`).
        cacheable: whether the executor may store and reuse the result.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    key: str = ""
    cacheable: bool = True

    def __post_init__(self) -> None:
        if not self.key:
            ref = f"{self.fn.__module__}.{self.fn.__qualname__}"
            object.__setattr__(self, "key", content_key(ref, list(self.args), dict(self.kwargs)))
        if not self.name:
            object.__setattr__(self, "name", f"{self.fn.__name__}-{self.key[:8]}")


@dataclass
class JobResult:
    """Outcome of one job.

    Attributes:
        name: the job's name.
        key: the job's content key.
        ok: True if the function returned.
        value: its return value (None on failure).
        error: one-line reason of the failure ("" when ok).
        attempts: times the job was started (> 1 after a lost worker or a retried failure).
        cached: True if the value came from the result cache (not run).
        seconds: wall-clock time of the successful (or last) run, s.
        worker: ``host:pid`` of the process that ran it.
    """

    name: str
    key: str
    ok: bool
    value: Any = None
    error: str = ""
    attempts: int = 1
    cached: bool = False
    seconds: float = 0.0
    worker: str = ""


@dataclass(frozen=True)
class JobEvent:
    """Progress report of one job.

    Attributes:
        kind: ``cached``, ``done``, ``failed`` or ``retry`` (the job is run again
            after its worker was lost or it failed).
        name: the job's name.
        done: jobs finished so far (including cached and failed ones).
        total: jobs in the run.
        attempt: the attempt this event concerns (1 = first run).
        seconds: the job's run time, s (``done``/``failed``).
        message: reason of a failure or retry.
        worker: ``host:pid`` or worker address.
    """

    kind: str
    name: str
    done: int
    total: int
    attempt: int = 1
    seconds: float = 0.0
    message: str = ""
    worker: str = ""

    def line(self) -> str:
        """One readable line: ``[done/total] kind name (seconds, worker): message``."""
        extra = f" ({self.seconds:.2f} s{', ' + self.worker if self.worker else ''})" if self.seconds else ""
        note = f" attempt {self.attempt}" if self.attempt > 1 else ""
        msg = f": {self.message}" if self.message else ""
        return f"[{self.done}/{self.total}] {self.kind:<6} {self.name}{note}{extra}{msg}"


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (the last frame for errors without a message)."""
    text = " ".join(str(exc).split())
    if not text:
        frames = traceback.extract_tb(exc.__traceback__)
        text = f"at {frames[-1].filename}:{frames[-1].lineno}" if frames else "no message"
    return f"{type(exc).__name__}: {text}"


def run_job(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[bool, Any, float, str]:
    """Run one job in a worker: ``(ok, value or one-line error, seconds, host:pid)``.

    Exceptions of the job become results, so the executor tells a failing job
    (reported, not retried by default) from a lost worker (retried).
    """
    start = time.perf_counter()
    where = f"{socket.gethostname()}:{os.getpid()}"
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        return False, one_line(exc), time.perf_counter() - start, where
    return True, value, time.perf_counter() - start, where
