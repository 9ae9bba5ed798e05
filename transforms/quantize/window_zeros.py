"""Zeros per sliding window of a convolution's (or fully connected layer's) input: counts and histograms.

Pure NumPy measurements behind :class:`~qnncc.transforms.quantize.sparsity.SparsityAnnotate`,
following fpgaConvNet's PyTorch front end (``fpgaconvnet-torch``, ``sparsity/utils.py``):
windows are taken from the zero-padded input, and a window of products ``x * w``
counts a zero activation or a zero weight.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["conv_histograms", "gemm_histograms", "window_zero_counts"]


def _zero_windows(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int]
) -> np.ndarray:
    """Zero mask of every window: ``[N, C, OH, OW, k_h, k_w]`` (a strided view, uint8)."""
    zero = (np.asarray(x) == 0).astype(np.uint8)
    zero = np.pad(zero, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=1)
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    win = sliding_window_view(zero, eff, axis=(2, 3))
    return win[:, :, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1]]


def window_zero_counts(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
) -> np.ndarray:
    """Number of zeros in every sliding window of an NCHW tensor (zero padding counts as zeros).

    Args:
        x: input ``[N, C, H, W]``.
        kernel: ``[k_h, k_w]``.
        strides: ``[s_h, s_w]``.
        pads: ``[top, left, bottom, right]``.
        dilations: ``[d_h, d_w]``.

    Returns:
        int64 ``[N, C, OH, OW]`` with values ``0 .. k_h * k_w``.
    """
    return _zero_windows(x, kernel, strides, pads, dilations).sum(axis=(-2, -1), dtype=np.int64)


def conv_histograms(
    x: np.ndarray,
    w: np.ndarray,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Zeros-per-window histograms of a 2-D convolution's input, per input channel.

    Args:
        x: input ``[N, C, H, W]``.
        w: weights ``[O, C / group, k_h, k_w]``.
        strides: ``[s_h, s_w]``.
        pads: ``[top, left, bottom, right]``.
        dilations: ``[d_h, d_w]``.
        group: convolution groups.

    Returns:
        ``(histogram, histogram_with_weights)``, each int64 ``[C, K+1]``: window
        counts by number of zero activations, and by number of zero products
        ``x * w`` summed over the output channels of the channel's group.
    """
    c = x.shape[1]
    o, cg, kh, kw = w.shape
    k = kh * kw
    windows = _zero_windows(x, (kh, kw), strides, pads, dilations)
    counts = windows.sum(axis=(-2, -1), dtype=np.int64)  # [N, C, OH, OW]
    offsets = (np.arange(c) * (k + 1))[None, :, None, None]
    hist = np.bincount((counts + offsets).reshape(-1), minlength=c * (k + 1)).reshape(c, k + 1)
    og = o // group
    wzero = (w == 0).reshape(o, cg, k).astype(np.float32)
    hist_w = hist * og
    for ch in range(c):
        g, cin = divmod(ch, cg)
        wz = wzero[g * og : (g + 1) * og, cin]  # [Og, K]
        cw = wz.sum(axis=1)  # zero weights per output channel
        if not cw.any():
            continue
        cols = windows[:, ch].reshape(-1, k).astype(np.float32)  # [N*OH*OW, K]
        overlap = cols @ wz.T  # zero activations that meet a zero weight
        zeros = counts[:, ch].reshape(-1, 1) + cw[None, :] - overlap
        hist_w[ch] = np.bincount(np.rint(zeros).astype(np.int64).reshape(-1), minlength=k + 1)
    return hist, hist_w


def gemm_histograms(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero histograms of a fully connected layer: a 1x1 window per input feature.

    Args:
        x: input ``[..., F]`` (leading axes are samples).
        w: effective weights ``[F, O]`` (``y = x @ w``).

    Returns:
        ``(histogram, histogram_with_weights)``, each int64 ``[F, 2]`` (bins: 0 or 1 zero).
    """
    f = w.shape[0]
    zx = (np.asarray(x).reshape(-1, f) == 0).astype(np.int64)
    samples = zx.shape[0]
    zero_rows = zx.sum(axis=0)
    hist = np.stack([samples - zero_rows, zero_rows], axis=1)
    o = w.shape[1]
    zw = (w == 0).sum(axis=1).astype(np.int64)  # zero weights per feature
    zeros_prod = zero_rows * o + (samples - zero_rows) * zw
    hist_w = np.stack([samples * o - zeros_prod, zeros_prod], axis=1)
    return hist, hist_w
