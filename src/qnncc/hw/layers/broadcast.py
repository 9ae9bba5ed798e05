"""How an ElementwiseBinary layer walks its output and its two operands (shared by the HLS code and the simulator).

One frame of the output (all axes after the batch axis) is walked in row-major order,
one word of ``PE`` elements per iteration. Adjacent axes on which both operands broadcast
alike are merged, so the walk is four nested counters ``A1..A4`` (``A4`` ends with the
channel folds; unused outer axes are 1). Each operand has word strides over the four axes
(0 where it broadcasts) and a mode: a stream of the output's shape (read every iteration),
a broadcast stream (read at the first use of each word: every broadcast coordinate 0, which
visits its words in stream order; buffered afterwards) or a constant table. This is the
walk of ``qnncc::elementwise_binary`` (``hls_templates/include/qnncc/elementwise_binary.hpp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qnncc.core.errors import UnsupportedOpError

__all__ = ["MODE_BROADCAST", "MODE_CONST", "MODE_STREAM", "Operand", "WalkPlan", "walk_plan"]

MODE_STREAM, MODE_BROADCAST, MODE_CONST = 0, 1, 2
#: Counters of the walk (``A1..A4``).
AXES = 4


@dataclass(frozen=True)
class Operand:
    """One operand's part of the walk.

    Attributes:
        mode: :data:`MODE_STREAM`, :data:`MODE_BROADCAST` or :data:`MODE_CONST`.
        elems: elements per word (``PE``, or 1 when its channel axis is broadcast).
        words: words per frame of the operand.
        strides: word strides over ``A1..A4`` (0 on a broadcast axis).
        bmask: bit ``k`` set when axis ``k + 1`` is broadcast.
    """

    mode: int
    elems: int
    words: int
    strides: tuple[int, ...]
    bmask: int

    def reads(self, dims: tuple[int, ...]) -> np.ndarray:
        """Per iteration of the walk over ``dims``: whether the operand's stream is read (bool, flat)."""
        if self.mode == MODE_CONST:
            return np.zeros(math.prod(dims), dtype=bool)
        first = np.ones(dims, dtype=bool)
        for k, d in enumerate(dims):
            if self.bmask >> k & 1:
                shape = [1] * len(dims)
                shape[k] = d
                first &= (np.arange(d) == 0).reshape(shape)
        return first.ravel()


@dataclass(frozen=True)
class WalkPlan:
    """The walk: ``dims`` (``A1..A4``), ``PE`` and the two operands."""

    dims: tuple[int, ...]
    pe: int
    operands: tuple[Operand, Operand]

    @property
    def iterations(self) -> int:
        """Loop iterations (output words) per frame."""
        return math.prod(self.dims)


def walk_plan(
    out_shape: tuple[int, ...], shapes: tuple[tuple[int, ...], tuple[int, ...]], pe: int, const: tuple[bool, bool]
) -> WalkPlan:
    """The walk of an elementwise layer.

    Args:
        out_shape: ``[N, ..., C]`` (batch first, rank >= 2).
        shapes: the operands' shapes, left-padded to the output's rank.
        pe: output elements per word (divides ``C``).
        const: whether each operand is a constant (else a stream).

    Raises:
        UnsupportedOpError: for a rank-1 output, a streamed operand broadcast over the batch
            axis, a constant that differs along it, or more than four distinct broadcast groups.
    """
    if len(out_shape) < 2:
        raise UnsupportedOpError(f"out_shape {list(out_shape)}: need a batch axis and a channel axis")
    for shape, is_const in zip(shapes, const, strict=True):
        if (is_const and shape[0] != 1) or (not is_const and shape[0] != out_shape[0]):
            raise UnsupportedOpError(
                f"operand of shape {list(shape)}: a stream must match the batch axis, a constant must have batch 1"
            )
    channels = out_shape[-1]
    dims_out = [*out_shape[1:-1], channels // pe]
    flags = []
    for shape in shapes:
        bc = [s == 1 and o > 1 for s, o in zip(shape[1:-1], out_shape[1:-1], strict=True)]
        flags.append([*bc, shape[-1] == 1 and channels > 1])
    groups: list[tuple[int, bool, bool]] = []
    for dim, fl, fr in zip(dims_out, flags[0], flags[1], strict=True):
        if dim == 1:
            continue
        if groups and groups[-1][1:] == (fl, fr):
            groups[-1] = (groups[-1][0] * dim, fl, fr)
        else:
            groups.append((dim, fl, fr))
    if len(groups) > AXES:
        raise UnsupportedOpError(f"broadcasting {list(shapes[0])} with {list(shapes[1])} needs more than {AXES} axes")
    groups = [(1, False, False)] * (AXES - len(groups)) + groups
    dims = tuple(g[0] for g in groups)
    operands = []
    for side, shape in enumerate(shapes):
        broadcast = [g[1 + side] for g in groups]
        sizes = [1 if b else d for d, b in zip(dims, broadcast, strict=True)]
        strides = [0 if b else math.prod(sizes[k + 1 :]) for k, b in enumerate(broadcast)]
        bmask = sum(1 << k for k, b in enumerate(broadcast) if b)
        mode = MODE_CONST if const[side] else (MODE_BROADCAST if bmask else MODE_STREAM)
        elems = 1 if shape[-1] == 1 and channels > 1 else pe
        operands.append(Operand(mode, elems, math.prod(sizes), tuple(strides), bmask))
    return WalkPlan(dims, pe, (operands[0], operands[1]))
