"""Move a per-channel ``Mul`` past a depthwise convolution (FINN ``MoveMulPastDWConv``)."""

from __future__ import annotations

import numpy as np
import onnx
from typing_extensions import override

from .collapse import LocalRewrite, RewriteContext, axis_vector, match_pair, swap_past


def depthwise_scale(scale: np.ndarray, in_channels: int, out_channels: int) -> np.ndarray:
    """Per-output-channel factors of a depthwise conv whose input is scaled per channel.

    Args:
        scale: factors per input channel, shape ``[C]``.
        in_channels: ``C`` (= the conv's group count).
        out_channels: ``M``, a multiple of ``C`` (channel multiplier ``M / C``).

    Returns:
        ``[M]`` with ``out[o] = scale[o // (M / C)]`` (ONNX group order: the
        outputs of group ``g`` are ``g * M/C .. (g + 1) * M/C - 1``).
    """
    return np.repeat(scale, out_channels // in_channels)


class MoveMulPastDWConv(LocalRewrite):
    """Move a scalar or per-channel ``Mul`` past a depthwise ``Conv`` (FINN ``MoveMulPastDWConv``).

    Pattern: ``x -> Mul(x, a) -> t -> Conv(t, W) -> y`` with ``x`` NCHW
    ``[N, C, H, W]``, ``a`` a scalar or a vector along the channel axis 1
    (``[1, C, 1, 1]``, ``[C, 1, 1]``) that does not broadcast ``x``, ``W`` an
    initializer ``[M, 1, kh, kw]`` with ``group == C`` (depthwise; channel
    multiplier ``M / C``), no bias, and ``t`` private to the ``Conv``.
    Padding, strides and dilations are allowed.

    Rewrite: ``x -> Conv(x, W) -> m -> Mul(m, a') -> y`` with ``a'`` of shape
    ``[1, M, 1, 1]``, ``a'[o] = a[o // (M / C)]`` (:func:`depthwise_scale`).

    Exactness: each output channel of a depthwise conv reads one input
    channel only, so ``conv(a x)[o] = a[c(o)] conv(x)[o]`` in real arithmetic,
    and zero padding stays zero under scaling; float32 differs by rounding
    (exact for integer ``x``, ``W`` and power-of-two ``a`` without overflow),
    the same level as FINN's pass and :class:`MoveScalarMulPastConv`. A bias
    would not be scaled, so such Convs are skipped. ``y`` loses its datatype.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Mul",), ("Conv",))
        if pair is None:
            return False
        lin, conv = pair
        weights = ctx.model.get_initializer(conv.input[1])
        x_shape = ctx.shape(lin.data)
        if weights is None or x_shape is None or len(x_shape) != 4 or weights.ndim != 4:
            return False
        if len(conv.input) > 2 and conv.input[2]:
            return False  # a (conv(x) + B) != conv(a x) + B
        channels, groups = x_shape[1], int(ctx.model.get_nodeattr(conv, "group", 1))
        if groups != channels or groups == 1 or weights.shape[1] != 1 or weights.shape[0] % channels:
            return False
        scale = axis_vector(lin.value, x_shape, 1)
        if scale is None or not ctx.same_shape(lin.data, lin.out):
            return False
        factors = depthwise_scale(scale, channels, weights.shape[0]).reshape(1, -1, 1, 1)
        swap_past(ctx, lin, conv, factors.astype(lin.value.dtype), exact=False, keep_type=False)
        return True
