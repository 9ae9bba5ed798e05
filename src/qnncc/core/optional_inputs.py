"""Optional node inputs that are named but defined nowhere: treat them as absent.

FINN's tests build ``Resize`` nodes whose ``roi`` input has a name but no
producer, initializer or graph input; onnxruntime and ``onnx.checker`` refuse
such a graph. ONNX spells an absent optional input as the empty name, so for
an input the op's schema marks optional, the dangling name is replaced by
``""`` (with a warning naming the node and the tensor). A dangling required
input is left alone (it stays an error of :meth:`ModelWrapper.check`).
"""

from __future__ import annotations

import logging

import onnx
from onnx import defs

log = logging.getLogger(__name__)


def _optional_slots(node: onnx.NodeProto, opset: int) -> set[int]:
    try:
        schema = defs.get_schema(node.op_type, opset, node.domain)
    except Exception:  # unknown op (custom domains): nothing is known to be optional
        return set()
    optional = onnx.defs.OpSchema.FormalParameterOption.Optional
    return {i for i, formal in enumerate(schema.inputs) if formal.option == optional}


def drop_undefined_optional_inputs(proto: onnx.ModelProto) -> list[str]:
    """Replace named-but-undefined optional inputs of standard nodes by ``""``, in place.

    Args:
        proto: the model (its main graph is edited).

    Returns:
        ``"node: tensor"`` for every input dropped (each also logged as a warning).
    """
    graph = proto.graph
    opset = next((imp.version for imp in proto.opset_import if imp.domain in ("", "ai.onnx")), 13)
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    known.update(t for n in graph.node for t in n.output if t)
    dropped: list[str] = []
    for node in graph.node:
        dangling = [i for i, t in enumerate(node.input) if t and t not in known]
        if not dangling or node.domain not in ("", "ai.onnx"):
            continue
        optional = _optional_slots(node, opset)
        for i in dangling:
            if i in optional:
                who, tensor = node.name or node.op_type, node.input[i]
                log.warning("node %r: optional input %r is produced by nothing; treated as absent", who, tensor)
                node.input[i] = ""
                dropped.append(f"{who}: {tensor}")
    return dropped
