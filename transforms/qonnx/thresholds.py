"""Exact thresholds for monotone float32 functions.

A quantizer ``q(x)`` that is non-decreasing in ``x`` (``Quant``, ``Relu`` then
``Quant``, ``BipolarQuant``, a positive affine map then rounding, ...) equals
``min_level + #{k : x >= t_k}`` for the thresholds
``t_k = min {x in float32 : q(x) >= min_level + k}``. This module finds each
``t_k`` by binary search over the totally ordered float32 bit patterns, so the
resulting ``MultiThreshold`` reproduces ``q`` bit for bit on every float32
input, ties and rounding included (FINN derives thresholds analytically as
``(k - 0.5) * scale``, which is off by one ulp at ties).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_SIGN = np.int64(0x80000000)
_MAGNITUDE = np.int64(0x7FFFFFFF)


def float32_to_key(x: np.ndarray | np.floating) -> np.ndarray:
    """Map float32 values to int64 keys with the same order (-0 and +0 adjacent)."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.int64)
    negative = (bits & _SIGN) != 0
    return np.where(negative, _MAGNITUDE - (bits & _MAGNITUDE), _SIGN + bits)


def key_to_float32(key: np.ndarray) -> np.ndarray:
    """Inverse of :func:`float32_to_key`."""
    key = np.asarray(key, dtype=np.int64)
    bits = np.where(key >= _SIGN, key - _SIGN, (_MAGNITUDE - key) | _SIGN)
    return bits.astype(np.uint32).view(np.float32)


def search_min_float32(pred: Callable[[np.ndarray], np.ndarray], size: int) -> np.ndarray:
    """Smallest float32 ``x_i`` with ``pred(x)[i]`` true, for ``size`` independent searches.

    Args:
        pred: vectorised predicate over a float32 array ``[size]``; for each
            ``i`` it must be monotone (false ... false, true ... true) in ``x_i``.
        size: number of searches.

    Returns:
        float32 ``[size]``: the smallest finite float32 where the predicate
        holds, ``-inf`` where it holds everywhere, ``+inf`` where nowhere.
    """
    lo = np.full(size, float32_to_key(np.float32(-np.finfo(np.float32).max)), dtype=np.int64)
    hi = np.full(size, float32_to_key(np.float32(np.finfo(np.float32).max)), dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        at_hi = np.asarray(pred(key_to_float32(hi)), dtype=bool)
        at_lo = np.asarray(pred(key_to_float32(lo)), dtype=bool)
        while True:  # invariant: pred(hi) wherever the predicate holds somewhere
            active = hi - lo > 1
            if not active.any():
                break
            mid = lo + (hi - lo) // 2
            ok = np.asarray(pred(key_to_float32(mid)), dtype=bool)
            hi = np.where(active & ok, mid, hi)
            lo = np.where(active & ~ok, mid, lo)
    result = key_to_float32(hi).astype(np.float32)
    result = np.where(at_lo, np.float32(-np.inf), result)
    return np.where(at_hi, result, np.float32(np.inf)).astype(np.float32)


def exact_thresholds(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray], levels: np.ndarray, channels: int
) -> np.ndarray:
    """Smallest float32 input of each channel at which ``fn`` reaches each level.

    Args:
        fn: ``fn(x, c) -> level`` for float32 inputs ``x`` and channel indices
            ``c`` (same shape); must be non-decreasing in ``x`` per channel.
        levels: the target levels ``[B]`` (e.g. ``min_level + 1 .. max_level``).
        channels: number of channels C.

    Returns:
        float32 thresholds ``[C, B]``; ``+inf`` where a level is never
        reached, ``-inf`` where it is reached by every finite input.
    """
    levels = np.asarray(levels, dtype=np.float64)
    c_idx = np.repeat(np.arange(channels), len(levels))
    target = np.tile(levels, channels)
    found = search_min_float32(lambda x: fn(x, c_idx) >= target, target.size)
    return found.reshape(channels, len(levels))
