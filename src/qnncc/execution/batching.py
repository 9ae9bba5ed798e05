"""Make a batch-1 graph accept any batch size.

Exported models often fix the batch dimension to 1, including in ``Reshape``
target shapes such as ``[1, -1]``. This rewrite (applied to a scratch copy
for execution only) sets the batch dimension of graph inputs/outputs to a
symbolic ``N`` and turns a leading ``1`` of constant ``Reshape`` shapes on
batch-carrying tensors into ``-1`` ("infer") or, when another axis is already
``-1``, into ``0`` ("copy the input's dimension"). Where neither is legal
(``allowzero=1`` with a ``-1``, as Brevitas' dynamo export writes
``Reshape([1, -1], allowzero=1)``), the target is computed at run time as
``Concat(Shape(x)[0:1], shape[1:])``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

BATCH_DIM = "N"


def batch_carrying_tensors(graph: onnx.GraphProto) -> set[str]:
    """Tensors computed from a real (non-initializer) graph input."""
    inits = {i.name for i in graph.initializer}
    carrying = {i.name for i in graph.input if i.name not in inits}
    for node in graph.node:  # graph order is topological for valid models
        if any(t in carrying for t in node.input):
            carrying.update(t for t in node.output if t)
    return carrying


def make_batch_dynamic(proto: onnx.ModelProto) -> bool:
    """Rewrite ``proto`` in place so its leading dimension is symbolic.

    Args:
        proto: a model whose real graph inputs all have a static leading
            dimension of 1 (the batch).

    Returns:
        True if the rewrite was applied, False if the model does not have a
        leading batch dimension of 1 on every input (then it is untouched).
    """
    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in inits]
    for vi in real_inputs:
        dims = vi.type.tensor_type.shape.dim
        if not dims or not dims[0].HasField("dim_value") or dims[0].dim_value != 1:
            return False
    carrying = batch_carrying_tensors(graph)
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        standard = node.op_type == "Reshape" and node.domain in ("", "ai.onnx") and len(node.input) == 2
        if not standard or node.input[0] not in carrying or node.input[1] not in inits:
            nodes.append(node)
            continue
        shape = numpy_helper.to_array(inits[node.input[1]]).astype(np.int64)
        batch_shape = _batched_reshape_target(shape, _allowzero(node))
        if batch_shape is None:
            nodes.extend(_runtime_batch_target(graph, node, shape))
            continue
        nodes.append(node)
        new_name = f"{node.input[1]}__batch"
        if new_name not in inits:
            tensor = numpy_helper.from_array(batch_shape, new_name)
            graph.initializer.append(tensor)
            inits[new_name] = tensor
        node.input[1] = new_name
    del graph.node[:]
    graph.node.extend(nodes)
    for vi in list(real_inputs) + list(graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_param = BATCH_DIM
    del graph.value_info[:]
    return True


def _runtime_batch_target(graph: onnx.GraphProto, node: onnx.NodeProto, shape: np.ndarray) -> list[onnx.NodeProto]:
    """Nodes making ``node``'s target ``[batch of its input, *shape[1:]]`` at run time, then ``node``."""
    if shape.size == 0 or shape[0] != 1:
        return [node]
    base = f"{node.output[0]}__batch_target"
    index, rest = f"{base}_index", f"{base}_rest"
    graph.initializer.append(numpy_helper.from_array(np.asarray([0], np.int64), index))
    graph.initializer.append(numpy_helper.from_array(shape[1:].astype(np.int64), rest))
    dims, batch, target = f"{base}_shape", f"{base}_batch", base
    node.input[1] = target
    return [
        helper.make_node("Shape", [node.input[0]], [dims]),
        helper.make_node("Gather", [dims, index], [batch], axis=0),
        helper.make_node("Concat", [batch, rest], [target], axis=0),
        node,
    ]


def _allowzero(node: onnx.NodeProto) -> bool:
    return any(a.name == "allowzero" and a.i == 1 for a in node.attribute)


def _batched_reshape_target(shape: np.ndarray, allowzero: bool) -> np.ndarray | None:
    """Reshape target with its leading 1 replaced by "infer" (-1) or "copy" (0), if possible."""
    if shape.size == 0 or shape[0] != 1:
        return None
    out = shape.copy()
    if -1 not in shape:
        out[0] = -1
    elif not allowzero:
        out[0] = 0
    else:
        return None
    return out
