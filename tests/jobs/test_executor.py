"""qnncc.jobs: results in order, per-job events, failures reported, content-hash cache, lost workers retried."""

from __future__ import annotations

import math
import os
import signal
import time
from typing import Any

import pytest

from qnncc.core.errors import QnnccError
from qnncc.jobs import (
    DaskExecutor,
    Job,
    JobError,
    JobEvent,
    LocalExecutor,
    ResultCache,
    content_key,
    get_executor,
)


def _jobs() -> list[Job]:
    return [Job(math.factorial, (n,)) for n in (5, 10, 3)] + [Job(math.sqrt, (-1.0,), name="bad-sqrt")]


def _check_results(results: list[Any], events: list[JobEvent]) -> None:
    assert [r.ok for r in results] == [True, True, True, False]
    assert [r.value for r in results[:3]] == [120, 3628800, 6]
    assert results[3].error.startswith("ValueError") and results[3].value is None
    assert sorted(e.kind for e in events) == ["done", "done", "done", "failed"]
    assert {e.total for e in events} == {4} and max(e.done for e in events) == 4
    assert next(e for e in events if e.kind == "failed").name == "bad-sqrt"


def test_local_executor_results_events_and_failures() -> None:
    events: list[JobEvent] = []
    with LocalExecutor(2) as ex:
        results = ex.run(_jobs(), events.append, cache=False)
        _check_results(results, events)
        with pytest.raises(JobError, match=r"1 of 2 jobs failed: .*ValueError"):
            ex.map(math.sqrt, [4.0, -1.0])
        assert ex.map(math.sqrt, [4.0, 9.0]) == [2.0, 3.0]


def test_cache_by_content_key(tmp_path: Any) -> None:
    cache = ResultCache(tmp_path / "cache")
    with LocalExecutor(2, cache=cache) as ex:
        first = ex.run(_jobs(), lambda e: None)
        events: list[JobEvent] = []
        again = ex.run([*_jobs(), Job(math.factorial, (6,))], events.append)
    assert [r.cached for r in first] == [False] * 4
    # successes come from the cache, the failure runs again, the new job runs
    assert [r.cached for r in again] == [True, True, True, False, False]
    assert [r.value for r in again] == [120, 3628800, 6, None, 720]
    assert [e.kind for e in events].count("cached") == 3
    assert len(cache) == 4
    assert content_key("a", {"x": 1, "y": 2}) == content_key("a", {"y": 2, "x": 1})
    assert content_key("a", 1) != content_key("a", 2)


def test_equal_keys_run_once() -> None:
    events: list[JobEvent] = []
    with LocalExecutor(1) as ex:
        results = ex.run([Job(math.factorial, (7,)), Job(math.factorial, (7,))], events.append, cache=False)
    assert [r.value for r in results] == [5040, 5040] and len(events) == 1


def test_error_retries_reported() -> None:
    events: list[JobEvent] = []
    with LocalExecutor(1, error_retries=2) as ex:
        (result,) = ex.run([Job(math.sqrt, (-1.0,), name="bad")], events.append, cache=False)
    assert not result.ok and result.attempts == 3
    assert [e.kind for e in events] == ["retry", "retry", "failed"]


def test_local_worker_killed_mid_run_loses_no_job() -> None:
    """SIGKILL one pool process while jobs run: every job still finishes, the restarts are reported."""
    events: list[JobEvent] = []
    killed: list[int] = []
    ex = LocalExecutor(2)

    def on_event(event: JobEvent) -> None:
        events.append(event)
        if event.kind == "done" and not killed and ex.pids:
            killed.append(ex.pids[0])
            os.kill(ex.pids[0], signal.SIGKILL)

    jobs = [Job(time.sleep, (0.2 + i / 1000,), name=f"sleep{i}", cacheable=False) for i in range(8)]
    results = ex.run(jobs, on_event)
    assert killed, "no worker was killed"
    assert all(r.ok for r in results) and len(results) == 8
    assert any(r.attempts > 1 for r in results)
    assert any(e.kind == "retry" and "worker process died" in e.message for e in events)


def test_get_executor_from_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QNNCC_SCHEDULER", raising=False)
    assert isinstance(get_executor(), LocalExecutor)
    assert get_executor(workers=3).workers == 3
    monkeypatch.setenv("QNNCC_SCHEDULER", "tcp://127.0.0.1:1")
    ex = get_executor()
    assert isinstance(ex, DaskExecutor) and ex.address == "tcp://127.0.0.1:1"
    assert isinstance(get_executor("local"), LocalExecutor)


def test_unreachable_scheduler_is_one_clear_error() -> None:
    pytest.importorskip("distributed")
    ex = DaskExecutor("tcp://127.0.0.1:9", timeout=1)
    with pytest.raises(QnnccError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        ex.run([Job(math.factorial, (3,))])


def test_dask_executor_same_results(dask_cluster: Any) -> None:
    events: list[JobEvent] = []
    with DaskExecutor(dask_cluster.scheduler_address) as ex:
        assert ex.workers == 2
        results = ex.run(_jobs(), events.append, cache=False)
    _check_results(results, events)
    assert {r.worker.rsplit(":", 1)[1] for r in results[:3]} != {str(os.getpid())}  # ran in worker processes
    retried: list[JobEvent] = []
    with DaskExecutor(dask_cluster.scheduler_address, error_retries=1) as ex:
        (bad,) = ex.run([Job(math.sqrt, (-2.0,), name="bad")], retried.append, cache=False)
    assert not bad.ok and bad.attempts == 2 and [e.kind for e in retried] == ["retry", "failed"]


def test_jobs_package_imports_only_core() -> None:
    """qnncc.jobs is a low floor: it may import qnncc.core (and distributed, lazily), nothing else of qnncc."""
    import ast
    from pathlib import Path

    import qnncc.jobs

    for path in Path(qnncc.jobs.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("qnncc") or name.startswith("qnncc.core"), f"{path.name} imports {name}"
