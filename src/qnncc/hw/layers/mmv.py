"""MMV: several input vectors (pixels) per cycle in the MVAU and VVAU (FINN-hlslib's ``MMV``).

With every folding attribute at its largest value (MVAU: ``SIMD = MW`` and
``PE = MH``; VVAU: ``SIMD = K_h*K_w`` and ``PE = Channels``) a layer takes one
vector per cycle. ``MMV = m > 1`` replicates that datapath ``m`` times with
shared weights: one stream word carries ``m`` whole input vectors
(``m * MW`` elements, ``m * K_h*K_w*C`` for the VVAU) and one output word
``m`` whole results (``m * MH``, ``m * C``), so a frame of ``V`` vectors takes
``V / m`` cycles (FINN-hlslib ``Matrix_Multi_Vector_Activate_Batch``; the
sliding window generator's multi-pixel output is FINN's ``M``). Because a word
holds whole vectors, the stream keeps the tensor's element order and width
converters connect it to any neighbour; its folded shape is ``[N, words,
elements per word]`` (``HWLayer.folded_input_shape`` of a word that spans vectors). ``MMV`` must divide the vectors per
frame, and words stay within the AXI-Stream limit of :data:`MAX_WORD_BITS`.

The folding optimiser offers ``MMV`` values up to :data:`MAX_MMV`
(:func:`mmv_options`) and considers ``MMV > 1`` only with the folding maxed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qnncc.hw.perf.estimate import Attrs

from .base import divisors

__all__ = ["MAX_MMV", "MAX_WORD_BITS", "mmv_conflict", "mmv_options", "swg_mmv_conflict", "vectors_per_cycle"]

#: Largest MMV the optimiser offers (vectors per cycle).
MAX_MMV = 8
#: Widest stream word in bits (the 4096-bit AXI-Stream limit of ``codegen.hls.layer_code.MAX_STREAM_BITS``).
MAX_WORD_BITS = 4096


def mmv_options(vectors: int) -> list[int]:
    """The ``MMV`` values a layer of ``vectors`` vectors per frame may take: its divisors up to :data:`MAX_MMV`."""
    return [d for d in divisors(vectors) if d <= MAX_MMV]


def mmv_conflict(attrs: Mapping[str, Any], maxed: Mapping[str, int], vectors: int, word_bits: Sequence[int]) -> str:
    """Why the layer's ``MMV`` is not possible ("" if it is).

    Args:
        attrs: the layer's attributes (``MMV``, the folding attributes).
        maxed: folding attribute -> the value it needs for ``MMV > 1`` (e.g. ``{"SIMD": MW, "PE": MH}``).
        vectors: vectors (pixels) per frame.
        word_bits: the input and output word widths in bits with this ``MMV``.
    """
    mmv = int(attrs.get("MMV", 1))
    if mmv < 1:
        return f"MMV={mmv} must be >= 1"
    if mmv == 1:
        return ""
    for name, value in maxed.items():
        if int(attrs.get(name, 1)) != value:
            wanted = ", ".join(f"{k} = {v}" for k, v in maxed.items())
            return f"MMV={mmv} needs {wanted} (one whole vector per cycle first), got {name}={attrs.get(name, 1)}"
    if vectors % mmv:
        return f"MMV={mmv} must divide the {vectors} vectors per frame"
    if max(word_bits) > MAX_WORD_BITS:
        return f"MMV={mmv} makes a {max(word_bits)}-bit stream word (> {MAX_WORD_BITS})"
    return ""


def vectors_per_cycle(a: Attrs, maxed: dict[str, int], vectors: int, word_bits: tuple[int, int]) -> int:
    """The layer's ``MMV`` for its estimate (1 if absent), checked by :func:`mmv_conflict`.

    ``word_bits``: the input and output word widths of one vector per word (``MMV = 1``).

    Raises:
        EstimateError: when ``MMV > 1`` and the folding is not maxed, ``MMV`` does not divide
            ``vectors`` or a word exceeds the stream limit.
    """
    mmv = a.get_int("MMV", 1)
    values = {"MMV": mmv, **{k: a.get_int(k, 1) for k in maxed}}
    reason = mmv_conflict(values, maxed, vectors, [mmv * bits for bits in word_bits])
    if reason:
        raise a.error(reason)
    return mmv


def swg_mmv_conflict(attrs: Mapping[str, Any], width: int, pixels: int, word_bits: tuple[int, int]) -> str:
    """Why the window generator's ``MMV`` is not possible ("" if it is).

    ``MMV > 1`` needs ``parallel_window = 1`` (hence ``SIMD = C``), ``MMV``
    dividing the image ``width`` and the output ``pixels``, and words within the
    stream limit (:func:`mmv_conflict`; ``word_bits`` are the input and
    output word widths with this ``MMV``).
    """
    mmv = int(attrs.get("MMV", 1))
    if mmv > 1 and not int(attrs.get("parallel_window", 0)):
        return f"MMV={mmv} needs parallel_window=1"
    if mmv > 1 and width % mmv:
        return f"MMV={mmv} must divide the image width {width}"
    return mmv_conflict(attrs, {"SIMD": int(attrs["IFMChannels"])}, pixels, word_bits)
