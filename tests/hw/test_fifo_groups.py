"""FIFO sizing's smooth measure and group search (issue 16: ResNet-50 sized in bounded time).

Every depth the group search keeps must pass a simulation at the reference
interval; FIFOs it calls final must fail one step lower; the smooth measure
must not pile frames into the front FIFOs as the whole-frame throttle does.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_cyclesim import residual_cnn

import qnncc
from qnncc.hw.sim import build_network, simulate, size_fifos
from qnncc.hw.sim.engine import engine_available
from qnncc.hw.sim.fifo_groups import group_shrink, lower_depth, snap_depths, upstream_moves
from qnncc.hw.sim.fifo_sizing import fifo_resource_bits, fifo_resources
from qnncc.hw.sim.results import UNBOUNDED

needs_cxx = pytest.mark.skipif(not engine_available(), reason="no C++ compiler")


def passes(net, depths, frames, ii) -> bool:  # type: ignore[no-untyped-def]
    r = simulate(net, frames=frames, capacities=depths)
    return r.ok and r.interval_cycles is not None and r.interval_cycles <= ii


def test_lower_depth_steps_through_the_practical_depths():
    assert [lower_depth(d) for d in (2, 3, 32, 33, 64, 128, 4096)] == [2, 2, 2, 32, 32, 64, 2048]


@needs_cxx
@pytest.mark.parametrize("h", [6, 8])
def test_group_search_result_passes_and_final_fifos_cannot_go_one_step_lower(h: int) -> None:
    net = build_network(residual_cnn(h=h))
    sizing = size_fifos(net)
    ii, frames = sizing.reference.interval_cycles, sizing.verified.frames
    assert ii is not None and sizing.unminimized == 0
    assert passes(net, sizing.depths, frames, ii)
    assert passes(net, sizing.depths, 8, ii)  # and with more frames than the search simulated
    for i, d in sizing.depths.items():
        if d > 2:  # every FIFO kept is needed: one step lower fails (deadlock or a slower interval)
            assert not passes(net, {**sizing.depths, i: lower_depth(d)}, frames, ii), net.streams[i].name
    # the buffering moved onto the narrow 16-bit bypass input, off the 28-bit scaled stream
    assert sizing.depths[net.stream_index("x1")] > 2 and sizing.depths[net.stream_index("scaled")] == 2


@needs_cxx
def test_group_search_is_never_worse_than_its_start_and_keeps_the_budget() -> None:
    net = build_network(residual_cnn())
    start = size_fifos(net, minimize=False)
    ii = start.reference.interval_cycles
    assert ii is not None
    found = group_shrink(net, start.verified.frames, start.depths, ii, first=start.verified)
    assert found.finished and found.result is not None and found.simulations > 0
    assert sum(d * net.streams[i].width for i, d in found.depths.items() if d > 2) < fifo_resource_bits(start)
    assert passes(net, found.depths, start.verified.frames, ii)
    cut = group_shrink(net, start.verified.frames, start.depths, ii, deadline=0.0, first=start.verified)
    assert not cut.finished and cut.simulations == 0 and cut.result is None
    assert cut.depths == snap_depths(start.depths, start.verified)  # the free snap only


@needs_cxx
def test_snapping_to_the_occupancy_replays_the_run_exactly() -> None:
    net = build_network(residual_cnn())
    run = simulate(net, frames=4, capacities=dict.fromkeys(range(len(net.streams)), 256))
    snapped = snap_depths(dict.fromkeys(range(len(net.streams)), 256), run)
    again = simulate(net, frames=4, capacities=snapped)
    np.testing.assert_array_equal(again.frame_end, run.frame_end)
    assert again.max_occupancy == run.max_occupancy


def test_upstream_moves_only_where_fewer_bits_are_stored() -> None:
    net = build_network(residual_cnn())
    x1, scaled = net.stream_index("x1"), net.stream_index("scaled")
    depths = dict.fromkeys(range(1, len(net.streams) - 1), 2)
    assert upstream_moves(net, {**depths, scaled: 32}) == {}  # 2 + 32 words -> 64 x 16 bits: not fewer than 32 x 28
    assert upstream_moves(net, {**depths, scaled: 64}) == {}  # 128 x 16 > 64 x 28 + 2 x 16
    held = [0] * len(net.streams)
    held[scaled], held[x1] = 25, 2  # the words a run held: 27 of them fit 32 x 16 bits < 32 x 28 + 2 x 16
    assert upstream_moves(net, {**depths, scaled: 32}, held) == {scaled: (x1, 32)}
    assert upstream_moves(net, {**depths, x1: 32}) == {}  # x1's producer is the fork (two outputs)


@needs_cxx
def test_smooth_measure_piles_up_less_than_whole_frames_and_both_are_verified() -> None:
    net = build_network(residual_cnn(h=8))
    sized = list(range(1, len(net.streams) - 1))
    ref = simulate(net, 4, dict.fromkeys(sized, UNBOUNDED))
    period = max(ref.frame_intervals[-2:])
    smooth = simulate(net, 4, dict.fromkeys(sized, UNBOUNDED), source_period=period, smooth_source=True)
    frames = simulate(net, 4, dict.fromkeys(sized, UNBOUNDED), source_period=period)
    assert smooth.ok and frames.ok
    assert sum(smooth.max_occupancy[i] for i in sized) < sum(frames.max_occupancy[i] for i in sized)
    # the source is spread: its frames start on the period, its words evenly over it
    src = next(k for k, la in enumerate(net.layers) if la.op_type == "Source")
    assert list(smooth.frame_start[src]) == [f * period for f in range(4)]
    assert smooth.layer_stats[src].active == 4 * net.streams[net.layers[src].outputs[0]].words
    for measure in ("smooth", "frames"):
        s = size_fifos(net, measure=measure, minimize=False)
        assert passes(net, s.depths, s.verified.frames, s.reference.interval_cycles)


@needs_cxx
def test_fifo_resources_count_what_set_fifo_depths_builds() -> None:
    net = build_network(residual_cnn())
    x1 = net.stream_index("x1")
    small = fifo_resources(net, {x1: 32})
    assert small["BRAM_18K"] == 0 and small["LUT"] > 0  # 32 x 16 bits: shift registers
    big = fifo_resources(net, {x1: 4096})
    assert big["BRAM_18K"] >= 4  # 64 Kbit in block RAM
    assert fifo_resources(net, {x1: 2}) == {"LUT": 0.0, "FF": 0.0, "BRAM_18K": 0.0, "URAM": 0.0}


@needs_cxx
def test_sized_model_executes_as_before() -> None:
    from qnncc.transforms.hw import SetFIFODepths

    model = residual_cnn()
    sized = model.transform(SetFIFODepths(), copy=True)
    x = np.random.default_rng(5).integers(-8, 8, (3, 8, 8, 4)).astype(np.float32)
    np.testing.assert_array_equal(qnncc.execute(model, {"x": x})["y"], qnncc.execute(sized, {"x": x})["y"])


@needs_cxx
def test_partitions_sized_as_parallel_jobs_equal_one_by_one() -> None:
    from qnncc.transforms.hw import SetFIFODepths

    from qnncc.flow.fifo_jobs import size_partitions

    kids = [residual_cnn(h=6), residual_cnn(h=8)]
    sized = size_partitions(kids)  # the local process pool, one job per partition
    assert len(sized) == 2
    for kid, (got, report) in zip(kids, sized, strict=True):
        sizer = SetFIFODepths()
        want = kid.transform(sizer, copy=True)
        assert report is not None and sizer.result is not None
        assert report["interval_cycles"] == sizer.result.interval_cycles
        assert report["fifos"] == sizer.result.report()["fifos"]

        def depths(m):  # type: ignore[no-untyped-def]
            return {n.name: m.get_nodeattr(n, "depth") for n in m.graph.node if n.op_type == "StreamingFIFO"}

        assert depths(got) == depths(want) and depths(got)
