"""C++ literals of packed parameter words (weights) for HLS headers."""

from __future__ import annotations

import numpy as np

from qnncc.codegen.packing import pack_words
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType

__all__ = ["word_literals"]


def word_literals(values: np.ndarray, dt: DataType, where: str) -> list[str]:
    """C++ initialisers of words ``[words, elems]`` of ``dt`` values, element 0 in the LSBs.

    The packing is the stream packing of :func:`~qnncc.codegen.packing.pack_words`.
    Words up to 64 bits become ``0x...ULL`` literals; wider words
    ``ap_uint<W>("...", 16)`` constructions (``W = elems * bits``).

    Raises:
        CodegenError: if a value is not representable in ``dt``, naming ``where``.
    """
    try:
        packed = pack_words(values, dt)  # [words, nbytes], little-endian
    except CodegenError as err:
        raise CodegenError(f"{where}: {err}") from None
    width = values.shape[-1] * dt.bitwidth()
    hexes = [row[::-1].tobytes().hex().lstrip("0") or "0" for row in packed]
    if width <= 64:
        return [f"0x{h}ULL" for h in hexes]
    return [f'ap_uint<{width}>("{h}", 16)' for h in hexes]
