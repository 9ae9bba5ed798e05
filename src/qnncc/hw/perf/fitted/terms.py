"""Building blocks of the fitted resource model's cost terms, shared by the layers' ``fit_features``.

Each HW layer module (:mod:`qnncc.hw.layers`) declares the natural cost terms
of its RTL core (``LayerDescriptor.fit_features``) with these helpers: bit
widths, LUTs of a LUT-held memory (``width * ceil(depth/64)``: one LUT6 holds
64 bits of one output bit), accumulator widths as the RTL library sizes them,
and whether Yosys maps a product to a DSP48.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from qnncc.core.datatype import DataType

__all__ = [
    "Attrs",
    "CostTerms",
    "acc_bits",
    "bits",
    "clog2",
    "distributed",
    "dsp_product",
    "lutmem",
    "threshold_steps",
    "vectors",
]

Attrs: TypeAlias = Mapping[str, Any]
#: A layer's cost terms: FINN attributes -> {term: value} (the regressors of its fitted LUT/FF model).
CostTerms: TypeAlias = Callable[[Attrs], dict[str, float]]


def bits(dt: str) -> int:
    """Bit width of a datatype name."""
    return DataType.from_name(dt).bitwidth()


def lutmem(width: float, depth: float) -> float:
    """LUTs of a ``depth x width`` memory held in LUT6s (64 bits each per output bit)."""
    return float(width) * math.ceil(max(depth, 1) / 64)


def clog2(n: float) -> float:
    """``ceil(log2(n))``, at least 1."""
    return float(max(1, math.ceil(math.log2(max(n, 2)))))


def distributed(a: Attrs, default: str = "auto") -> bool:
    """Whether the layer's memory is in LUTs (``ram_style`` distributed)."""
    return str(a.get("ram_style", default)) == "distributed"


def vectors(a: Attrs) -> int:
    """Vectors per frame (the product of ``numInputVectors``)."""
    raw = a.get("numInputVectors", [1])
    return math.prod(int(v) for v in raw) if isinstance(raw, (list, tuple)) else int(raw)


def acc_bits(mw: int, idt: str, wdt: str, xnor: bool) -> int:
    """The RTL MAC's accumulator width (``qnncc.codegen.rtl.layer.accumulator_bits``) for ``mw`` products."""
    if xnor:
        return mw.bit_length() + 1
    i, w = DataType.from_name(idt), DataType.from_name(wdt)
    largest = mw * max(abs(i.min()), abs(i.max())) * max(abs(w.min()), abs(w.max()))
    return int(largest).bit_length() + 1


def threshold_steps(a: Attrs) -> int:
    """Thresholds per channel of a MAC layer's activation (0 without one)."""
    if a.get("noActivation", 0):
        return 0
    dt = DataType.from_name(a["outputDataType"])
    return 1 if dt.bitwidth() == 1 else int(dt.max() - dt.min())


def dsp_product(in_bits: int, w_bits: int) -> bool:
    """Whether Yosys maps a signed ``(in_bits+1) x (w_bits+1)`` product to a DSP48.

    ``synth_xilinx -family xc7`` maps multipliers with a product of 9 bits or more
    (its ``mul2dsp`` ``DSP_Y_MINWIDTH=9``).
    """
    return in_bits + w_bits + 2 >= 9
