"""C++ literals of packed parameter words (weights, thresholds) for HLS headers."""

from __future__ import annotations

import numpy as np

from qnncc.core.datatype import DataType, Kind

from .render import CodegenError

__all__ = ["encode_bits", "word_literals"]


def encode_bits(values: np.ndarray, dt: DataType, where: str) -> np.ndarray:
    """Bit patterns (uint64) of integer ``values`` of datatype ``dt`` (two's complement; BIPOLAR +1 -> 1, -1 -> 0).

    Raises:
        CodegenError: if a value is not an integer in ``dt``'s range, naming ``where``.
    """
    v = np.asarray(values, dtype=np.float64)
    if dt.kind is Kind.BIPOLAR:
        if not np.isin(v, (-1.0, 1.0)).all():
            raise CodegenError(f"{where}: BIPOLAR values must be -1 or +1")
        return (v > 0).astype(np.uint64)
    bits = dt.bitwidth()
    if bits > 64:
        raise CodegenError(f"{where}: {dt.name} is wider than 64 bits")
    if not (np.isfinite(v).all() and (v == np.round(v)).all()):
        raise CodegenError(f"{where}: values must be integers for {dt.name}")
    if v.size and (v.min() < dt.min() or v.max() > dt.max()):
        raise CodegenError(f"{where}: values span [{v.min():g}, {v.max():g}], outside {dt.name}")
    ints = v.astype(np.int64)
    mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    return ints.astype(np.uint64) & mask


def word_literals(patterns: np.ndarray, bits: int) -> list[str]:
    """C++ initialisers of words ``[words, elems]`` of ``bits``-bit patterns, element 0 in the LSBs.

    Words up to 64 bits become ``0x...ULL`` literals; wider words
    ``ap_uint<W>("...", 16)`` constructions (W = elems * bits).
    """
    words, elems = patterns.shape
    width = elems * bits
    lanes = (patterns[:, :, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)
    bitmat = lanes.reshape(words, width).astype(np.uint8)
    packed = np.packbits(bitmat, axis=1, bitorder="little")  # [words, ceil(width/8)], byte 0 = LSBs
    hexes = [row[::-1].tobytes().hex().lstrip("0") or "0" for row in packed]
    if width <= 64:
        return [f"0x{h}ULL" for h in hexes]
    return [f'ap_uint<{width}>("{h}", 16)' for h in hexes]
