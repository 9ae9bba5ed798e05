"""Absorb linear ops into ``MultiThreshold`` nodes and into weights.

The threshold rewrites are exact for every float32 input: new thresholds are
found by searching float32 for the smallest input at which the absorbed op's
float32 result reaches each old threshold (the op is monotone), rather than
by FINN's closed forms ``T - b`` and ``T / a``, which can be off by one ulp.
"""

from __future__ import annotations

import numpy as np
import onnx
from qnncc.transforms.qonnx.thresholds import search_min_float32
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._match import bypass, channel_vector, const_operand, expand_thresholds, mt_channel_axis, sole_consumer


def _absorbable(
    model: ModelWrapper, op_type: str
) -> list[tuple[onnx.NodeProto, onnx.NodeProto, str, np.ndarray, np.ndarray]]:
    """``(op, mt, dynamic_input, per_channel_constant, thresholds [C, B])`` for ``op -> MultiThreshold``."""
    found = []
    for node in model.graph.node:
        if node.op_type != op_type:
            continue
        operand = const_operand(model, node)
        mt = sole_consumer(model, node.output[0])
        if operand is None or mt is None or mt.op_type != "MultiThreshold" or mt.input[0] != node.output[0]:
            continue
        info = mt_channel_axis(model, mt)
        thresholds = model.get_initializer(mt.input[1])
        if info is None or thresholds is None:
            continue
        axis, shape = info
        vec = channel_vector(operand[1], shape, axis)
        if vec is not None:
            found.append((node, mt, operand[0], vec, expand_thresholds(thresholds, vec.size)))
    return found


def _retarget(model: ModelWrapper, op: onnx.NodeProto, mt: onnx.NodeProto, source: str, thresholds: np.ndarray) -> None:
    name = model.make_new_name(f"{mt.name or 'MultiThreshold'}_thresholds")
    model.set_initializer(name, thresholds.astype(np.float32))
    mt.input[1] = name
    bypass(model, op, source)


def _search(thresholds: np.ndarray, reaches: object) -> np.ndarray:
    """Per-entry search ``min v : reaches(v, c, T[c, k])`` over a ``[C, B]`` threshold array."""
    channels, steps = thresholds.shape
    c_idx = np.repeat(np.arange(channels), steps)
    flat = thresholds.reshape(-1)
    assert callable(reaches)
    return search_min_float32(lambda v: reaches(v, c_idx, flat), flat.size).reshape(channels, steps)


