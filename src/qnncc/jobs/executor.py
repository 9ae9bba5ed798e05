"""The job executor interface: cache look-up, per-job progress events, retries and results in order.

:class:`Executor` holds everything the engines share; an engine
(:class:`~qnncc.jobs.local.LocalExecutor`, :class:`~qnncc.jobs.cluster.DaskExecutor`)
only starts jobs and hands each outcome to a :class:`Tracker`, which decides
whether the job is finished or goes again.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

from .cache import ResultCache
from .job import Job, JobError, JobEvent, JobResult

__all__ = ["EventHandler", "Executor", "Pending", "Tracker", "log_event"]

logger = logging.getLogger("qnncc.jobs")

EventHandler = Callable[[JobEvent], None]
#: A job waiting to run: (index in the run, job, attempt number starting at 1).
Pending = tuple[int, Job, int]


def log_event(event: JobEvent) -> None:
    """Default progress handler: failures and retries at WARNING, the rest at INFO on ``qnncc.jobs``."""
    level = logging.WARNING if event.kind in ("failed", "retry") else logging.INFO
    logger.log(level, event.line())


class Tracker:
    """Results and progress of one :meth:`Executor.run` (used by the engines).

    Args:
        total: jobs in the run.
        on_event: progress handler.
        cache: where successful cacheable results go (None: nowhere).
        max_attempts: starts allowed per job when workers are lost.
        error_retries: extra starts of a job whose function raised.
    """

    def __init__(
        self, total: int, on_event: EventHandler, cache: ResultCache | None, max_attempts: int, error_retries: int
    ) -> None:
        self.results: dict[int, JobResult] = {}
        self.total = total
        self.on_event = on_event
        self.cache = cache
        self.max_attempts = max_attempts
        self.error_retries = error_retries

    def _emit(
        self, kind: str, job: Job, attempt: int, seconds: float = 0.0, message: str = "", worker: str = ""
    ) -> None:
        self.on_event(JobEvent(kind, job.name, len(self.results), self.total, attempt, seconds, message, worker))

    def finish(self, index: int, result: JobResult, job: Job) -> None:
        """Record a final result (stored in the cache when ok) and report it."""
        self.results[index] = result
        if result.ok and result.cached:
            self._emit("cached", job, result.attempts)
            return
        if result.ok and self.cache is not None and job.cacheable:
            self.cache.put(job.key, result.value)
        kind = "done" if result.ok else "failed"
        self._emit(kind, job, result.attempts, result.seconds, result.error, result.worker)

    def outcome(self, item: Pending, ok: bool, value: Any, seconds: float, worker: str) -> bool:
        """Handle a job that ran: True if it must run again (a failure with retries left)."""
        index, job, attempt = item
        if not ok and attempt <= self.error_retries:
            self._emit("retry", job, attempt + 1, seconds, f"failed ({value}); retrying", worker)
            return True
        error = "" if ok else str(value)
        result = JobResult(job.name, job.key, ok, value if ok else None, error, attempt, False, seconds, worker)
        self.finish(index, result, job)
        return False

    def lost(self, item: Pending, reason: str) -> bool:
        """Handle a job whose worker was lost: True if it is started again, else it is recorded as failed."""
        index, job, attempt = item
        if attempt < self.max_attempts:
            self._emit("retry", job, attempt + 1, message=f"{reason}; started again elsewhere")
            return True
        error = f"{reason}; gave up after {attempt} attempts"
        self.finish(index, JobResult(job.name, job.key, False, None, error, attempt), job)
        return False

    def rescheduled(self, index: int, job: Job, times: int, reason: str) -> None:
        """Report that the engine itself re-ran a finished job ``times`` more times after losing workers."""
        result = self.results[index]
        result.attempts += times
        self._emit("retry", job, result.attempts, message=f"{reason} (re-run {times}x by the scheduler)")


class Executor(ABC):
    """Runs independent jobs; results are cached by content key, progress and failures reported per job.

    Args:
        cache: result cache (None: results are not cached).
        max_attempts: starts of a job allowed when its worker is lost (killed,
            crashed, disconnected) before it is reported failed.
        error_retries: extra starts of a job whose function raised (0: report at once;
            qnncc's jobs are deterministic, so a raise is reported, not repeated).
    """

    #: engine name for reports (``local`` or ``dask``).
    kind = "executor"

    def __init__(self, cache: ResultCache | None = None, max_attempts: int = 3, error_retries: int = 0) -> None:
        self.cache = cache
        self.max_attempts = max(1, max_attempts)
        self.error_retries = max(0, error_retries)

    @property
    @abstractmethod
    def workers(self) -> int:
        """Worker processes (or Dask worker threads) jobs can run on at once."""

    @abstractmethod
    def _execute(self, pending: list[Pending], tracker: Tracker) -> None:
        """Run ``pending`` jobs, handing each outcome to ``tracker`` until every job is finished."""

    def describe(self) -> str:
        """One line naming the engine and its size, e.g. ``local process pool, 2 workers``."""
        return f"{self.kind}, {self.workers} workers"

    def run(
        self,
        jobs: Sequence[Job],
        on_event: EventHandler | None = None,
        cache: ResultCache | bool | None = True,
    ) -> list[JobResult]:
        """Run ``jobs`` (cached results are reused) and return one result per job, in order.

        Args:
            jobs: the jobs; equal keys are run once.
            on_event: progress handler, one call per finished, cached, failed
                or retried job (default: :func:`log_event`).
            cache: True for the executor's cache, False for none, or a cache to use.

        Returns:
            One :class:`JobResult` per job; failed jobs have ``ok`` False and a
            one-line ``error`` (never dropped).
        """
        store = self.cache if cache is True else (None if cache is False else cache)
        tracker = Tracker(len(jobs), on_event or log_event, store, self.max_attempts, self.error_retries)
        first: dict[str, int] = {}
        pending: list[Pending] = []
        twins: list[tuple[int, int]] = []
        for i, job in enumerate(jobs):
            if job.key in first:
                twins.append((i, first[job.key]))
                continue
            first[job.key] = i
            hit, value = store.get(job.key) if store is not None and job.cacheable else (False, None)
            if hit:
                tracker.finish(i, JobResult(job.name, job.key, True, value, cached=True), job)
            else:
                pending.append((i, job, 1))
        if pending:
            self._execute(pending, tracker)
        for i, j in twins:
            twin = tracker.results[j]
            tracker.results[i] = JobResult(jobs[i].name, twin.key, twin.ok, twin.value, twin.error, twin.attempts, True)
        missing = [jobs[i].name for i in range(len(jobs)) if i not in tracker.results]
        if missing:  # an engine bug, never a silent drop
            raise JobError(f"the {self.kind} executor returned no result for {len(missing)} jobs: {missing[:5]}")
        return [tracker.results[i] for i in range(len(jobs))]

    def map(
        self,
        fn: Callable[..., Any],
        items: Iterable[Any],
        names: Iterable[str] | None = None,
        on_event: EventHandler | None = None,
        cacheable: bool = False,
    ) -> list[Any]:
        """``[fn(item) for item in items]`` as jobs; raises if any failed.

        Raises:
            JobError: naming every failed job and its reason.
        """
        items = list(items)
        labels = list(names) if names is not None else [f"{fn.__name__}[{i}]" for i in range(len(items))]
        jobs = [Job(fn, (item,), name=n, cacheable=cacheable) for item, n in zip(items, labels, strict=True)]
        return values(self.run(jobs, on_event, cache=cacheable))

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing
        """Release the engine's resources (processes, connections)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def values(results: Sequence[JobResult]) -> list[Any]:
    """The values of ``results``.

    Raises:
        JobError: naming every failed job and its reason, if any failed.
    """
    failed = [r for r in results if not r.ok]
    if failed:
        shown = "; ".join(f"{r.name}: {r.error}" for r in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        raise JobError(f"{len(failed)} of {len(results)} jobs failed: {shown}{more}")
    return [r.value for r in results]
