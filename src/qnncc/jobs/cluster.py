"""Dask engine of :mod:`qnncc.jobs`: jobs on a ``distributed`` cluster named by its scheduler address.

Workers need the same qnncc installed (job functions are pickled by
reference). When a worker dies, the Dask scheduler re-runs its tasks on other
workers by itself; the executor asks the scheduler how often each finished
task lost its worker (``TaskState.suspicious``) and reports those re-runs. A
task the scheduler gives up on (``KilledWorker``) or loses with its
connection is started again by the executor, up to ``max_attempts``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from qnncc.core.errors import QnnccError

from .executor import Executor, Pending, Tracker
from .job import one_line, run_job

__all__ = ["DaskExecutor"]


def _suspicious(keys: list[str], dask_scheduler: Any = None) -> dict[str, int]:
    """On the scheduler: how many workers died while running each task."""
    tasks = dask_scheduler.tasks
    return {k: int(tasks[k].suspicious) for k in keys if k in tasks and tasks[k].suspicious}


def _is_lost(exc: BaseException) -> bool:
    """True for errors that mean the worker (or the connection to it) went away, not the job."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    return isinstance(exc, (KilledWorker, CommClosedError, OSError, TimeoutError))


class DaskExecutor(Executor):
    """Jobs on a Dask ``distributed`` cluster.

    Args:
        address: scheduler address such as ``tcp://HOST:PORT``.
        client: an existing ``distributed.Client`` (instead of ``address``; not closed by :meth:`close`).
        timeout: seconds to wait for the scheduler when connecting (default :attr:`connect_timeout`).
        **options: :class:`~qnncc.jobs.executor.Executor` options (cache, retries).

    Raises:
        QnnccError: if neither ``address`` nor ``client`` is given.
    """

    kind = "dask"
    #: seconds to wait for the scheduler when no ``timeout`` is given.
    connect_timeout = 10.0

    def __init__(
        self, address: str | None = None, client: Any = None, timeout: float | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        if address is None and client is None:
            raise QnnccError("a Dask executor needs a scheduler address (tcp://HOST:PORT) or a client")
        self.address = address
        self.timeout = timeout if timeout is not None else self.connect_timeout
        self._client = client
        self._own_client = client is None

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connected on first use).

        Raises:
            QnnccError: if ``distributed`` is missing or the scheduler cannot be reached.
        """
        if self._client is None:
            try:
                from distributed import Client
            except ImportError:
                raise QnnccError("a Dask scheduler was named but the 'distributed' package is not installed") from None
            try:
                self._client = Client(self.address, timeout=self.timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise QnnccError(f"cannot reach the Dask scheduler at {self.address}: {one_line(exc)}") from None
        return self._client

    @property
    def workers(self) -> int:
        """Worker threads of the cluster (asks the scheduler)."""
        info = self.client.scheduler_info(n_workers=-1)
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def describe(self) -> str:
        """One line naming the scheduler and the worker threads."""
        return f"Dask cluster {self.address or self.client.scheduler.address}, {self.workers} worker threads"

    def _submit(self, item: Pending) -> Any:
        _, job, attempt = item
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", job.name)[:60]
        key = f"qnncc-{label}-{job.key[:12]}-a{attempt}-{uuid.uuid4().hex[:8]}"
        return self.client.submit(run_job, job.fn, job.args, dict(job.kwargs), key=key, pure=False)

    def _rescheduled(self, keys: list[str]) -> dict[str, int]:
        """Times the scheduler re-ran each task after losing its worker ({} if the scheduler does not say)."""
        try:
            return dict(self.client.run_on_scheduler(_suspicious, keys))
        except Exception:  # a scheduler that refuses run_on_scheduler: re-runs stay unreported, results do not
            return {}

    def _execute(self, pending: list[Pending], tracker: Tracker) -> None:
        from distributed import as_completed

        items: dict[str, Pending] = {}
        first = []
        for item in pending:
            fut = self._submit(item)
            items[fut.key] = item
            first.append(fut)
        futures = as_completed(first)

        def again(item: Pending) -> None:
            retry = (item[0], item[1], item[2] + 1)
            new = self._submit(retry)
            items[new.key] = retry
            futures.add(new)

        for batch in futures.batches():
            finished = [f.key for f in batch if f.status == "finished"]
            rerun = self._rescheduled(finished) if finished else {}
            for fut in batch:
                item = items.pop(fut.key)
                if fut.status == "finished":
                    ok, value, seconds, worker = fut.result()
                    if tracker.outcome(item, ok, value, seconds, worker):
                        again(item)
                    elif fut.key in rerun:
                        tracker.rescheduled(item[0], item[1], rerun[fut.key], "a worker died while running it")
                    continue
                exc = fut.exception() if fut.status == "error" else None
                if exc is None or _is_lost(exc):
                    reason = f"worker lost ({one_line(exc)})" if exc is not None else f"task {fut.status}"
                    if tracker.lost(item, reason):
                        again(item)
                elif tracker.outcome(item, False, one_line(exc), 0.0, ""):  # e.g. an argument that cannot be pickled
                    again(item)
                fut.release()

    def close(self) -> None:
        """Close the client if this executor connected it."""
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None