class AbsorbAddIntoMultiThreshold(Transformation):
    """``Add(x, b) -> MultiThreshold(T)`` becomes ``MultiThreshold(x, T')`` (FINN name).

    ``b`` is a scalar or per-channel constant. ``T'[c,k]`` is the smallest
    float32 ``v`` with ``fl(v + b[c]) >= T[c,k]``; float addition is monotone,
    so ``x + b >= T`` holds exactly when ``x >= T'``: exact for every input.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for add, mt, source, bias, thr in _absorbable(model, "Add"):
            new = _search(thr, lambda v, c, t, b=bias: (v + b[c]).astype(np.float32) >= t)
            _retarget(model, add, mt, source, new)
            changed = True
        return model, changed


class AbsorbMulIntoMultiThreshold(Transformation):
    """``Mul(x, a) -> MultiThreshold(T)`` becomes ``MultiThreshold(x, T')`` (FINN name).

    For ``a > 0`` (scalar or per channel), ``T'[c,k]`` is the smallest float32
    ``v`` with ``fl(v * a[c]) >= T[c,k]`` (monotone, so exact). For ``a < 0`` on
    every channel the comparison flips: ``T'`` is the smallest ``v`` with
    ``fl(v * a) < T``, and the count becomes ``B - count'``, expressed by
    negating ``out_scale`` and adding ``out_scale * B`` to ``out_bias``
    (exact). Mixed signs or zeros are left to :class:`FactorOutMulSignMagnitude`.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mul, mt, source, factor, thr in _absorbable(model, "Mul"):
            if bool(np.all(factor > 0)):
                new = _search(thr, lambda v, c, t, a=factor: (v * a[c]).astype(np.float32) >= t)
            elif bool(np.all(factor < 0)):
                new = np.sort(_search(thr, lambda v, c, t, a=factor: (v * a[c]).astype(np.float32) < t), axis=1)
                scale = float(model.get_nodeattr(mt, "out_scale", 1.0))
                bias = float(model.get_nodeattr(mt, "out_bias", 0.0))
                model.set_nodeattr(mt, "out_scale", -scale)
                model.set_nodeattr(mt, "out_bias", bias + scale * thr.shape[1])
            else:
                continue
            _retarget(model, mul, mt, source, new)
            changed = True
        return model, changed


class AbsorbSignBiasIntoMultiThreshold(Transformation):
    """``MultiThreshold -> Add(scalar b)`` becomes a MultiThreshold with ``out_bias + b`` (FINN name).

    Exact when ``out_bias + b`` is computed as in the original graph: the
    count is an integer, ``out_scale * n + out_bias + b`` is evaluated in
    float32 in both forms for the small integers involved.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mt in model.get_nodes_by_op_type("MultiThreshold"):
            add = sole_consumer(model, mt.output[0])
            if add is None or add.op_type != "Add":
                continue
            operand = const_operand(model, add)
            thresholds = model.get_initializer(mt.input[1])
            if operand is None or operand[1].size != 1 or thresholds is None:
                continue
            b = float(operand[1].reshape(-1)[0])
            bias = float(model.get_nodeattr(mt, "out_bias", 0.0))
            new_bias = float(np.float32(bias) + np.float32(b))
            if not new_bias.is_integer():
                continue  # a fractional bias would make the output float-typed
            model.set_nodeattr(mt, "out_bias", new_bias)
            scale = float(model.get_nodeattr(mt, "out_scale", 1.0))
            steps = int(thresholds.shape[1])
            if scale.is_integer():
                ends = (new_bias, new_bias + scale * steps)
                model.set_nodeattr(mt, "out_dtype", DataType.smallest_for_range(min(ends), max(ends)).name)
            out = add.output[0]
            model.remove_node(add)
            mt.output[0] = out
            changed = True
        return model, changed


class FactorOutMulSignMagnitude(Transformation):
    """``Mul(x, a)`` with mixed-sign per-channel ``a`` becomes ``Mul(sign(a)) -> Mul(|a|)`` (FINN name).

    Only fires where the 1-bit ``Mul`` can then be absorbed into the weights of
    the MatMul/Conv producing ``x`` (:class:`Absorb1BitMulIntoMatMul`/``Conv``),
    and not on a constant that already is all +-1, so it cannot loop with
    ``CollapseRepeatedMul``. Exact: multiplying by ``+-1`` is exact in float32.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mul in model.get_nodes_by_op_type("Mul"):
            operand = const_operand(model, mul)
            if operand is None:
                continue
            a = operand[1].astype(np.float32)
            if not (bool(np.any(a < 0)) and bool(np.any(a > 0))) or bool(np.any(a == 0)):
                continue
            if bool(np.all(np.abs(a) == 1)) or not _after_weights(model, operand[0]):
                continue  # already a sign, or nothing upstream could absorb the sign
            sign_name = model.make_new_name(f"{mul.name or 'Mul'}_sign")
            mag_name = model.make_new_name(f"{mul.name or 'Mul'}_magnitude")
            mid = model.make_new_name(f"{mul.name or 'Mul'}_signed")
            model.set_initializer(sign_name, np.sign(a).astype(np.float32))
            model.set_initializer(mag_name, np.abs(a).astype(np.float32))
            out = mul.output[0]
            mul.input[:] = [operand[0], sign_name]
            mul.output[0] = mid
            idx = model.get_node_index(mul)
            model.graph.node.insert(
                idx + 1, onnx.helper.make_node("Mul", [mid, mag_name], [out], name=f"{mul.name}_magnitude")
            )
            changed = True
        return model, changed


def _after_weights(model: ModelWrapper, tensor: str) -> bool:
    """Whether ``tensor`` is the sole-consumer output of a MatMul/Conv with constant weights."""
    producer = model.find_producer(tensor)
    return (
        producer is not None
        and producer.op_type in ("MatMul", "Conv")
        and model.is_constant(producer.input[1])
        and sole_consumer(model, tensor) is not None
    )


def _absorb_1bit(model: ModelWrapper, op_type: str) -> bool:
    changed = False
    for node in model.get_nodes_by_op_type(op_type):
        weights = model.get_initializer(node.input[1])
        mul = sole_consumer(model, node.output[0])
        if weights is None or mul is None or mul.op_type != "Mul":
            continue
        operand = const_operand(model, mul)
        shape = model.get_tensor_shape(node.output[0])
        if operand is None or shape is None:
            continue
        axis = 1 if op_type == "Conv" else len(shape) - 1
        vec = channel_vector(operand[1], shape, axis)
        if vec is None or not bool(np.all(np.isin(vec, (-1.0, 1.0)))):
            continue
        has_bias = op_type == "Conv" and len(node.input) > 2 and bool(node.input[2])
        bias = model.get_initializer(node.input[2]) if has_bias else None
        if has_bias and bias is None:
            continue  # (conv(x, W) + B) * s needs B * s too: only for a constant bias
        if op_type == "Conv":
            new_w = weights * vec.reshape([-1] + [1] * (weights.ndim - 1))
        else:
            new_w = weights * vec.reshape(1, -1)
        dt = model.get_tensor_datatype(node.input[1])
        name = model.make_new_name(f"{node.name or op_type}_weights")
        new_w = new_w.astype(weights.dtype)
        model.set_initializer(name, new_w)
        keep = dt.is_integer() and bool(np.all(dt.allowed(new_w)))  # e.g. not INT4 once -8 became 8
        model.set_tensor_datatype(name, dt if keep else None)
        node.input[1] = name
        if bias is not None:
            bias_name = model.make_new_name(f"{node.name or op_type}_bias")
            model.set_initializer(bias_name, (bias * vec.reshape(bias.shape)).astype(bias.dtype))
            node.input[2] = bias_name
        out = mul.output[0]
        model.remove_node(mul)
        node.output[0] = out
        changed = True
    return changed


class Absorb1BitMulIntoMatMul(Transformation):
    """``MatMul(x, W) -> Mul(s)`` with ``s`` in {-1, +1} per output column folds ``s`` into ``W`` (FINN name).

    Exact: negating weight columns negates the dot products bit for bit.
    The weight datatype annotation is kept while the negated weights still fit
    it (BIPOLAR, narrow-range INTn); otherwise (UINTn, or a full-range INTn
    whose minimum was negated) it is dropped and re-derived from the values.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        return model, _absorb_1bit(model, "MatMul")


class Absorb1BitMulIntoConv(Transformation):
    """``Conv(x, W) -> Mul(s)`` with ``s`` in {-1, +1} per output channel folds ``s`` into ``W`` (FINN name).

    Exact for the same reason as :class:`Absorb1BitMulIntoMatMul`. A constant
    bias ``B`` is negated with the weights (``(conv(x, W) + B) * s = conv(x, W * s)
    + B * s``); a Conv with a dynamic bias is left alone.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        return model, _absorb_1bit(model, "Conv")


class AbsorbNegativeScaleIntoWeights(Transformation):
    """A ``MultiThreshold`` with ``out_scale < 0`` after a MatMul/Conv gets ``-out_scale``; the weights are negated.

    :class:`AbsorbMulIntoMultiThreshold` absorbs an all-negative factor as
    ``out_scale < 0`` (counting ``x < T``), which HW thresholding cannot
    express. Pattern: ``MatMul|Conv(v, W[, B]) -> x -> MultiThreshold(T)``
    with ``W`` (and a Conv bias ``B``) constant, ``x`` private to the
    thresholds and ``out_scale = s < 0``. Rewrite: weights ``-W`` (and
    ``-B``), so the node computes ``x' = -x``; thresholds ``T'[c, k] =
    next_float32_up(-T[c, k])`` sorted per channel; ``out_scale = -s``,
    ``out_bias = b + s * steps``.

    Exactness: negating every weight negates each product exactly, and
    round-to-nearest-even is symmetric, so ``x' = -x`` bit for bit. Then
    ``x >= T`` iff ``x' <= -T`` iff not ``x' >= T'``, so with ``n`` of the
    ``steps`` thresholds crossed by ``x``, ``x'`` crosses ``steps - n`` of
    ``T'`` and ``-s (steps - n) + b + s steps = s n + b``: the same output.
    The weight datatype annotation is kept while the negated values still fit it.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mt in model.get_nodes_by_op_type("MultiThreshold"):
            scale = float(model.get_nodeattr(mt, "out_scale", 1.0))
            thr = model.get_initializer(mt.input[1])
            producer = model.find_producer(mt.input[0])
            if not scale < 0 or thr is None or producer is None or producer.op_type not in ("MatMul", "Conv"):
                continue
            reader = sole_consumer(model, mt.input[0])
            if reader is None or reader is not mt:
                continue
            weights = model.get_initializer(producer.input[1])
            has_bias = len(producer.input) > 2 and bool(producer.input[2])
            bias = model.get_initializer(producer.input[2]) if has_bias else None
            if weights is None or model.get_initializer(producer.input[0]) is not None or (has_bias and bias is None):
                continue
            base = producer.name or producer.op_type
            dt = model.get_tensor_datatype(producer.input[1])
            w_name = model.make_new_name(f"{base}_weights_negated")
            model.set_initializer(w_name, (-weights).astype(weights.dtype))
            keep = dt.is_integer() and bool(np.all(dt.allowed(-weights)))
            model.set_tensor_datatype(w_name, dt if keep else None)
            producer.input[1] = w_name
            if bias is not None:
                b_name = model.make_new_name(f"{base}_bias_negated")
                model.set_initializer(b_name, (-bias).astype(bias.dtype))
                producer.input[2] = b_name
            flipped = np.nextafter(-thr.astype(np.float32), np.float32(np.inf)).astype(np.float32)
            t_name = model.make_new_name(f"{mt.name or 'MultiThreshold'}_thresholds")
            model.set_initializer(t_name, np.sort(flipped, axis=1))
            mt.input[1] = t_name
            out_bias = float(model.get_nodeattr(mt, "out_bias", 0.0))
            model.set_nodeattr(mt, "out_scale", -scale)
            model.set_nodeattr(mt, "out_bias", out_bias + scale * thr.shape[1])
            model.set_tensor_datatype(mt.input[0], None)  # re-derived from the negated weights
            changed = True
        return model, changed


class RoundAndClipThresholds(Transformation):
    """Integer thresholds for ``MultiThreshold`` nodes on integer-typed inputs (FINN name).

    For an integer input ``x`` in ``[lo, hi]``, ``x >= t`` equals
    ``x >= ceil(t)``, and clipping ``ceil(t)`` to ``[lo, hi + 1]`` changes no
    comparison: exact. Thresholds are also sorted per channel (the count does
    not depend on their order; the hardware needs them ascending).
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mt in model.get_nodes_by_op_type("MultiThreshold"):
            dt = model.get_tensor_datatype(mt.input[0])
            thr = model.get_initializer(mt.input[1])
            if thr is None or not dt.is_integer():
                continue
            lo, hi = float(dt.min()), float(dt.max())
            new = np.sort(np.clip(np.ceil(thr.astype(np.float64)), lo, hi + 1), axis=1).astype(np.float32)
            if np.array_equal(new, thr):
                continue
            name = model.make_new_name(f"{mt.name or 'MultiThreshold'}_thresholds")
            model.set_initializer(name, new)
            model.set_tensor_datatype(name, DataType.smallest_for_range(float(new.min()), float(new.max())))
            mt.input[1] = name
            changed = True
        return model, changed
