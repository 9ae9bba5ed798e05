"""Channel padding choice (qnncc.hw.padding_opt): exact against brute force; LFC at 100k FPS in the resources mode."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnncc.estimate import estimate
from qnncc.hw.layers.base import divisors
from qnncc.hw.padding_opt import ChainLayer, choose_padding, min_lanes, padding_chains

LFC = Path(__file__).resolve().parent.parent / "data" / "lfc_w1a1" / "LFCW1A1.onnx"


def brute_lanes(mw: int, mh: int, max_cycles: int) -> int | None:
    lanes = [p * s for p in divisors(mh) for s in divisors(mw) if (mw // s) * (mh // p) <= max_cycles]
    return min(lanes) if lanes else None


@given(mw=st.integers(1, 300), mh=st.integers(1, 300), max_cycles=st.integers(0, 2000))
def test_min_lanes_is_the_fewest_legal_lanes(mw: int, mh: int, max_cycles: int) -> None:
    assert min_lanes(mw, mh, max_cycles) == brute_lanes(mw, mh, max_cycles)


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.integers(4, 60), min_size=3, max_size=4),
    vectors=st.lists(st.sampled_from([1, 1, 4]), min_size=3, max_size=3),
    drain=st.integers(0, 6),
    max_cycles=st.integers(8, 400),
    max_pad=st.sampled_from([0.0, 0.1, 0.25]),
)
def test_choose_padding_is_optimal(
    dims: list[int], vectors: list[int], drain: int, max_cycles: int, max_pad: float
) -> None:
    layers = [ChainLayer(f"L{i}", a, b, vectors[i], drain) for i, (a, b) in enumerate(itertools.pairwise(dims))]
    got = choose_padding(layers, max_cycles, max_pad)
    ranges = [range(c, math.floor(c * (1 + max_pad)) + 1) for c in dims[1:-1]]
    best = None
    for counts in itertools.product(*ranges):
        full = [dims[0], *counts, dims[-1]]
        budgets = [(max_cycles - drain) // layer.vectors for layer in layers]
        lanes = [min_lanes(full[i], full[i + 1], budgets[i]) for i in range(len(layers))]
        if None not in lanes:
            cost = (sum(lanes), sum(counts) - sum(dims[1:-1]))  # type: ignore[arg-type]
            best = cost if best is None or cost < best else best
    if best is None:
        assert got is None
        return
    assert got is not None
    counts, lanes = got
    assert lanes == best[0] and sum(counts) - sum(dims[1:-1]) == best[1]
    assert all(c >= d for c, d in zip(counts, dims[1:-1], strict=True))


def test_padding_chains_follow_the_stream() -> None:
    links = [("b", "L1", "L2"), ("a", "L0", "L1"), ("z", "X0", "X1")]
    assert padding_chains(links) == [[("a", "L0"), ("b", "L1")], [("z", "X0")]]


def test_lfc_1024_needs_2048_lanes_unpadded_and_1092_padded() -> None:
    assert min_lanes(1024, 1024, 1000) == 2048
    assert min_lanes(1050, 1040, 1000) == 1092
    layers = [ChainLayer("0", 784, 1024, 1), ChainLayer("1", 1024, 1024, 1), ChainLayer("2", 1024, 1024, 1)]
    assert choose_padding([*layers, ChainLayer("3", 1024, 10, 1)], 1000, 0.0) == ([1024] * 3, 5008)


@pytest.fixture(scope="module")
def lfc_100k():
    common = {"board": "Pynq-Z1", "input_scale": "1/255", "target_fps": 100_000, "folding_mode": "resources"}
    return estimate(LFC, **common), estimate(LFC, pad_channels=False, **common)


def test_lfc_resources_mode_pads_for_fewer_luts(lfc_100k) -> None:
    padded, plain = lfc_100k
    assert padded.partition.interval_cycles <= 1000 and plain.partition.interval_cycles <= 1000
    assert {k: v.get("MH") for k, v in padded.folding.items() if k.startswith("MVAU")}["MVAU_1"] > 1024
    assert not any("MH" in v for v in plain.folding.values())
    lanes = [v["PE"] * v["SIMD"] for k, v in padded.folding.items() if k.startswith("MVAU")]
    plain_lanes = [v["PE"] * v["SIMD"] for k, v in plain.folding.items() if k.startswith("MVAU")]
    assert sum(lanes) < 0.75 * sum(plain_lanes)  # 5,008 XNOR lanes without padding, 3,234 with
    assert any("channels padded" in note for note in padded.folding_notes)
    assert padded.fit.fits


def test_padding_is_off_without_a_target() -> None:
    fastest = estimate(LFC, board="Pynq-Z1", input_scale="1/255", folding_mode="resources")
    assert not any("MH" in v for v in fastest.folding.values())


def test_small_savings_do_not_pad() -> None:
    from qnncc.data import demo_model_path

    # TFC at 100k FPS: padding 64 -> 65 channels saves 3 of 73 lanes, below MIN_PAD_SAVING in the fitted model
    result = estimate(demo_model_path(), target_fps=100_000, folding_mode="resources")
    assert not any("MH" in v for v in result.folding.values())
    assert (result.folding["MVAU_0"]["PE"], result.folding["MVAU_0"]["SIMD"]) == (2, 28)
