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

#: Float constants with more elements than this reach shape inference as typed graph
#: inputs without their data (serialising megabytes of weights per call dominated its cost).
_LARGE_CONSTANT = 256


def shape_compatible_proto(model: ModelWrapper) -> onnx.ModelProto:
    """Scratch model for shape inference: custom nodes replaced by standard stand-ins.

    Each custom node becomes a standard node with equal output shapes; large
    float initializers become typed graph inputs (shape inference needs only
    their type and shape), small and integer ones are kept for data propagation.
    """
    src = model.model
    proto = onnx.ModelProto()
    proto.ir_version = max(src.ir_version, 4)
    proto.opset_import.extend(src.opset_import)
    graph = proto.graph
    graph.name = src.graph.name
    declared = {vi.name for vi in src.graph.input}
    graph.input.extend(src.graph.input)
    graph.output.extend(src.graph.output)
    for init in src.graph.initializer:
        size = 1
        for d in init.dims:
            size *= d
        if init.data_type in _FLOAT_TYPES and size > _LARGE_CONSTANT:
            if init.name not in declared:
                graph.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
        else:
            graph.initializer.append(init)
    for node in src.graph.node:
        if is_custom_node(node):
            stand_in = get_custom_op(node).shape_compatible_node()
            stand_in.name = node.name
            graph.node.append(stand_in)
        else:
            graph.node.append(node)
    return proto


_FLOAT_TYPES = frozenset({onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16})


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
