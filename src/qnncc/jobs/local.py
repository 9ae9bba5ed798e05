"""Local engine of :mod:`qnncc.jobs`: a process pool on this machine, sized to its cores.

A worker process that dies (killed, crashed) breaks a
:class:`~concurrent.futures.ProcessPoolExecutor`; the unfinished jobs are then
started again in a fresh pool and reported as retries.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .executor import Executor, Pending, Tracker
from .job import one_line, run_job

__all__ = ["LocalExecutor", "available_cores"]


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor(Executor):
    """Jobs in a pool of local worker processes.

    Args:
        workers: processes (default: :func:`available_cores`).
        **options: :class:`~qnncc.jobs.executor.Executor` options (cache, retries).
    """

    kind = "local"

    def __init__(self, workers: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._workers = max(1, workers or available_cores())
        #: worker pids of the pool currently running (for tests that kill one)
        self.pids: list[int] = []

    @property
    def workers(self) -> int:
        """Worker processes of the pool."""
        return self._workers

    def describe(self) -> str:
        """``local process pool, N workers``."""
        return f"local process pool, {self._workers} workers"

    def _execute(self, pending: list[Pending], tracker: Tracker) -> None:
        queue = list(pending)
        while queue:
            queue = self._round(queue, tracker)

    def _round(self, queue: list[Pending], tracker: Tracker) -> list[Pending]:
        """Run ``queue`` in one pool until it is done or breaks; return the jobs to start again."""
        again: list[Pending] = []
        # forkserver, not fork: a forked worker inherits the parent's thread pools (onnxruntime sessions,
        # a Dask IO loop) mid-state and can hang for ever when it frees them (seen in pthread_cond_destroy)
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=min(self._workers, len(queue)), mp_context=context) as pool:
            running: dict[Future[Any], Pending] = {}

            def submit(item: Pending) -> None:
                running[pool.submit(run_job, item[1].fn, item[1].args, dict(item[1].kwargs))] = item

            for item in queue:
                submit(item)
            self.pids = list(getattr(pool, "_processes", None) or {})
            broken = False
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                self.pids = list(getattr(pool, "_processes", None) or {})
                for fut in done:
                    item = running.pop(fut)
                    try:
                        ok, value, seconds, worker = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if tracker.lost(item, "a worker process died"):
                            again.append((item[0], item[1], item[2] + 1))
                        continue
                    except Exception as exc:
                        ok, value, seconds, worker = False, one_line(exc), 0.0, ""
                    retry = (item[0], item[1], item[2] + 1)
                    if tracker.outcome(item, ok, value, seconds, worker):
                        if broken:
                            again.append(retry)
                        else:
                            submit(retry)
        self.pids = []
        return again
