"""Inline engine of :mod:`qnncc.jobs`: jobs one after another in the calling process.

For debugging (breakpoints, no pickling) and for jobs that run inside another
executor's worker (a sweep point that builds: Dask workers and pool workers
should not start pools of their own).
"""

from __future__ import annotations

from .executor import Executor, Pending, Tracker
from .job import run_job

__all__ = ["InlineExecutor"]


class InlineExecutor(Executor):
    """Runs each job in this process, in order (``get_executor("inline")``)."""

    kind = "inline"

    @property
    def workers(self) -> int:
        """Always 1."""
        return 1

    def describe(self) -> str:
        """``inline (this process)``."""
        return "inline (this process)"

    def _execute(self, pending: list[Pending], tracker: Tracker) -> None:
        queue = list(pending)
        while queue:
            item = queue.pop(0)
            ok, value, seconds, worker = run_job(item[1].fn, item[1].args, item[1].kwargs)
            if tracker.outcome(item, ok, value, seconds, worker):
                queue.insert(0, (item[0], item[1], item[2] + 1))
