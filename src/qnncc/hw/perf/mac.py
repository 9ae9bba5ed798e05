"""Cost terms shared by the matrix-vector (MVAU) and vector-vector (VVAU) activation units.

The layer estimates are in :mod:`qnncc.hw.layers.mvau` and :mod:`qnncc.hw.layers.vectorvectoractivation`.

LUTs follow the FINN-R model (Blott et al., "FINN-R: An End-to-End
Deep-Learning Framework for Fast Exploration of Quantized Neural Networks",
TRETS 2018) as coded in FINN ``matrixvectoractivation_hls.py`` /
``vectorvectoractivation_hls.py`` ``lut_estimation``::

    LUT = c0 + c1 * PE * (mult + adder_tree + acc + thr + cmp) + c2
    c0 = 300, c1 = 1.1
    mult       = SIMD * (2 * ceil((W + A) / 6) - 1) * (W + A)   (0 if resType == "dsp")
    adder_tree = (W + A) * (2 * SIMD - 1)
    acc        = accumulator bits
    thr, cmp   = threshold LUTRAM and comparators (see below)
    c2         = PE * SIMD * W * ceil(WMEM / 64)               (weights in LUTRAM)

Each term is reported as a module so that the breakdown is visible.
"""

from __future__ import annotations

import math

from qnncc.core.datatype import DataType, Kind

from .estimate import Attrs, ModuleEstimate
from .memory import BRAM18_BITS, URAM_BITS, bram18_finn_r, bram18_hls, lutram_luts, uram_blocks

__all__ = [
    "C0_LUT",
    "C1_LUT",
    "accumulator_bits",
    "external_weight_cycles",
    "is_xnor",
    "threshold_memory",
    "threshold_steps",
    "weight_memory",
]

C0_LUT = 300.0  # FINN-R fitted constant overhead (LUTs)
C1_LUT = 1.1  # FINN-R fitted multiplier on the per-PE datapath


def accumulator_bits(a: Attrs, dot_len: int, w_bits: int, idt: DataType, xnor: bool) -> int:
    """Accumulator width in bits.

    ``min(accDataType bits, bound)`` where the bound for a dot product of
    ``dot_len`` terms is ``ceil(alpha + log2(1 + 2**-alpha) + 1)`` with
    ``alpha = log2(dot_len) + W + A - 1 - signed(A)`` (Colbert et al.,
    arXiv:2301.13376, as used by FINN ``lut_estimation``). FINN defaults a
    missing ``accDataType`` to INT32; qnncc does the same. In XNOR-popcount
    mode the accumulator is a popcount, so ``dot_len.bit_length()`` bits
    suffice (exact, and tighter than the bound).
    """
    given = a.get_dtype("accDataType", "INT32").bitwidth()
    alpha = math.log2(dot_len) + w_bits + idt.bitwidth() - 1 - int(idt.signed())
    bound = math.ceil(alpha + math.log2(1 + 2.0**-alpha) + 1)
    bits = min(given, bound)
    if xnor:
        bits = min(bits, dot_len.bit_length())
    return max(1, bits)


def threshold_steps(a: Attrs, odt: DataType) -> int:
    """Thresholds per channel: ``numSteps`` if given, else ``2**B - 1`` (1 for BIPOLAR)."""
    if a.has("numSteps"):
        return a.get_int("numSteps")
    return 1 if odt.kind is Kind.BIPOLAR else 2 ** odt.bitwidth() - 1


def is_xnor(a: Attrs, idt: DataType, wdt: DataType) -> bool:
    """Whether the dot product is an XNOR-popcount (``binaryXnorMode`` or both operands bipolar)."""
    both_bipolar = idt.kind is Kind.BIPOLAR and wdt.kind is Kind.BIPOLAR
    return bool(a.get_int("binaryXnorMode", 0, minimum=0)) or both_bipolar


def weight_memory(
    a: Attrs, width: int, depth: int, payload_bits: int, *, hls_brams: bool
) -> tuple[ModuleEstimate, float, float]:
    """Weight memory module and its BRAM/URAM efficiency.

    Storage resolution (FINN ``bram_estimation``/``uram_estimation``/``lut_estimation``):
    ``external`` -> no on-chip weights; ``internal_embedded`` -> LUTRAM up to
    128 words, else BRAM (URAM if ``ram_style == "ultra"``; FINN would count
    both); ``internal_decoupled`` -> ``distributed`` LUTRAM, ``ultra`` URAM,
    ``block`` and ``auto`` BRAM (FINN counts ``auto`` as BRAM).
    """
    mem_mode = a.get_str(
        "mem_mode", "internal_decoupled", choices=("internal_embedded", "internal_decoupled", "external")
    )
    ram_style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if mem_mode == "external":
        return ModuleEstimate("weight_memory"), 1.0, 1.0
    if mem_mode == "internal_embedded":
        style = "distributed" if depth <= 128 else ("ultra" if ram_style == "ultra" else "block")
    else:
        style = "block" if ram_style == "auto" else ram_style
    if style == "distributed":
        return ModuleEstimate("weight_memory", lut=lutram_luts(width, depth)), 1.0, 1.0
    if style == "ultra":
        n = uram_blocks(width, depth)
        return ModuleEstimate("weight_memory", uram=n), 1.0, payload_bits / (n * URAM_BITS)
    n = bram18_hls(width, depth) if hls_brams else bram18_finn_r(width, depth)
    return ModuleEstimate("weight_memory", bram_18k=n), (payload_bits / (n * BRAM18_BITS) if n else 1.0), 1.0


def external_weight_cycles(words: int, width: int) -> int:
    """Cycles per frame of an ``external`` weight stream fed by the shell's DMA.

    ``words`` words of ``width`` payload bits per frame travel as
    ``roundup8(width)``-bit AXI-Stream words through a DMA stream of
    :func:`~qnncc.hw.perf.shell.dma_stream_width` bits moving one word per
    cycle (the shell's own formula, :class:`~qnncc.hw.perf.shell.DmaStream`):
    ``words * roundup8(width) / dma_width`` cycles. The memory port the DMAs
    share is a network-level bound (:func:`~qnncc.hw.perf.shell.estimate_dma_shell`).
    """
    from .shell import dma_stream_width  # shell reads HW layers, which import this module

    tdata = -(-width // 8) * 8
    return words * tdata // dma_stream_width(tdata)


def threshold_memory(
    a: Attrs, odt: DataType, acc: int, pe: int, tmem: int, cycles: int, mmv: int = 1
) -> ModuleEstimate:
    """Threshold memory and comparators of an MVAU (FINN ``lut_estimation`` thr/comp terms).

    ``MMV > 1`` adds ``MMV - 1`` further comparator sets (``C1 * PE * steps * acc`` LUTs each);
    the thresholds themselves are shared.
    """
    steps = threshold_steps(a, odt)
    style = a.get_str("ram_style_thresholds", "auto", choices=("auto", "block", "distributed"))
    extra = C1_LUT * pe * steps * acc * (mmv - 1)
    if style == "distributed":
        lut = C1_LUT * pe * (steps * acc * math.ceil(tmem / 64) + steps * acc)
        return ModuleEstimate("thresholds", cycles=cycles, lut=lut + extra)
    if style == "block":
        bram = bram18_finn_r(pe * steps * acc, tmem)
        return ModuleEstimate("thresholds", cycles=cycles, lut=extra, bram_18k=bram)
    return ModuleEstimate("thresholds", cycles=cycles, lut=extra)
