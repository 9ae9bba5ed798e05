"""Streamline passes for residual (fork/join) topologies.

A residual block forks a tensor into two branches and joins them with an
elementwise ``Add``. Brevitas re-quantizes both operands of the ``Add`` with
one shared quantizer, so both reach the join as ``integer * s`` with the same
``s``. These passes let the scales of such graphs reach the thresholds:

* :class:`MoveLinearPastFork` gives every reader of a forked ``Mul``/``Add``
  output its own copy, so each branch can move and absorb it (FINN name);
* :class:`MoveSharedScalePastAdd` turns ``Add(a * s, b * s)`` of integer
  ``a``, ``b`` into ``Add(a, b) * s``, after checking on every pair of integer
  values that nothing observable changes.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType

from .._graph import outer_scope_names
from .collapse import LocalRewrite, RewriteContext, annotate, move_after, remove_node, retire

#: Most ``(a, b, scale)`` combinations :class:`MoveSharedScalePastAdd` enumerates to prove a rewrite exact.
MAX_ENUMERATION = 1 << 22


class MoveLinearPastFork(LocalRewrite):
    """Give every reader of a forked ``Mul``/``Add`` output its own copy of the node (FINN name).

    Pattern: ``x -> Mul|Add(x, c) -> t`` where ``t`` is read by two or more
    nodes, is not a graph output and not read by a subgraph.

    Rewrite: the first reader keeps ``t``; every other reader ``r_i`` reads
    ``t_i`` from a new node ``Mul|Add(x, c) -> t_i`` (same constant), placed
    right after the original. Each copy then has a single reader and the
    other streamline passes can move it down its own branch, e.g. past a
    ``Conv`` on one side of a residual block and into the thresholds of the
    shortcut on the other.

    Exactness: each copy computes the same float32 operation on the same
    operands, so every ``t_i`` equals ``t`` bit for bit and keeps its datatype.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        lin = ctx.linear(node)
        if lin is None:
            return False
        t = lin.out
        model = ctx.model
        if t in model.graph_output_names() or ctx.sole_consumer(t) is not None:
            return False
        readers = _readers(ctx, t)
        if len(readers) < 2 or any(r.op_type in ("If", "Loop", "Scan") for r in readers):
            return False
        if t in outer_scope_names(model.graph):
            return False
        dt = model.get_tensor_datatype(t)
        shape = ctx.shape(t)
        anchor = node
        for k, reader in enumerate(readers[1:], start=1):
            copy_out = model.make_new_name(f"{t}_branch{k}")
            copy_name = model.make_new_name(f"{node.name or node.op_type}_b{k}")
            copy = helper.make_node(node.op_type, list(node.input), [copy_out], name=copy_name)
            for i, name in enumerate(reader.input):
                if name == t:
                    reader.input[i] = copy_out
            model.graph.node.insert(model.get_node_index(anchor) + 1, copy)
            anchor = copy
            if shape is not None:
                model.set_tensor_shape(copy_out, list(shape))
            annotate(model, copy_out, dt)
        return True


def _readers(ctx: RewriteContext, tensor: str) -> list[onnx.NodeProto]:
    """Nodes reading ``tensor`` (each once, in graph order)."""
    return [n for n in ctx.nodes if tensor in n.input]


def _integer_values(dt: DataType) -> np.ndarray | None:
    """All integers in the range of an integer datatype (a superset for BIPOLAR), as float32; None if too many."""
    if not dt.is_integer():
        return None
    lo, hi = int(dt.min()), int(dt.max())
    if hi - lo + 1 > MAX_ENUMERATION or max(abs(lo), abs(hi)) >= 2**23:
        return None
    return np.arange(lo, hi + 1, dtype=np.float32)


