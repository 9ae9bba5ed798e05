"""FINN's execution semantics, written independently in numpy, for the conformance cases.

Each function states the FINN op it mirrors (finn-plus 1.6,
``src/finn/custom_op/fpgadataflow``); tensors are channels-last.
"""

from __future__ import annotations

import numpy as np


def multithreshold(x: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Number of thresholds ``thr [C or 1, steps]`` each element of ``x [..., C]`` reaches."""
    return np.sum(x[..., None] >= thr, axis=-1)


def activation(count: np.ndarray, bipolar: bool, act_val: int) -> np.ndarray:
    """MVAU/VVAU/Thresholding output from counts: ``2n - 1`` for BIPOLAR, else ``n + ActVal``."""
    return 2 * count - 1 if bipolar else count + act_val


def mvau(x: np.ndarray, w: np.ndarray, xnor: bool) -> np.ndarray:
    """``MVAU``: ``x [.., MW] @ W [MW, MH]``; with ``binaryXnorMode`` the XNOR popcount of {0,1} values."""
    if xnor:
        return np.sum(x[..., :, None] == w, axis=-2)
    return x.astype(np.int64) @ w.astype(np.int64)


def im2col(x: np.ndarray, k: list[int], stride: list[int], dil: list[int]) -> np.ndarray:
    """``ConvolutionInputGenerator`` (depthwise=0): ``[N, H, W, C]`` -> ``[N, OH, OW, kh*kw*C]`` in (i, j, c) order."""
    n, h, w, c = x.shape
    oh = (h - dil[0] * (k[0] - 1) - 1) // stride[0] + 1
    ow = (w - dil[1] * (k[1] - 1) - 1) // stride[1] + 1
    out = np.zeros((n, oh, ow, k[0], k[1], c), x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            rows = slice(i * dil[0], i * dil[0] + stride[0] * (oh - 1) + 1, stride[0])
            cols = slice(j * dil[1], j * dil[1] + stride[1] * (ow - 1) + 1, stride[1])
            out[:, :, :, i, j, :] = x[:, rows, cols, :]
    return out.reshape(n, oh, ow, -1)


def vvau(x: np.ndarray, w: np.ndarray, k: int, channels: int) -> np.ndarray:
    """``VVAU``: windows ``[N, OH, OW, k*C]`` in (kernel position, channel) order times ``W [C, 1, kh, kw]``."""
    windows = x.reshape(*x.shape[:-1], k, channels).astype(np.int64)
    return np.sum(windows * w.reshape(channels, k).T.astype(np.int64), axis=-2)


def maxpool_nhwc(x: np.ndarray, pool: list[int], ceil_mode: bool = False) -> np.ndarray:
    """``StreamingMaxPool``: non-overlapping ``pool`` windows (stride = pool) of ``[N, H, W, C]``."""
    n, h, w, c = x.shape
    oh = -(-h // pool[0]) if ceil_mode else h // pool[0]
    ow = -(-w // pool[1]) if ceil_mode else w // pool[1]
    out = np.full((n, oh, ow, c), -np.inf)
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * pool[0] : (i + 1) * pool[0], j * pool[1] : (j + 1) * pool[1], :]
            out[:, i, j, :] = win.max(axis=(1, 2))
    return out


def fmpadding(x: np.ndarray, pads: list[int]) -> np.ndarray:
    """``FMPadding``: zeros around ``[N, H, W, C]``, ``pads = [top, left, bottom, right]``."""
    return np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)))


def labelselect(x: np.ndarray, k: int) -> np.ndarray:
    """``LabelSelect``: indices of the ``k`` largest values, largest first (distinct values)."""
    return np.argsort(-x, axis=-1, kind="stable")[..., :k]
