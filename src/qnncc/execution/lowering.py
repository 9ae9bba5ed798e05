"""Lower custom ops to standard ONNX so a whole graph runs in onnxruntime.

Each custom node is replaced in place (keeping its input and output tensor
names) by the standard subgraph its :meth:`CustomOp.lower` emits, so every
intermediate tensor of the original graph still exists in the lowered one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import numpy_helper

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import LoweringContext, get_custom_op, is_custom_domain, is_custom_node
from qnncc.custom_op.partition import StreamingDataflowPartition
from qnncc.custom_op.shapes import infer_shapes


def lower_to_standard_onnx(model: ModelWrapper, prefix: str = "__lw", float64: bool = False) -> onnx.ModelProto:
    """Standard-ONNX copy of ``model`` with every custom op lowered.

    Args:
        model: the model; it is not modified.
        prefix: prefix of generated tensor names (distinct per nested graph).
        float64: emit float constants as float64 (for a model that runs in
            float64, see :mod:`qnncc.execution.precision`).

    Returns:
        A new ModelProto using only default-domain ops, with custom-domain
        opset imports and datatype annotations removed.

    Raises:
        UnsupportedOpError: if a custom op is unknown or cannot be lowered.
    """
    work = model.copy()
    stale = _ranks(work.graph.value_info)
    if any(is_custom_node(n) for n in work.graph.node):
        # Shapes inferred afresh: a FINN model's value infos can be stale after its passes
        # (a rank from before a flatten was removed); the old ones only fill gaps.
        del work.graph.value_info[:]
        infer_shapes(work)
    ranks = {**stale, **_ranks([*work.graph.input, *work.graph.value_info, *work.graph.output])}
    constants = {i.name: numpy_helper.to_array(i) for i in work.graph.initializer}
    for name, value in constants.items():
        ranks.setdefault(name, value.ndim)
    opset = work.get_opset("") or 1
    new_nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    for idx, node in enumerate(work.graph.node):
        if not is_custom_node(node):
            new_nodes.append(node)
            continue
        op = get_custom_op(node)
        if isinstance(op, StreamingDataflowPartition):
            child = ModelWrapper(op.child_model(op.child_opsets(opset)))
            lowered = lower_to_standard_onnx(child, prefix=f"{prefix}{idx}_p", float64=float64)
            new_nodes.extend(lowered.graph.node)
            new_inits.extend(lowered.graph.initializer)
            continue
        ctx = LoweringContext(opset=opset, prefix=f"{prefix}{idx}", constants=constants, ranks=ranks)
        if float64:
            ctx.float_dtype = np.float64
        op.lower(ctx)
        new_nodes.extend(ctx.nodes)
        new_inits.extend(ctx.initializers)
    proto = work.model
    del proto.graph.node[:]
    proto.graph.node.extend(_unique_names(new_nodes))
    proto.graph.initializer.extend(new_inits)
    del proto.graph.quantization_annotation[:]
    del proto.graph.value_info[:]
    keep = [imp for imp in proto.opset_import if not is_custom_domain(imp.domain)]
    del proto.opset_import[:]
    proto.opset_import.extend(keep)
    if not any(imp.domain == "" for imp in proto.opset_import):
        proto.opset_import.add(domain="", version=opset)
    return proto


def _ranks(infos: Iterable[onnx.ValueInfoProto]) -> dict[str, int]:
    return {vi.name: len(vi.type.tensor_type.shape.dim) for vi in infos if vi.type.tensor_type.HasField("shape")}


def _unique_names(nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """``nodes`` with duplicate names suffixed (onnxruntime refuses a graph with two nodes of one name)."""
    seen: set[str] = set()
    for node in nodes:
        if not node.name:
            continue
        name, k = node.name, 0
        while name in seen:
            k += 1
            name = f"{node.name}__{k}"
        node.name = name
        seen.add(name)
    return nodes
