"""GemmToMatMul: ``Gemm`` as ``MatMul`` (+ ``Mul`` alpha, + ``Add`` beta*C).

Pattern: ``Gemm(A, B, C; alpha, beta, transA, transB)``. Rewrite:
``[Transpose(A)] -> MatMul(A, B') -> [Mul(alpha)] -> [Add(beta*C)]`` where ``B'``
is ``B`` transposed when ``transB``: a constant ``B`` is transposed in place;
a ``B`` produced by a single-consumer ``Quant``/``BipolarQuant`` of constants
has the quantizer's constant inputs transposed (the quantizer is elementwise,
so transposing its inputs transposes its output); otherwise a ``Transpose``
node is inserted. Exact up to float32 summation order (Gemm vs MatMul+Add).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

QUANTIZERS = ("Quant", "BipolarQuant")


class GemmToMatMul(Transformation):
    """Rewrite every ``Gemm`` node into MatMul/Mul/Add (QONNX ``GemmToMatMul``)."""

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type == "Gemm":
                _rewrite(model, node)
                changed = True
        return model, changed


def _attr(model: ModelWrapper, node: onnx.NodeProto, name: str, default: float) -> float:
    return float(model.get_nodeattr(node, name, default))


def transpose_constant_path(model: ModelWrapper, name: str) -> bool:
    """Transpose a 2-D constant, or the constant inputs of the quantizer producing it."""
    value = model.get_initializer(name)
    if value is not None and value.ndim == 2 and len(model.find_consumers(name)) == 1:
        model.set_initializer(name, np.ascontiguousarray(value.T))
        return True
    producer = model.find_producer(name)
    if producer is None or producer.op_type not in QUANTIZERS or len(model.find_consumers(name)) != 1:
        return False
    values = [model.get_initializer(t) for t in producer.input]
    if any(v is None for v in values) or values[0] is None or values[0].ndim != 2:
        return False
    for i, (t, v) in enumerate(zip(producer.input, values, strict=True)):
        assert v is not None
        if v.ndim == 2:
            moved = np.ascontiguousarray(v.T)
        elif v.ndim == 1 and v.size > 1:  # broadcast along the last axis -> along the first
            moved = v.reshape(-1, 1)
        else:
            continue
        if len(model.find_consumers(t)) == 1:
            model.set_initializer(t, moved)
        else:
            new = model.make_new_name(f"{t}_T")
            model.set_initializer(new, moved)
            producer.input[i] = new
    model.set_tensor_shape(name, list(values[0].T.shape))
    return True


def _rewrite(model: ModelWrapper, node: onnx.NodeProto) -> None:
    a, b = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else None
    alpha, beta = _attr(model, node, "alpha", 1.0), _attr(model, node, "beta", 1.0)
    new_nodes: list[onnx.NodeProto] = []
    base = node.name or "Gemm"
    if int(model.get_nodeattr(node, "transA", 0)):
        at = model.make_new_name(f"{base}_At")
        new_nodes.append(helper.make_node("Transpose", [a], [at], name=f"{base}_transA", perm=[1, 0]))
        a = at
    if int(model.get_nodeattr(node, "transB", 0)) and not transpose_constant_path(model, b):
        bt = model.make_new_name(f"{base}_Bt")
        new_nodes.append(helper.make_node("Transpose", [b], [bt], name=f"{base}_transB", perm=[1, 0]))
        b = bt
    out = node.output[0]
    stages: list[tuple[str, np.ndarray | str | None]] = [("MatMul", None)]
    if alpha != 1.0:
        stages.append(("Mul", np.asarray(alpha, dtype=np.float32)))
    if c is not None and beta != 0.0:
        c_val = model.get_initializer(c)
        if beta != 1.0 and c_val is not None:
            c_name = model.make_new_name(f"{base}_bias")
            model.set_initializer(c_name, (c_val * np.float32(beta)).astype(np.float32))
            stages.append(("Add", c_name))
        elif beta != 1.0:
            scaled = model.make_new_name(f"{base}_betaC")
            beta_name = model.make_new_name(f"{base}_beta")
            model.set_initializer(beta_name, np.asarray(beta, dtype=np.float32))
            new_nodes.append(helper.make_node("Mul", [c, beta_name], [scaled], name=f"{base}_beta"))
            stages.append(("Add", scaled))
        else:
            stages.append(("Add", c))
    current = a
    for k, (op, operand) in enumerate(stages):
        target = out if k == len(stages) - 1 else model.make_new_name(f"{base}_{op.lower()}_out")
        if op == "MatMul":
            inputs = [current, b]
        elif isinstance(operand, str):
            inputs = [current, operand]
        else:
            assert operand is not None
            const = model.make_new_name(f"{base}_alpha")
            model.set_initializer(const, operand)
            inputs = [current, const]
        new_nodes.append(helper.make_node(op, inputs, [target], name=f"{base}_{op}" if k else base))
        current = target
    idx = model.get_node_index(node)
    model.graph.node.remove(node)
    for offset, new in enumerate(new_nodes):
        model.graph.node.insert(idx + offset, new)
