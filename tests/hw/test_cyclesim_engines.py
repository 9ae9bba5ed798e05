"""The compiled cycle simulator equals the Python reference on random capacities, throttled sources and timeouts.

On random capacities (deadlocking and not), throttled sources, several
frames and a cycle limit, every result of the compiled engine equals the
per-cycle Python reference: status, cycles, occupancies, frame times, stall
counts and the deadlock report (FIFO sizing relies on both engines agreeing).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_cyclesim import residual_cnn

from qnncc.hw.sim import build_network, simulate
from qnncc.hw.sim.engine import engine_available
from qnncc.hw.sim.fifo_search import search_fits, shrink_depths
from qnncc.hw.sim.fifo_sizing import size_fifos
from qnncc.hw.sim.results import UNBOUNDED


def assert_same(net, frames: int, caps, period: int = 0, limit: int | None = None) -> str:  # type: ignore[no-untyped-def]
    a = simulate(net, frames=frames, capacities=caps, source_period=period, max_cycles=limit, engine="cpp")
    b = simulate(net, frames=frames, capacities=caps, source_period=period, max_cycles=limit, engine="python")
    assert (a.status, a.cycles, a.max_occupancy) == (b.status, b.cycles, b.max_occupancy)
    np.testing.assert_array_equal(a.frame_start, b.frame_start)
    np.testing.assert_array_equal(a.frame_end, b.frame_end)
    assert a.layer_stats == b.layer_stats
    assert a.deadlock == b.deadlock
    return a.status


@pytest.mark.skipif(not engine_available(), reason="no C++ compiler")
@pytest.mark.parametrize("seed", range(6))
def test_event_driven_engine_equals_the_per_cycle_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = build_network(residual_cnn(h=int(rng.integers(4, 7)), c=4, simd=int(rng.choice([1, 2, 4]))))
    statuses = set()
    for trial in range(4):
        caps = {i: int(rng.integers(1, 40)) for i in range(len(net.streams))}
        if trial == 3:
            caps = dict.fromkeys(range(len(net.streams)), UNBOUNDED)
        period = int(rng.choice([0, 0, 50, 400]))
        statuses.add(assert_same(net, int(rng.integers(1, 4)), caps, period))
    assert statuses <= {"ok", "deadlock"}


@pytest.mark.skipif(not engine_available(), reason="no C++ compiler")
def test_both_outcomes_are_covered() -> None:
    net = build_network(residual_cnn(h=6))
    assert assert_same(net, 3, [1] * len(net.streams)) == "deadlock"
    assert assert_same(net, 3, dict.fromkeys(range(len(net.streams)), UNBOUNDED), period=300) == "ok"
    assert assert_same(net, 3, dict.fromkeys(range(len(net.streams)), 40), period=300, limit=701) == "timeout"


def test_minimisation_budget_keeps_verified_deadlock_free_depths() -> None:
    """With no time for the search (ResNet-50 has hundreds of FIFOs) the verified depths stay, and they are safe."""
    net = build_network(residual_cnn())
    full = size_fifos(net)
    assert full.unminimized == 0 and full.minimal
    hurried = size_fifos(net, minimize_seconds=0.0)
    assert hurried.unminimized == len(hurried.sized) and hurried.minimal == {}
    assert hurried.report()["unminimized_fifos"] == len(hurried.sized)
    for sizing in (full, hurried):
        check = simulate(net, frames=6, capacities=sizing.depths).check()
        assert check.interval_cycles == sizing.reference.interval_cycles
    assert hurried.depths != full.depths  # the search moved the buffering (to the narrow branch)


def test_budget_search_shrinks_the_costliest_fifos_and_stays_deadlock_free() -> None:
    """The search used when the full minimisation does not fit the budget (``shrink_depths``)."""
    net = build_network(residual_cnn())
    hurried = size_fifos(net, minimize_seconds=0.0)  # the verified depths
    ii = hurried.reference.interval_cycles
    assert ii is not None
    verified = dict(hurried.depths)
    assert any(d > 2 for d in verified.values())
    assert not search_fits(net, hurried.sized, verified, 1.0, 0.5) and search_fits(net, hurried.sized, verified, 0, 1)
    depths, minimal, spent, left = shrink_depths(net, hurried.verified.frames, hurried.sized, verified, ii, 4, "auto")
    assert spent > 0 and left == len(hurried.sized) - len(minimal) and minimal
    assert all(depths[i] <= verified[i] for i in verified)
    bits = sum(d * net.streams[i].width for i, d in depths.items() if d > 2)
    assert bits < sum(d * net.streams[i].width for i, d in verified.items() if d > 2)
    check = simulate(net, frames=6, capacities=depths).check()
    assert check.interval_cycles == ii
