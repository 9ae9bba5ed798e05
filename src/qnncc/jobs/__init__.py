"""One job executor for every place qnncc runs independent jobs.

C++ simulation compiles, sweep points and other independent work are
:class:`Job` s run by an :class:`Executor`: a local process pool sized to the
cores by default, or a Dask ``distributed`` cluster when a scheduler is named
(``--scheduler tcp://HOST:PORT``, ``$QNNCC_SCHEDULER`` or
``BuildConfig(scheduler=...)``). Results are cached by content hash, progress
and failures are reported per job, and a lost worker's job is started again
elsewhere and reported, never dropped.

This package imports only :mod:`qnncc.core` (and ``distributed`` when a
cluster is used).
"""

from __future__ import annotations

import os
from typing import Any

from .cache import ResultCache, default_cache_dir
from .cluster import DaskExecutor
from .executor import EventHandler, Executor, log_event, values
from .inline import InlineExecutor
from .job import Job, JobError, JobEvent, JobResult, content_key
from .local import LocalExecutor, available_cores

__all__ = [
    "DaskExecutor",
    "EventHandler",
    "Executor",
    "InlineExecutor",
    "Job",
    "JobError",
    "JobEvent",
    "JobResult",
    "LocalExecutor",
    "ResultCache",
    "SCHEDULER_ENV",
    "available_cores",
    "content_key",
    "default_cache_dir",
    "get_executor",
    "log_event",
    "scheduler_address",
    "values",
]

#: Environment variable naming the Dask scheduler (``tcp://HOST:PORT``) when no other is given.
SCHEDULER_ENV = "QNNCC_SCHEDULER"


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler in force: ``scheduler``, else ``$QNNCC_SCHEDULER``.

    None (or ``local``) means the local pool; ``inline`` means this process.
    """
    name = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV, "")
    name = name.strip()
    return None if name in ("", "local") else name


def get_executor(scheduler: str | None = None, workers: int | None = None, **options: Any) -> Executor:
    """The executor for ``scheduler`` (see :func:`scheduler_address`).

    Args:
        scheduler: ``tcp://HOST:PORT`` of a Dask scheduler, ``local``, ``inline``
            (one job after another in this process), or None (then
            ``$QNNCC_SCHEDULER``, else the local pool).
        workers: local pool size (default: the cores); ignored for a cluster.
        **options: executor options (``cache``, ``max_attempts``, ``error_retries``).

    Returns:
        A :class:`LocalExecutor`, :class:`InlineExecutor` or :class:`DaskExecutor`
        (use it as a context manager).
    """
    address = scheduler_address(scheduler)
    if address is None:
        return LocalExecutor(workers, **options)
    if address == "inline":
        return InlineExecutor(**options)
    return DaskExecutor(address, **options)
