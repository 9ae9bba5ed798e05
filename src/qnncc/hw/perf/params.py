"""Parameter memory shared by the HLS Thresholding and ChannelwiseOp estimates (their layer modules)."""

from __future__ import annotations

import math

from .estimate import Attrs, ModuleEstimate

__all__ = ["param_memory_hls"]


def param_memory_hls(a: Attrs, pe: int, tmem: int, in_bits: int, cycles: int) -> list[ModuleEstimate]:
    """Parameter memory and comparators of HLS Thresholding/ChannelwiseOp.

    Source: FINN ``thresholding_hls.py`` / ``channelwise_op_hls.py``:
    LUT = ``A*PE`` (comparators) + ``PE*A*ceil(TMEM/64)`` if
    ``ram_style == "distributed"`` and ``TMEM > 1``; BRAM =
    ``ceil(A*PE/16) * ceil(TMEM/1024)`` if ``ram_style == "block"`` and
    ``TMEM > 1`` (``A`` = input bits, FINN's proxy for the parameter width).
    ``auto`` is read as FINN's default, ``distributed``.
    """
    style = a.get_str("ram_style", "distributed", choices=("auto", "distributed", "block"))
    lutram = pe * in_bits * math.ceil(tmem / 64) if style == "distributed" and tmem > 1 else 0
    bram = math.ceil(in_bits * pe / 16) * math.ceil(tmem / 1024) if style == "block" and tmem > 1 else 0
    return [
        ModuleEstimate("parameter_memory", lut=lutram, bram_18k=bram),
        ModuleEstimate("comparators", cycles=cycles, lut=in_bits * pe),
    ]
