"""Memory primitive counts: RAMB18, URAM and LUTRAM for a ``width x depth`` memory.

All functions take the memory width in bits and its depth in words and return
a number of primitives. They re-implement the rules of FINN's analytic
estimates (``bram_estimation`` / ``uram_estimation`` in
``finn/custom_op/fpgadataflow/*.py`` and ``get_memutil_alternatives`` in
``finn/util/basic.py``), which follow the RAMB18 aspect ratios of Xilinx
UG573 (Table 1-10, simple dual port).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from .estimate import ModuleEstimate

__all__ = [
    "MEM_PRIMITIVES",
    "best_primitive",
    "bram18_finn_r",
    "bram18_hls",
    "bram18_line_buffer",
    "lutram_luts",
    "memutil",
    "uram_blocks",
]

#: Memory primitives as (width bits, depth words), FINN ``mem_primitives_versal``.
MEM_PRIMITIVES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "URAM_72x4096": (72, 4096),
        "URAM_36x8192": (36, 8192),
        "URAM_18x16384": (18, 16384),
        "URAM_9x32768": (9, 32768),
        "BRAM18_36x512": (36, 512),
        "BRAM18_18x1024": (18, 1024),
        "BRAM18_9x2048": (9, 2048),
        "LUTRAM": (1, 64),
    }
)

#: Bits in one RAMB18 (used for efficiency figures, as FINN: 36 x 512).
BRAM18_BITS = 36 * 512
#: Bits in one URAM block (72 x 4096).
URAM_BITS = 72 * 4096


def _bram18_tiles(width: int, depth: int, wide_ports: tuple[int, int, int]) -> int:
    """RAMB18 tiling shared by the FINN-R and HLS rules.

    The two differ only in the usable port widths of the 2K/1K/512-deep aspect
    ratios: 9/18/36 bits with parity (FINN-R), 8/16/32 without (HLS).
    """
    if width <= 0 or depth <= 0:
        return 0
    w2k, w1k, w512 = wide_ports
    if width == 1:
        return math.ceil(depth / 16384)
    if width == 2:
        return math.ceil(depth / 8192)
    if width <= 4:
        return math.ceil(depth / 4096) * math.ceil(width / 4)
    if width <= 9:
        return math.ceil(depth / 2048) * math.ceil(width / w2k)
    if width <= 18 or depth > 512:
        return math.ceil(depth / 1024) * math.ceil(width / w1k)
    return math.ceil(depth / 512) * math.ceil(width / w512)


def bram18_finn_r(width: int, depth: int) -> int:
    """RAMB18 count of a ``width``-bit, ``depth``-deep memory in SDP mode.

    The widest RAMB18 aspect ratio that still holds the depth is chosen
    (16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36), then the memory is tiled.

    Source: FINN ``matrixvectoractivation.py`` / ``streamingfifo.py``
    ``bram_estimation`` (FINN-R, Blott et al. 2018; UG573 Table 1-10).

    Args:
        width: Word width in bits.
        depth: Number of words.

    Returns:
        Number of RAMB18 primitives (0 for an empty memory).
    """
    return _bram18_tiles(width, depth, (9, 18, 36))


def bram18_hls(width: int, depth: int) -> int:
    """RAMB18 count for an HLS-inferred memory (power-of-two port widths 8/16/32).

    Source: FINN ``vectorvectoractivation.py`` ``bram_estimation`` ("since this
    is HLS memory, not using the full width of a BRAM").

    Args:
        width: Word width in bits.
        depth: Number of words.
    """
    return _bram18_tiles(width, depth, (8, 16, 32))


def _line_buffer_ram_width(depth: int) -> int:
    """Widest RAMB18 port width (bits) whose depth holds ``depth`` words (16K max)."""
    for max_depth, ram_width in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2)):
        if depth <= max_depth:
            return ram_width
    return 1


def bram18_line_buffer(width: int, depth: int) -> int:
    """RAMB18 count of one sliding-window line buffer.

    Source: FINN ``convolutioninputgenerator*.py`` ``bram_estimation``: port
    width from the buffer depth (<=512: 36 bits, <=1K: 18, <=2K: 9, <=4K: 4,
    <=8K: 2, else 1), ``ceil(width / port width)`` RAMB18s side by side, and
    ``ceil(depth / 16384)`` of those cascaded (FINN's RTL cascade-saving
    refinement for depths beyond 16K words is not modelled).

    Args:
        width: Word width in bits (SIMD x input bits).
        depth: Buffer depth in words.
    """
    if width <= 0 or depth <= 0:
        return 0
    return math.ceil(depth / 16384) * math.ceil(width / _line_buffer_ram_width(depth))


def uram_blocks(width: int, depth: int) -> int:
    """URAM count of a memory tiled from 72 x 4096 blocks.

    Source: FINN ``matrixvectoractivation.py`` ``uram_estimation``.

    Args:
        width: Word width in bits.
        depth: Number of words.
    """
    if width <= 0 or depth <= 0:
        return 0
    return math.ceil(width / 72) * math.ceil(depth / 4096)


def lutram_luts(width: int, depth: int, words_per_lut: int = 64) -> int:
    """LUTs of a distributed (LUTRAM) memory: one LUT6 holds 64 x 1 bit.

    Source: FINN ``matrixvectoractivation_hls.py`` ``lut_estimation`` (``c2``
    term: ``P*Q*W * ceil(WMEM/64)``).

    Args:
        width: Word width in bits.
        depth: Number of words.
        words_per_lut: Words of one bit per LUT (64 for LUT6-based RAM64X1D,
            32 for FINN's FIFO model).
    """
    if width <= 0 or depth <= 0:
        return 0
    return width * math.ceil(depth / words_per_lut)


def memutil(width: int, depth: int, primitive: tuple[int, int]) -> tuple[int, float, int]:
    """How many ``primitive`` (width, depth) blocks a ``width x depth`` memory needs.

    Source: FINN ``finn/util/basic.py`` ``memutil``.

    Returns:
        ``(count, efficiency, waste_bits)``.
    """
    prim_w, prim_d = primitive
    count = math.ceil(width / prim_w) * math.ceil(depth / prim_d)
    capacity = count * prim_w * prim_d
    payload = width * depth
    return count, (payload / capacity if capacity else 1.0), capacity - payload


def best_primitive(
    width: int, depth: int, allowed: Mapping[str, tuple[int, int]] = MEM_PRIMITIVES
) -> tuple[str, int, float]:
    """The primitive that wastes the fewest bits for a ``width x depth`` memory.

    Source: FINN ``get_memutil_alternatives`` (sorted by waste, first wins; ties
    keep the catalogue order, URAM first as in FINN).

    Returns:
        ``(kind, count, efficiency)`` where ``kind`` is ``"URAM"``, ``"BRAM18"``
        or ``"LUTRAM"``; ``count`` is in primitives (LUTs for LUTRAM).
    """
    if width <= 0 or depth <= 0:
        return "LUTRAM", 0, 1.0
    ranked = sorted(
        ((name, memutil(width, depth, spec)) for name, spec in allowed.items()),
        key=lambda item: item[1][2],
    )
    name, (count, efficiency, _) = ranked[0]
    return name.split("_")[0], count, efficiency


#: Largest memory (bits) :func:`memory_module` puts in LUTRAM; larger ones go to BRAM18 (Vitis HLS's default).
LUTRAM_MAX_BITS = 1024


def memory_module(name: str, width: int, depth: int) -> ModuleEstimate:
    """A ``width`` x ``depth`` buffer or table: LUTRAM up to :data:`LUTRAM_MAX_BITS` bits, else HLS BRAM18s."""
    if width <= 0 or depth <= 0:
        return ModuleEstimate(name)
    if width * depth <= LUTRAM_MAX_BITS:
        return ModuleEstimate(name, lut=lutram_luts(width, depth))
    return ModuleEstimate(name, bram_18k=bram18_hls(width, depth))
