"""Canonicalising conversions that run before reordering and absorption."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._match import bypass, sole_consumer

FINN_DOMAIN = "qonnx.custom_op.general"


def _replace_const(model: ModelWrapper, node: onnx.NodeProto, index: int, value: np.ndarray, op_type: str) -> None:
    name = model.make_new_name(f"{node.name or node.op_type}_param")
    model.set_initializer(name, value.astype(np.float32))
    node.input[index] = name
    node.op_type = op_type


class ConvertSubToAdd(Transformation):
    """``Sub(x, c)`` with a constant ``c`` becomes ``Add(x, -c)`` (FINN name).

    Exact: float negation is exact and ``x - c == x + (-c)`` in IEEE arithmetic.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in model.get_nodes_by_op_type("Sub"):
            c = model.get_initializer(node.input[1])
            if c is not None and model.get_initializer(node.input[0]) is None:
                _replace_const(model, node, 1, -c, "Add")
                changed = True
        return model, changed


class ConvertDivToMul(Transformation):
    """``Div(x, c)`` with a constant ``c`` becomes ``Mul(x, 1/c)`` (FINN name).

    Exact only when ``1/c`` is exactly representable (``c`` a power of two);
    otherwise within one float32 rounding (relative error <= 2**-23).
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in model.get_nodes_by_op_type("Div"):
            c = model.get_initializer(node.input[1])
            if c is not None and model.get_initializer(node.input[0]) is None and bool(np.all(c != 0)):
                _replace_const(model, node, 1, (np.float32(1) / c.astype(np.float32)), "Mul")
                changed = True
        return model, changed


class BatchNormToAffine(Transformation):
    """Inference ``BatchNormalization`` becomes ``Mul(A) -> Add(B)`` per channel (FINN name).

    ``A = gamma / sqrt(var + eps)``, ``B = beta - mean * A``, shaped for the
    channel axis 1. An ``Unsqueeze -> BatchNormalization -> Squeeze`` wrapper
    around a 2-D tensor (Brevitas' BatchNorm1d export) is removed. Exact in
    real arithmetic; float32 rounding differs from the fused kernel (<= a few ulp).
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for bn in model.get_nodes_by_op_type("BatchNormalization"):
            params = [v for t in bn.input[1:5] if (v := model.get_initializer(t)) is not None]
            shape = model.get_tensor_shape(bn.input[0])
            if len(params) != 4 or shape is None or (len(bn.output) > 1 and any(bn.output[1:])):
                continue
            gamma, beta, mean, var = (p.astype(np.float64) for p in params)
            eps = float(model.get_nodeattr(bn, "epsilon", 1e-5))
            a = gamma / np.sqrt(var + np.float64(np.float32(eps)))
            b = beta - mean * a
            source, out, rank = bn.input[0], bn.output[0], len(shape)
            unsq = model.find_producer(source)
            sq = sole_consumer(model, out)
            if (
                rank == 3
                and shape[2] == 1
                and unsq is not None
                and unsq.op_type == "Unsqueeze"
                and sq is not None
                and sq.op_type == "Squeeze"
                and len(model.find_consumers(source)) == 1
            ):
                bypass(model, unsq, unsq.input[0])
                source, rank = unsq.input[0], 2
                final = sq.output[0]
                model.remove_node(sq)
                out = final
            cshape = [-1] + [1] * (rank - 2)
            a_name = model.make_new_name(f"{bn.name or 'BatchNorm'}_mul")
            b_name = model.make_new_name(f"{bn.name or 'BatchNorm'}_add")
            mid = model.make_new_name(f"{bn.name or 'BatchNorm'}_scaled")
            model.set_initializer(a_name, a.reshape(cshape).astype(np.float32))
            model.set_initializer(b_name, b.reshape(cshape).astype(np.float32))
            idx = model.get_node_index(bn)
            model.remove_node(bn)
            base = bn.name or "BatchNorm"
            model.graph.node.insert(idx, helper.make_node("Mul", [source, a_name], [mid], name=f"{base}_mul"))
            model.graph.node.insert(idx + 1, helper.make_node("Add", [mid, b_name], [out], name=f"{base}_add"))
            changed = True
        return model, changed


class ConvertSignToThres(Transformation):
    """``Sign(x)`` becomes a ``MultiThreshold`` (FINN name).

    Exact form (default): thresholds ``[0, smallest positive float32]`` give
    counts 0/1/2 for ``x < 0``, ``x == 0``, ``x > 0``; with ``out_bias = -1``
    that is Sign's -1/0/+1 (TERNARY). When streamlining later shows that no
    input can hit exactly zero, the two thresholds coincide and
    ``MergeEqualThresholds`` turns the node into a BIPOLAR one.
    ``zero_as_one=True`` gives FINN's bipolar form directly (``x >= 0 -> +1``),
    which differs from Sign only at ``x == 0``.
    """

    def __init__(self, zero_as_one: bool = False) -> None:
        self.zero_as_one = zero_as_one

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in model.get_nodes_by_op_type("Sign"):
            thr_name = model.make_new_name(f"{node.name or 'Sign'}_thresholds")
            if self.zero_as_one:
                thr, scale, dt = np.zeros((1, 1), np.float32), 2.0, DataType["BIPOLAR"]
            else:
                tiny = np.nextafter(np.float32(0), np.float32(1))
                thr, scale, dt = np.array([[0.0, tiny]], np.float32), 1.0, DataType["TERNARY"]
            model.set_initializer(thr_name, thr)
            idx = model.get_node_index(node)
            mt = helper.make_node(
                "MultiThreshold",
                [node.input[0], thr_name],
                [node.output[0]],
                name=f"{node.name or 'Sign'}_MultiThreshold",
                domain=FINN_DOMAIN,
                out_dtype=dt.name,
                out_scale=scale,
                out_bias=-1.0,
            )
            model.remove_node(node)
            model.graph.node.insert(idx, mt)
            model.set_tensor_datatype(node.output[0], dt)
            if not any(imp.domain == FINN_DOMAIN for imp in model.model.opset_import):
                model.model.opset_import.add(domain=FINN_DOMAIN, version=1)
            changed = True
        return model, changed


class MergeEqualThresholds(Transformation):
    """A ternary ``MultiThreshold`` whose two thresholds are equal on every channel becomes bipolar.

    With ``t0 == t1`` the count is 0 or 2, never 1, so ``out_scale * count +
    out_bias`` equals a one-threshold node with twice the ``out_scale``: exact.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mt in model.get_nodes_by_op_type("MultiThreshold"):
            thr = model.get_initializer(mt.input[1])
            if thr is None or thr.shape[1] != 2 or not np.array_equal(thr[:, 0], thr[:, 1]):
                continue
            scale = float(model.get_nodeattr(mt, "out_scale", 1.0))
            bias = float(model.get_nodeattr(mt, "out_bias", 0.0))
            name = model.make_new_name(f"{mt.name or 'MultiThreshold'}_thresholds")
            model.set_initializer(name, np.ascontiguousarray(thr[:, :1]))
            model.set_tensor_datatype(name, model.get_tensor_datatype(mt.input[1]))
            mt.input[1] = name
            model.set_nodeattr(mt, "out_scale", 2 * scale)
            if (bias, 2 * scale) == (-1.0, 2.0):
                model.set_nodeattr(mt, "out_dtype", "BIPOLAR")
            model.set_tensor_datatype(mt.output[0], None)
            changed = True
        return model, changed
