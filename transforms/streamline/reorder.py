"""Reordering streamline passes: move constant ``Mul``/``Add`` nodes towards the graph outputs.

FINN names and semantics (Umuroglu & Jahre 2017). Each pass swaps one linear
node (``Mul``/``Add`` with one constant input, see :mod:`.collapse` for the
common rules) with the node after it, so that linear nodes gather and can be
collapsed and absorbed into thresholds. Most moves are written as
``x -> L(x, c) -> t -> f -> y`` becoming ``x -> f -> m -> L(m, c') -> y``:
``y`` keeps its name, ``t`` disappears and ``m`` is a new tensor.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import onnx
from typing_extensions import override

from .collapse import (
    LocalRewrite,
    RewriteContext,
    axis_vector,
    fit_scalar,
    match_pair,
    move_after,
    no_padding,
    remove_node,
    retire,
    swap_past,
)

#: Ops that only move, copy or drop elements: ``f(L(x, c)) = L(f(x), c)`` bit for bit, c scalar.
DATA_MOVEMENT = ("Identity", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Expand", "Slice")
#: Spatial max pools: commute with a positive per-channel ``Mul``.
MAX_POOLS = ("MaxPool", "GlobalMaxPool")
#: Order statistics: commute bit for bit with ``+ c`` and ``* c`` (c > 0), c scalar.
MAX_LIKE = (*MAX_POOLS, "ReduceMax", "ReduceMin")
#: Averages: commute with ``+ c`` and ``* c`` in real arithmetic, c scalar.
AVERAGES = ("AveragePool", "GlobalAveragePool", "ReduceMean")


class MoveScalarLinearPastInvariants(LocalRewrite):
    """Move a scalar ``Mul``/``Add`` past an op that commutes with it (FINN name).

    Pattern: ``x -> Mul|Add(x, c) -> t -> f(t, ...) -> y`` with ``c`` a scalar
    constant (any shape of size 1) that does not broadcast ``x`` to a larger
    shape, ``t`` private to ``f`` as its data input 0, and ``f`` one of

    * data movement: Identity, Reshape, Flatten, Transpose, Squeeze,
      Unsqueeze, Expand, Slice;
    * MaxPool, GlobalMaxPool (single output), ReduceMax, ReduceMin: ``Add``
      any ``c``, ``Mul`` only ``c > 0``;
    * GlobalAveragePool, ReduceMean (any axes, the form torch exports for
      adaptive average pooling); AveragePool (``Add`` only without padding
      or with ``count_include_pad=0``).

    Rewrite: ``x -> f(x, ...) -> m -> Mul|Add(m, c) -> y``; ``c`` becomes 0-d
    when its rank would exceed ``y``'s (e.g. ``[1, 1, 1, 1]`` after Flatten).

    Exactness: data movement copies elements, so each ``y`` element is the same
    float operation on the same ``x`` element: bit-identical. ``x -> x + c``
    and ``x -> c * x`` (``c > 0``) are non-decreasing in float32 too, so they
    commute with ``max`` and ``min`` bit for bit. Averages are linear, ``mean(c x) = c
    mean(x)`` and ``mean(x + c) = mean(x) + c`` when every window averages
    input elements only; float32 differs by rounding (``y`` loses its datatype).
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Mul", "Add"), DATA_MOVEMENT + MAX_LIKE + AVERAGES)
        if pair is None:
            return False
        lin, f = pair
        op = f.op_type
        if lin.value.size != 1 or not ctx.same_shape(lin.data, lin.out):
            return False
        c = float(lin.value.reshape(-1)[0])
        if op in MAX_LIKE and (len([o for o in f.output if o]) != 1 or (lin.node.op_type == "Mul" and not c > 0)):
            return False
        count_pad = ctx.model.get_nodeattr(f, "count_include_pad", 0)
        if op == "AveragePool" and lin.node.op_type == "Add" and count_pad and not no_padding(ctx, f):
            return False
        y_shape = ctx.shape(f.output[0])
        if y_shape is None:
            return False
        swap_past(
            ctx,
            lin,
            f,
            fit_scalar(lin.value, y_shape),
            exact=op not in AVERAGES,
            keep_type=op not in AVERAGES,
        )
        return True


