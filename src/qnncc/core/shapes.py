"""Shape inference over graphs that mix standard ONNX and custom ops.

Custom nodes are swapped for shape-compatible standard nodes in a scratch
copy, ``onnx.shape_inference`` runs on it, and the inferred value infos are
written back to the real model.
"""

from __future__ import annotations

import onnx
from onnx import shape_inference

from qnncc.core.errors import GraphError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op, is_custom_node


def shape_compatible_proto(model: ModelWrapper) -> onnx.ModelProto:
    """Copy of the model where each custom node is a standard node with equal output shapes."""
    proto = onnx.ModelProto()
    proto.CopyFrom(model.model)
    for i, node in enumerate(proto.graph.node):
        if is_custom_node(node):
            stand_in = get_custom_op(node).shape_compatible_node()
            stand_in.name = node.name
            proto.graph.node[i].CopyFrom(stand_in)
    return proto


def infer_shapes(model: ModelWrapper) -> None:
    """Annotate every tensor's shape and element type where ONNX can infer it (in place).

    Raises:
        UnsupportedOpError: if a custom op is unknown.
        GraphError: if ONNX shape inference finds an inconsistency.
    """
    proto = shape_compatible_proto(model)
    del proto.graph.value_info[:]
    try:
        inferred = shape_inference.infer_shapes(proto, check_type=False, strict_mode=True, data_prop=True)
    except (onnx.shape_inference.InferenceError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GraphError(f"shape inference failed: {first}") from None
    io_names = {vi.name for vi in model.graph.input} | {vi.name for vi in model.graph.output}
    del model.graph.value_info[:]
    for vi in inferred.graph.value_info:
        if vi.name not in io_names:
            model.graph.value_info.append(vi)
    for coll_new, coll_old in ((inferred.graph.output, model.graph.output),):
        for new, old in zip(coll_new, coll_old, strict=True):
            if not old.type.tensor_type.HasField("shape") and new.type.tensor_type.HasField("shape"):
                old.type.CopyFrom(new.type)
