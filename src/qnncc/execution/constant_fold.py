"""Fold the constant part of a lowered graph once, with the kernels the reference path uses.

The fast path runs onnxruntime with its graph optimizations off, because
even the BASIC level fuses ``MatMul`` + ``BatchNormalization`` (and ``Conv`` +
``BatchNormalization``/``Add``/``Mul``) into kernels that round differently
from the node-by-node reference. That also turns off onnxruntime's constant
folding, so weight quantizers (``Quant``/``BipolarQuant`` of constant weights,
lowered to standard ops) would run again on every call. This module computes
all nodes whose inputs are constants in one onnxruntime run without
optimizations — the same kernels on the same values, so the same bits — and
stores their results as initializers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

#: Standard ops whose result is not a function of their inputs (never folded).
NONDETERMINISTIC = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
)


def _foldable(node: onnx.NodeProto, constants: set[str]) -> bool:
    if node.domain not in ("", "ai.onnx") or node.op_type in NONDETERMINISTIC:
        return False
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
        return False
    return all(not t or t in constants for t in node.input)


def fold_constants(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Replace every node of ``proto`` computed from constants only by initializers (in place).

    Args:
        proto: a standard-ONNX model (e.g. the output of
            :func:`~qnncc.execution.lowering.lower_to_standard_onnx`).

    Returns:
        ``proto``, with the folded nodes removed and their consumed outputs
        added as initializers. Nodes producing a graph output are kept.
        If onnxruntime cannot evaluate the constant part, ``proto`` is
        returned unchanged (the full graph still computes it at run time).
    """
    graph = proto.graph
    inputs = {i.name for i in graph.input}
    constants = {i.name for i in graph.initializer}
    graph_outputs = {o.name for o in graph.output}
    folded: list[onnx.NodeProto] = []
    for node in graph.node:
        if _foldable(node, constants) and not any(t in graph_outputs or t in inputs for t in node.output):
            folded.append(node)
            constants.update(t for t in node.output if t)
    if not folded:
        return proto
    folded_ids = {id(n) for n in folded}
    kept = [n for n in graph.node if id(n) not in folded_ids]
    produced = {t for n in folded for t in n.output if t}
    needed = [t for t in dict.fromkeys(t for n in kept for t in n.input) if t in produced]
    values = _evaluate(proto, folded, needed)
    if values is None:
        return proto
    del graph.node[:]
    graph.node.extend(kept)
    used = {t for n in kept for t in n.input} | graph_outputs
    survivors = [i for i in graph.initializer if i.name in used or i.name in inputs]
    del graph.initializer[:]
    graph.initializer.extend(survivors)
    graph.initializer.extend(numpy_helper.from_array(np.asarray(v), t) for t, v in zip(needed, values, strict=True))
    return proto


def _evaluate(proto: onnx.ModelProto, nodes: list[onnx.NodeProto], outputs: list[str]) -> list[Any] | None:
    import onnxruntime as ort

    if not outputs:
        return []
    read = {t for n in nodes for t in n.input}
    inits = [i for i in proto.graph.initializer if i.name in read]
    graph = helper.make_graph(
        nodes, "constants", [], [helper.make_empty_tensor_value_info(t) for t in outputs], initializer=inits
    )
    model = helper.make_model(graph, opset_imports=list(proto.opset_import))
    model.ir_version = proto.ir_version
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return list(sess.run(outputs, {}))
    except Exception:  # a graph onnxruntime cannot fold still runs unfolded
        return None
