"""Group search of FIFO sizing (:mod:`.fifo_sizing`, step 5): many FIFOs shrunk per simulation.

:func:`group_shrink` lowers the depths of a passing assignment (no deadlock,
the reference interval) by testing whole groups of FIFOs in one simulation,
instead of bisecting one FIFO at a time (:func:`.fifo_search.minimize_depths`,
``streams * log2(depth)`` simulations, far too many for ResNet-50's 250
streams at a second per simulation):

1. **snap**: after every passing run each FIFO drops to
   :func:`~.fifo_search.practical_depth` of its maximum occupancy in that
   run (no simulation needed: a FIFO that never fills does not change the
   schedule, so the run replays exactly with the smaller depths).
2. **group test**: every FIFO deeper than 2 is lowered one step at once (a
   power of two halves, 32 drops to 2). If that passes, all are kept;
   if not, the group is split and each part tried on its own: after a
   slower run the lowered FIFOs that never filled (they did not hold
   anything back) form one part, the ones that ran full the other; after a
   deadlock, or when one part would be empty, halves. A single FIFO that
   fails keeps its depth.
   A trial is cut short (and fails) when it runs half an interval longer
   than the passing run it starts from; a trial already run is not run again.
3. **move**: before each round of lowering, buffering moves upstream where
   that stores fewer bits: a FIFO behind a one-input, one-output layer
   that reads fewer bits per frame than it writes (e.g. a ChannelwiseOp
   widening 4-bit words to 7-bit ones on a residual bypass) goes onto the
   layer's input stream (its words scaled by the words-per-frame ratio),
   all such moves tested as one group and split like step 2.
4. rounds repeat while some FIFO was lowered and the CPU-time budget lasts.

Every accepted assignment is one that a simulation passed, so the result is
verified as it stands (a larger FIFO never slows a dataflow down, and the
snap replays a passing run). With ``k`` FIFOs that cannot shrink among
``n`` a round costs about ``1 + 2 k log2(n / k)`` simulations instead of
``n log2(depth)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .engine import simulate
from .fifo_search import SRL_DEPTH, practical_depth
from .network import DEFAULT_STREAM_DEPTH, Network
from .results import SimResult

__all__ = ["GroupSearch", "group_shrink", "lower_depth", "snap_depths"]


def lower_depth(depth: int) -> int:
    """The next smaller practical depth: half of a power of two above 32, else 2 (no FIFO).

    Examples:
        >>> [lower_depth(d) for d in (2, 32, 64, 1024)]
        [2, 2, 32, 512]
    """
    if depth <= SRL_DEPTH:
        return DEFAULT_STREAM_DEPTH
    return max(SRL_DEPTH, practical_depth(depth) // 2)


def snap_depths(depths: dict[int, int], result: SimResult) -> dict[int, int]:
    """Each depth lowered to :func:`practical_depth` of its maximum occupancy in a passing ``result``."""
    return {i: min(d, practical_depth(result.max_occupancy[i])) for i, d in depths.items()}


@dataclass
class GroupSearch:
    """Outcome of :func:`group_shrink`.

    Attributes:
        depths: the smallest passing depths found, per sized stream.
        result: the passing simulation of ``depths`` (None if no trial passed:
            the input depths and their own verification stand).
        simulations: simulations run.
        cycles: cycles simulated.
        final: streams whose depth a failing trial showed cannot be lowered one more step.
        finished: whether the search ended by itself (not cut short by the budget).
    """

    depths: dict[int, int]
    result: SimResult | None
    simulations: int
    cycles: int
    final: set[int]
    finished: bool


def upstream_moves(
    net: Network, depths: dict[int, int], held: Sequence[int] | None = None
) -> dict[int, tuple[int, int]]:
    """FIFOs that would store fewer bits one layer upstream: ``{stream: (upstream stream, its new depth)}``.

    A stream qualifies when its producer is a HW layer with one input and one
    output, the input stream is sized too and carries fewer bits per frame,
    and moving the words it held (``held``: maximum occupancy per stream in
    a passing run, default the depths; scaled by ``in_words / out_words``)
    onto the upstream FIFO's own makes a cheaper pair of FIFOs.
    """
    moves: dict[int, tuple[int, int]] = {}
    for i, d in depths.items():
        if d <= DEFAULT_STREAM_DEPTH:
            continue
        layer = net.layers[net.streams[i].producer]
        if layer.is_io or len(layer.inputs) != 1 or len(layer.outputs) != 1 or layer.inputs[0] not in depths:
            continue
        up, out = net.streams[layer.inputs[0]], net.streams[i]
        if up.width * up.words >= out.width * out.words:
            continue
        j = layer.inputs[0]
        words_i, words_j = (depths[i], depths[j]) if held is None else (held[i], held[j])
        moved = practical_depth(words_j + -(-words_i * up.words // out.words))
        if moved * up.width < d * out.width + depths[j] * up.width:
            moves[i] = (j, moved)
    return moves


def _split(group: Sequence[int], trial: dict[int, int], failed: SimResult) -> list[list[int]]:
    """The parts of a failing group to try next.

    After a slower run, the FIFOs that never filled first, then the ones that
    ran full; after a deadlock (the run stopped early, so occupancies say
    little) or when one part would be empty, halves in cost order.
    """
    idle = [i for i in group if failed.max_occupancy[i] < trial[i]]
    full = [i for i in group if failed.max_occupancy[i] >= trial[i]]
    if idle and full and failed.status != "deadlock":
        return [idle, full]
    half = len(group) // 2
    return [list(group[:half]), list(group[half:])]


def group_shrink(
    net: Network,
    frames: int,
    depths: dict[int, int],
    ii: int,
    engine: Literal["auto", "cpp", "python"] = "auto",
    deadline: float | None = None,
    first: SimResult | None = None,
) -> GroupSearch:
    """Lower passing FIFO depths by group tests (see the module docstring).

    Args:
        net: the network.
        frames: frames per simulation (as the reference run).
        depths: passing depths per sized stream (the verification's).
        ii: the reference interval the trials must keep.
        engine: simulation engine.
        deadline: ``time.process_time()`` after which no new trial starts.
        first: the passing run of ``depths`` (its occupancies are snapped first).

    Returns:
        The :class:`GroupSearch`.
    """
    depths = dict(depths)
    best: SimResult | None = None
    if first is not None:
        depths = snap_depths(depths, first)
    spent = [0, 0]

    # a trial that passes ends about when the passing run did: one running half an interval longer is
    # cut short and fails (it is slower or has more latency), which saves most of a slow run
    limit = None if first is None else first.cycles + ii // 2
    seen: dict[tuple[tuple[int, int], ...], SimResult] = {}  # groups of later rounds repeat trials

    def run(trial: dict[int, int]) -> SimResult:
        key = tuple(sorted(trial.items()))
        if key not in seen:
            seen[key] = simulate(net, frames, trial, engine=engine, max_cycles=limit)
            spent[0] += 1
            spent[1] += seen[key].cycles
        return seen[key]

    def passes(result: SimResult) -> bool:
        return result.ok and result.interval_cycles is not None and result.interval_cycles <= ii

    def late() -> bool:
        return deadline is not None and time.process_time() > deadline

    final: set[int] = set()
    finished = True

    stuck: set[int] = set()  # FIFOs whose move failed on its own

    def held() -> list[int] | None:  # words each stream held in the latest passing run
        latest = best or first
        return None if latest is None else latest.max_occupancy

    def move_up() -> None:  # step 3: one group of moves, split on failure
        nonlocal depths, best
        groups = [sorted(upstream_moves(net, depths, held()))]
        while groups and not late():
            moves = upstream_moves(net, depths, held())
            # a FIFO whose upstream FIFO moves too waits for it (no chains in one trial)
            group = [i for i in groups.pop(0) if i in moves and i not in stuck]
            group = [i for i in group if moves[i][0] not in moves or moves[i][0] in stuck]
            if not group:
                continue
            trial = dict(depths)
            for i in group:
                trial[i], (j, moved) = DEFAULT_STREAM_DEPTH, moves[i]
                trial[j] = moved
            result = run(trial)
            if passes(result):
                depths, best = snap_depths(trial, result), result
                groups.insert(0, sorted(upstream_moves(net, depths, held())))  # moved FIFOs may move on
            elif len(group) > 1:
                half = len(group) // 2
                groups[:0] = [group[:half], group[half:]]
            else:
                stuck.add(group[0])

    while True:
        move_up()
        pending = sorted(
            (i for i in depths if depths[i] > DEFAULT_STREAM_DEPTH and i not in final),
            key=lambda i: (-depths[i] * net.streams[i].width, i),
        )
        if not pending:
            break
        lowered = False
        groups: list[list[int]] = [pending]
        while groups:
            if late():
                finished = False
                break
            group = groups.pop(0)
            trial = dict(depths)
            trial.update({i: lower_depth(depths[i]) for i in group})
            result = run(trial)
            if passes(result):
                depths, best, lowered = snap_depths(trial, result), result, True
            elif len(group) == 1:
                final.add(group[0])
            else:
                groups[:0] = _split(group, trial, result)
        if not finished or not lowered:
            break
    return GroupSearch(depths, best, spent[0], spent[1], final, finished)