def _shared_scale(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The common constant of two Muls (equal shapes and values, or two equal scalars)."""
    if a.size == 1 and b.size == 1:
        return a if float(a.reshape(-1)[0]) == float(b.reshape(-1)[0]) else None
    if a.shape == b.shape and np.array_equal(a, b):
        return a
    return None


def _thresholds_of_reader(ctx: RewriteContext, z: str) -> np.ndarray | None:
    """Sorted unique thresholds of the ``MultiThreshold`` that is the sole reader of ``z`` (as its data input)."""
    mt = ctx.sole_consumer(z)
    if mt is None or mt.op_type != "MultiThreshold" or mt.input[0] != z:
        return None
    thr = ctx.model.get_initializer(mt.input[1])
    if thr is None or not bool(np.all(np.isfinite(thr))):
        return None
    return np.unique(thr.astype(np.float32))


def shared_scale_add_exactness(
    a_values: np.ndarray, b_values: np.ndarray, scales: np.ndarray, thresholds: np.ndarray | None
) -> str | None:
    """How exact ``Add(a * s, b * s) -> Add(a, b) * s`` is on all value pairs: ``"bitwise"``, ``"thresholds"``, None.

    ``"bitwise"``: ``fl(fl(a s) + fl(b s)) == fl(fl(a + b) s)`` for every
    pair and every scale. ``"thresholds"``: some sums round differently, but
    no threshold lies between the two results, so every comparison ``>= T``
    (what a ``MultiThreshold`` reading the sum computes) is the same. None:
    a comparison could change.
    """
    a = a_values.reshape(-1, 1)
    b = b_values.reshape(1, -1)
    int_sum = (a + b).astype(np.float32)  # exact: |a|, |b| < 2**23
    mismatch_lo: list[np.ndarray] = []
    mismatch_hi: list[np.ndarray] = []
    for s in np.unique(scales.astype(np.float32)):
        s32 = np.float32(s)
        orig = (a * s32).astype(np.float32) + (b * s32).astype(np.float32)
        new = (int_sum * s32).astype(np.float32)
        bad = orig != new
        if bool(bad.any()):
            mismatch_lo.append(np.minimum(orig[bad], new[bad]))
            mismatch_hi.append(np.maximum(orig[bad], new[bad]))
    if not mismatch_lo:
        return "bitwise"
    if thresholds is None:
        return None
    lo, hi = np.concatenate(mismatch_lo), np.concatenate(mismatch_hi)
    crossed = np.searchsorted(thresholds, hi, side="right") - np.searchsorted(thresholds, lo, side="right")
    return "thresholds" if not bool(np.any(crossed)) else None


class MoveSharedScalePastAdd(LocalRewrite):
    """Move the shared scale of two integer operands past their ``Add`` (a residual join).

    Pattern: ``Add(Mul(a, s0), Mul(b, s1)) -> z`` with ``a``, ``b``
    integer-typed (datatype annotations), ``s0 == s1`` (equal scalars, or
    equal constants of the same shape, e.g. per channel ``[1, C, 1, 1]``),
    and both ``Mul`` outputs private to the ``Add``. This is what Brevitas
    exports when both inputs of a residual ``Add`` pass one shared quantizer.

    Rewrite: ``Add(a, b) -> m -> Mul(m, s0) -> z``; ``m`` is annotated with
    the integer datatype of the sum's range, so the ``Add`` can become an
    ``AddStreams`` and the ``Mul`` be absorbed into the next thresholds.

    Exactness: the sum of two integers below 2**23 is exact in float32. The
    pass enumerates every pair of values of the two datatypes (and every
    distinct scale) and rewrites only if either ``fl(fl(a s) + fl(b s)) ==
    fl(fl(a + b) s)`` for all of them (bit-exact; ``z`` keeps its datatype),
    or ``z`` is read only by a ``MultiThreshold`` and none of its thresholds
    separates the two results of any pair, so its output is unchanged for
    every input (``z`` loses its datatype). FINN's ``MoveLinearPastEltwiseAdd``
    makes the same move on real-arithmetic grounds only.
    """

    @override
    def rewrite(self, ctx: RewriteContext, node: onnx.NodeProto) -> bool:
        if node.op_type != "Add" or len(node.input) != 2 or ctx.linear(node) is not None:
            return False
        t0, t1 = str(node.input[0]), str(node.input[1])
        if t0 == t1 or ctx.sole_consumer(t0) is not node or ctx.sole_consumer(t1) is not node:
            return False
        l0, l1 = ctx.linear(ctx.producer(t0), ("Mul",)), ctx.linear(ctx.producer(t1), ("Mul",))
        if l0 is None or l1 is None:
            return False
        scale = _shared_scale(l0.value, l1.value)
        model = ctx.model
        z = str(node.output[0])
        if scale is None or not ctx.same_shape(t0, t1) or not ctx.same_shape(t0, z):
            return False
        if not (ctx.same_shape(l0.data, t0) and ctx.same_shape(l1.data, t1)):
            return False
        dta, dtb = model.get_tensor_datatype(l0.data), model.get_tensor_datatype(l1.data)
        a_values, b_values = _integer_values(dta), _integer_values(dtb)
        scales = np.unique(scale.astype(np.float32))
        if a_values is None or b_values is None or a_values.size * b_values.size * scales.size > MAX_ENUMERATION:
            return False
        exactness = shared_scale_add_exactness(a_values, b_values, scales, _thresholds_of_reader(ctx, z))
        if exactness is None:
            return False
        m = model.make_new_name(f"{z}_pre_mul")
        node.input[0], node.input[1] = l0.data, l1.data
        node.output[0] = m
        l0.node.input[l0.data_index] = m
        l0.node.output[0] = z
        remove_node(model, l1.node)
        retire(model, t0, z, exact=exactness == "bitwise")
        retire(model, t1, z, exact=exactness == "bitwise")
        shape = ctx.shape(z)
        if shape is not None:
            model.set_tensor_shape(m, list(shape))
        model.set_tensor_datatype(m, DataType.smallest_for_range(dta.min() + dtb.min(), dta.max() + dtb.max()))
        move_after(model, l0.node, node)
        return True


__all__ = ["MoveLinearPastFork", "MoveSharedScalePastAdd"]