class MoveAddPastMul(LocalRewrite):
    """Move a constant ``Add`` past a constant ``Mul`` (FINN name).

    Pattern: ``x -> Add(x, b) -> t -> Mul(t, a) -> y`` with ``a``, ``b``
    initializers of any broadcastable shapes (scalar, per-channel, full) and
    ``t`` private to the ``Mul``.

    Rewrite: ``x -> Mul(x, a) -> m -> Add(m, a * b) -> y``.

    Exactness: ``(x + b) a = x a + a b`` in real arithmetic, and both sides
    broadcast to ``broadcast(x, a, b)``, so shapes are kept; float32 differs
    by rounding (bit-exact for integers below 2**24). ``y`` loses its datatype.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        add = ctx.linear(node, ("Add",))
        mul = ctx.linear(ctx.sole_consumer(add.out), ("Mul",)) if add is not None else None
        if add is None or mul is None:
            return False
        swap_past(ctx, add, mul.node, np.multiply(mul.value, add.value).astype(add.value.dtype), False, False)
        return True


class MoveScalarAddPastMatMul(LocalRewrite):
    """Move a scalar (or per-input-feature) ``Add`` past a ``MatMul`` with constant weights (FINN name).

    Pattern: ``x -> Add(x, b) -> t -> MatMul(t, W) -> y`` with ``W`` a 2-D
    initializer ``[K, N]``, ``b`` a scalar or a vector along the last axis
    (``[K]``, ``[1, K]``, ...) that does not broadcast ``x`` to a larger
    shape, and ``t`` private to the ``MatMul`` (input 0).

    Rewrite: ``x -> MatMul(x, W) -> m -> Add(m, b' W) -> y`` where ``b'`` is
    ``b`` as a ``[K]`` vector (for a scalar: ``b * colsum(W)``).

    Exactness: ``(x + 1 b') W = x W + 1 (b' W)`` in real arithmetic; float32
    differs by rounding (exact for integers below 2**24). ``y`` loses its
    datatype.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Add",), ("MatMul",))
        if pair is None:
            return False
        lin, f = pair
        weights = ctx.model.get_initializer(f.input[1])
        x_shape = ctx.shape(lin.data)
        if weights is None or weights.ndim != 2 or x_shape is None or not ctx.same_shape(lin.data, lin.out):
            return False
        b = axis_vector(lin.value, x_shape, -1)
        if b is None:
            return False
        bias = (b.astype(np.float64) @ weights.astype(np.float64)).astype(lin.value.dtype)
        swap_past(ctx, lin, f, bias, exact=False, keep_type=False)
        return True


class MoveAddPastConv(LocalRewrite):
    """Move a scalar or per-channel ``Add`` past a ``Conv`` without padding (FINN name).

    Pattern: ``x -> Add(x, b) -> t -> Conv(t, W[, B]) -> y`` with ``W`` an
    initializer ``[M, C/g, k...]`` (any group count ``g``), ``b`` a scalar or
    a vector along the channel axis 1 (``[1, C, 1, 1]``, ``[C, 1, 1]``) that
    does not broadcast ``x``, ``t`` private to the ``Conv`` (input 0), and no
    padding (``pads`` all 0, ``auto_pad`` NOTSET/VALID); strides, dilations
    and a bias ``B`` are allowed.

    Rewrite: ``x -> Conv(x, W[, B]) -> m -> Add(m, d) -> y`` with ``d[o] =
    sum_{i,k} W[o, i, k] * b[group(o) * C/g + i]`` shaped ``[1, M, 1, ...]``.

    Exactness: without padding every output reads a full window of ``x + b``,
    and ``conv(x + b) = conv(x) + conv(b)`` with ``conv(b)`` constant per
    output channel; float32 differs by rounding. With padding the border
    windows read zeros instead of ``b``, so such Convs are skipped. ``y``
    loses its datatype.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Add",), ("Conv",))
        if pair is None:
            return False
        lin, f = pair
        weights = ctx.model.get_initializer(f.input[1])
        x_shape = ctx.shape(lin.data)
        if weights is None or x_shape is None or not no_padding(ctx, f) or not ctx.same_shape(lin.data, lin.out):
            return False
        b = axis_vector(lin.value, x_shape, 1)
        groups = int(ctx.model.get_nodeattr(f, "group", 1))
        out_ch = weights.shape[0]
        if b is None or weights.ndim != len(x_shape) or b.size != weights.shape[1] * groups or out_ch % groups:
            return False
        per_out = b.reshape(groups, -1)[np.arange(out_ch) // (out_ch // groups)]  # [M, C/g]
        w = weights.astype(np.float64).reshape(out_ch, weights.shape[1], -1)
        d = np.einsum("oik,oi->o", w, per_out.astype(np.float64))
        swap_past(ctx, lin, f, d.reshape((1, out_ch) + (1,) * (weights.ndim - 2)).astype(lin.value.dtype), False, False)
        return True


class _MoveScalarMulPast(LocalRewrite):
    consumer: ClassVar[str]

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Mul",), (self.consumer,))
        if pair is None:
            return False
        lin, f = pair
        if lin.value.size != 1 or ctx.model.get_initializer(f.input[1]) is None:
            return False
        if len(f.input) > 2 and f.input[2]:  # Conv bias: conv(a x) + B != a (conv(x) + B)
            return False
        y_shape = ctx.shape(f.output[0])
        if y_shape is None or not ctx.same_shape(lin.data, lin.out):
            return False
        swap_past(ctx, lin, f, fit_scalar(lin.value, y_shape), exact=False, keep_type=False)
        return True


class MoveScalarMulPastMatMul(_MoveScalarMulPast):
    """Move a scalar ``Mul`` past a ``MatMul`` with constant weights (FINN name).

    Pattern: ``x -> Mul(x, a) -> t -> MatMul(t, W) -> y`` with ``a`` a scalar
    initializer that does not broadcast ``x``, ``W`` an initializer and ``t``
    private to the ``MatMul`` (input 0).

    Rewrite: ``x -> MatMul(x, W) -> m -> Mul(m, a) -> y``.

    Exactness: ``(a x) W = a (x W)`` in real arithmetic; float32 differs by
    rounding (bit-exact for a power of two without under- or overflow).
    ``y`` loses its datatype.
    """

    consumer = "MatMul"


class MoveScalarMulPastConv(_MoveScalarMulPast):
    """Move a scalar ``Mul`` past a ``Conv`` with constant weights and no bias (FINN name).

    Pattern: ``x -> Mul(x, a) -> t -> Conv(t, W) -> y`` with ``a`` a scalar
    initializer that does not broadcast ``x``, ``W`` an initializer, no bias
    input and ``t`` private to the ``Conv`` (input 0). Padding is allowed.

    Rewrite: ``x -> Conv(x, W) -> m -> Mul(m, a) -> y``.

    Exactness: convolution is linear and zero padding stays zero under
    scaling, so ``conv(a x) = a conv(x)`` in real arithmetic; float32 differs
    by rounding. A bias would not be scaled, so such Convs are skipped (FINN
    does not check). ``y`` loses its datatype.
    """

    consumer = "Conv"


class MoveMulPastMaxPool(LocalRewrite):
    """Move a positive scalar or per-channel ``Mul`` past a max pool (FINN ``MoveMulPastMaxPool``).

    Pattern: ``x -> Mul(x, a) -> t -> MaxPool|GlobalMaxPool(t) -> y`` (NCHW,
    single output) with every factor ``a > 0``, ``a`` a scalar or a vector
    along the channel axis 1 that does not broadcast ``x``, and ``t`` private
    to the pool.

    Rewrite: ``x -> MaxPool(x) -> m -> Mul(m, a) -> y``.

    Exactness: for ``a > 0`` the float32 product ``a * x`` is non-decreasing in
    ``x`` (rounding is monotone), so ``max_i a x_i = a max_i x_i`` bit for bit,
    padding (``-inf``) included. Zero or negative factors are skipped (a
    negative one turns max into min). ``y`` keeps its datatype, ``m`` gets ``x``'s.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Mul",), MAX_POOLS)
        if pair is None:
            return False
        lin, f = pair
        x_shape = ctx.shape(lin.data)
        if x_shape is None or len(x_shape) < 3 or len([o for o in f.output if o]) != 1:
            return False
        if not bool(np.all(lin.value > 0)) or axis_vector(lin.value, x_shape, 1) is None:
            return False
        if not ctx.same_shape(lin.data, lin.out):
            return False
        swap_past(ctx, lin, f, None, exact=True, keep_type=True)
        return True


class MoveLinearPastTranspose(LocalRewrite):
    """Move a constant ``Mul``/``Add`` past a ``Transpose``, permuting the constant.

    Pattern: ``x -> Mul|Add(x, c) -> t -> Transpose(t, perm) -> y`` with ``c``
    any initializer (typically per-channel, ``[1, C, 1, 1]``) that does not
    broadcast ``x`` to a larger shape, and ``t`` private to the ``Transpose``.

    Rewrite: ``x -> Transpose(x, perm) -> m -> Mul|Add(m, c') -> y`` with
    ``c'`` = ``c`` padded with leading 1s to the rank of ``x`` and transposed
    by ``perm`` (a size-1 ``c`` is kept as is).

    Exactness: the elementwise op meets the same pairs of elements in either
    order, so ``y`` is bit-identical and keeps its datatype; ``m`` gets ``x``'s.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        pair = match_pair(ctx, node, ("Mul", "Add"), ("Transpose",))
        if pair is None:
            return False
        lin, f = pair
        x_shape = ctx.shape(lin.data)
        if x_shape is None or not ctx.same_shape(lin.data, lin.out):
            return False
        rank = len(x_shape)
        perm = ctx.model.get_nodeattr(f, "perm", None) or list(reversed(range(rank)))
        value = None
        if lin.value.size != 1:
            padded = lin.value.reshape((1,) * (rank - lin.value.ndim) + lin.value.shape)
            value = np.ascontiguousarray(np.transpose(padded, perm))
        swap_past(ctx, lin, f, value, exact=True, keep_type=True)
        return True


class MoveLinearPastEltwiseAdd(LocalRewrite):
    """Move equal ``Mul`` nodes, or any constant ``Add`` nodes, past an elementwise ``Add`` (FINN name).

    Pattern: ``Add(L0(x, c0), L1(y, c1)) -> z`` where both operands are
    produced by linear nodes of the same type, each output private to the
    ``Add``, and either both are ``Mul`` with equal constants (same shape and
    values) or both are ``Add``.

    Rewrite: ``x, y -> Add(x, y) -> m -> Mul(m, c0) -> z``, respectively
    ``-> Add(m, c0 + c1) -> z``; ``L1`` is removed.

    Exactness: ``x c + y c = (x + y) c`` and ``(x + c0) + (y + c1) = (x + y) +
    (c0 + c1)`` in real arithmetic, with the same broadcast shape; float32
    differs by rounding. ``z`` loses its datatype.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        if node.op_type != "Add" or len(node.input) != 2 or ctx.linear(node) is not None:
            return False
        t0, t1 = str(node.input[0]), str(node.input[1])
        if t0 == t1 or ctx.sole_consumer(t0) is not node or ctx.sole_consumer(t1) is not node:
            return False
        l0, l1 = ctx.linear(ctx.producer(t0)), ctx.linear(ctx.producer(t1))
        if l0 is None or l1 is None or l0.node.op_type != l1.node.op_type:
            return False
        value = None
        if l0.node.op_type == "Mul":
            if l0.value.shape != l1.value.shape or not np.array_equal(l0.value, l1.value):
                return False
        else:
            value = np.add(l0.value, l1.value).astype(l0.value.dtype)
        model = ctx.model
        z = str(node.output[0])
        m = model.make_new_name(f"{z}_pre_{l0.node.op_type.lower()}")
        node.input[0], node.input[1] = l0.data, l1.data
        node.output[0] = m
        l0.node.input[l0.data_index] = m
        l0.node.output[0] = z
        if value is not None:
            ctx.set_const(l0.node, l0.const_index, value)
        remove_node(model, l1.node)
        retire(model, t0, z, exact=False)
        retire(model, t1, z, exact=False)
        move_after(model, l0.node, node)
        return True


__all__ = [
    "MoveAddPastConv",
    "MoveAddPastMul",
    "MoveLinearPastEltwiseAdd",
    "MoveLinearPastTranspose",
    "MoveMulPastMaxPool",
    "MoveScalarAddPastMatMul",
    "MoveScalarLinearPastInvariants",
    "MoveScalarMulPastConv",
    "MoveScalarMulPastMatMul",
]
