"""Depth searches of FIFO sizing (:mod:`.fifo_sizing`, steps 3 and 5): practical depths and minimisation.

Both searches keep a depth assignment only after a simulation shows it
passes (no deadlock, the unbounded interval), and rely on larger FIFOs never
slowing a dataflow down:

* :func:`minimize_depths` (the default): every FIFO starts as deep as the
  deepest, then FIFOs are shrunk widest first by bisection, so buffering
  moves to the narrowest streams that can hold it. It needs about
  ``streams * (1 + log2(deepest))`` simulations.
* :func:`shrink_depths` (when that cannot finish in the time budget, e.g.
  ResNet-50 with 250 streams and a million cycles per simulation): starting
  from the verified depths, the FIFOs holding the most bits are shrunk
  first, so every simulation the budget allows goes to the largest saving,
  and the state after each step passes.

Both stop at a ``deadline`` (``time.process_time()``, CPU seconds); FIFOs not reached keep
their verified depth.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from .engine import simulate
from .network import DEFAULT_STREAM_DEPTH, Network

__all__ = ["SRL_DEPTH", "minimize_depths", "practical_depth", "search_fits", "shrink_depths"]

Engine = Literal["auto", "cpp", "python"]
Search = tuple[dict[int, int], dict[int, int], int, int]

#: Depth of the shallowest "real" FIFO: one SRL32 per bit costs the same for any depth up to 32.
SRL_DEPTH = 32


def practical_depth(required: int) -> int:
    """Depth to build for a required occupancy.

    ``<= 2``: 2 (an ``hls::stream``/AXI link holds that, no FIFO needed);
    ``3..32``: 32; larger: the next power of two.

    Examples:
        >>> [practical_depth(n) for n in (0, 2, 3, 32, 33, 1000)]
        [2, 2, 32, 32, 64, 1024]
    """
    if required <= DEFAULT_STREAM_DEPTH:
        return DEFAULT_STREAM_DEPTH
    if required <= SRL_DEPTH:
        return SRL_DEPTH
    return 1 << (required - 1).bit_length()


def search_fits(net: Network, sized: list[int], depths: dict[int, int], sim_seconds: float, budget: float) -> bool:
    """Whether :func:`minimize_depths` is expected to finish in ``budget`` seconds.

    Its cost is about ``streams * (1 + log2(deepest))`` simulations of
    ``sim_seconds`` each (the verification run's CPU time).
    """
    deepest = max([depths[i] for i in sized] + [DEFAULT_STREAM_DEPTH])
    return len(sized) * (1 + math.log2(deepest)) * sim_seconds <= budget


def _passes(net: Network, frames: int, ii: int, engine: Engine, spent: list[int]) -> Callable[[dict[int, int]], bool]:
    def passes(trial: dict[int, int]) -> bool:
        result = simulate(net, frames, trial, engine=engine)
        spent[0] += result.cycles
        return result.ok and result.interval_cycles is not None and result.interval_cycles <= ii

    return passes


def _late(deadline: float | None) -> bool:
    return deadline is not None and time.process_time() > deadline


def minimize_depths(
    net: Network,
    frames: int,
    sized: list[int],
    depths: dict[int, int],
    ii: int,
    slack: int,
    engine: Engine,
    deadline: float | None = None,
) -> Search:
    """Shrink verified depths one FIFO at a time (widest first) until ``deadline``.

    Returns:
        Depths, minima found, cycles spent, and the number of FIFOs not reached
        before the deadline (they get back their verified depth).
    """
    verified = dict(depths)
    depths = dict(depths)
    minimal: dict[int, int] = {}
    spent = [0]
    passes = _passes(net, frames, ii, engine, spent)
    # start generous (every FIFO as deep as the deepest: passes if the verified depths do, larger FIFOs
    # never slow a dataflow down), then shrink the widest first so that buffering moves to narrow streams
    ceiling = max([depths[i] for i in sized] + [DEFAULT_STREAM_DEPTH])
    depths.update(dict.fromkeys(sized, ceiling))
    order = sorted(sized, key=lambda i: (-net.streams[i].width, i))
    for n, i in enumerate(order):
        if _late(deadline):
            left = order[n:]
            depths.update({k: verified[k] for k in left})
            return depths, minimal, spent[0], len(left)
        trial = dict(depths)
        trial[i] = DEFAULT_STREAM_DEPTH
        if passes(trial):
            depths[i] = minimal[i] = DEFAULT_STREAM_DEPTH
            continue
        lo, hi = DEFAULT_STREAM_DEPTH, ceiling  # lo fails, hi passes
        while hi - lo > 1:
            trial[i] = (lo + hi) // 2
            lo, hi = (lo, trial[i]) if passes(trial) else (trial[i], hi)
        minimal[i] = hi
        depths[i] = min(ceiling, practical_depth(hi + slack))
    return depths, minimal, spent[0], 0


def shrink_depths(
    net: Network,
    frames: int,
    sized: list[int],
    depths: dict[int, int],
    ii: int,
    slack: int,
    engine: Engine,
    deadline: float | None = None,
) -> Search:
    """Shrink verified depths, the FIFOs holding the most bits first, until ``deadline``.

    Each FIFO drops to depth 2 if that passes, else to ``practical_depth(smallest
    passing + slack)`` found by bisection between 2 and its verified depth (cut
    short at the deadline: the smallest passing depth found so far).

    Returns:
        Depths, minima found, cycles spent, and the number of sized FIFOs not
        searched (their verified depth stays).
    """
    depths = dict(depths)
    minimal: dict[int, int] = {}
    spent = [0]
    passes = _passes(net, frames, ii, engine, spent)
    order = sorted(
        (i for i in sized if depths[i] > DEFAULT_STREAM_DEPTH), key=lambda i: (-depths[i] * net.streams[i].width, i)
    )
    for i in order:
        if _late(deadline):
            break
        trial = dict(depths)
        trial[i] = DEFAULT_STREAM_DEPTH
        if passes(trial):
            depths[i] = minimal[i] = DEFAULT_STREAM_DEPTH
            continue
        lo, hi = DEFAULT_STREAM_DEPTH, depths[i]  # lo fails, hi passes (the current state)
        while hi - lo > 1 and not _late(deadline):
            trial[i] = (lo + hi) // 2
            lo, hi = (lo, trial[i]) if passes(trial) else (trial[i], hi)
        minimal[i] = hi
        depths[i] = min(depths[i], practical_depth(hi + slack))
    return depths, minimal, spent[0], len(sized) - len(minimal)
