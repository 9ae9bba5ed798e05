"""Sparse sliding-window cycle model (fpgaConvNet-style zero skipping).

A sparse dot-product engine with ``fine`` parallel multipliers skips the zero
entries of each window: a window of ``K`` elements holding ``j`` zeros takes
``ceil((K - j) / fine)`` cycles (at least one, to emit the result) instead of
``ceil(K / fine)``. Given a histogram of zeros per window measured on data,
the expected cost per window is ``sum_j p_j * cost_j``.

Source: fpgaConvNet sparse convolution (Montgomerie-Corcoran et al.,
"SMOF" / "Exploiting sparsity in dataflow CNN accelerators", FPL 2022/2023).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .estimate import EstimateError

__all__ = ["sparse_window_cycles"]


def sparse_window_cycles(histogram_bins: Sequence[float], kernel_elems: int, fine: int) -> float:
    """Expected cycles per window of a zero-skipping engine.

    Args:
        histogram_bins: ``histogram_bins[j]`` = probability (or count) of a
            window holding ``j`` zeros, ``j = 0 .. kernel_elems``; shorter
            lists mean zero probability for the missing bins. Normalised here.
        kernel_elems: Elements per window ``K`` (e.g. ``K_h * K_w``).
        fine: Multipliers working on one window in parallel (SIMD).

    Returns:
        Expected cycles per window (float), between ``1`` and ``ceil(K/fine)``.

    Raises:
        EstimateError: on a negative or empty histogram, more than
            ``kernel_elems + 1`` bins, or non-positive ``kernel_elems``/``fine``.
    """
    if kernel_elems < 1 or fine < 1:
        raise EstimateError(f"sparse_window_cycles: need kernel_elems >= 1 and fine >= 1, got {kernel_elems}, {fine}")
    bins = [float(p) for p in histogram_bins]
    if len(bins) > kernel_elems + 1:
        raise EstimateError(
            f"sparse_window_cycles: {len(bins)} histogram bins for a window of {kernel_elems} elements "
            f"(at most {kernel_elems + 1})"
        )
    total = sum(bins)
    if any(p < 0 or not math.isfinite(p) for p in bins) or total <= 0:
        raise EstimateError("sparse_window_cycles: histogram must be finite, non-negative and not all zero")
    return sum(p * max(1, math.ceil((kernel_elems - j) / fine)) for j, p in enumerate(bins)) / total
