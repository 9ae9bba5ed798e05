"""The software around a dataflow partition: the nodes before and after it as standard ONNX models.

A driver runs them with onnxruntime on the host (the PYNQ driver, the Alveo
host code): :func:`software_parts` cuts them out of the parent model, lowers
qnncc's custom ops to standard ONNX and makes the batch axis symbolic.
"""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["PARTITION_OP", "software_parts", "split_software"]


PARTITION_OP = "StreamingDataflowPartition"


def _value_info(model: ModelWrapper, name: str) -> onnx.ValueInfoProto:
    elem = model.get_tensor_elem_type(name) or onnx.TensorProto.FLOAT
    shape = model.get_tensor_shape(name)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def _sub_model(
    parent: ModelWrapper, nodes: list[onnx.NodeProto], inputs: list[str], outputs: list[str]
) -> ModelWrapper:
    """A model of ``nodes`` of ``parent`` (with the initializers they read) from ``inputs`` to ``outputs``."""
    graph = onnx.helper.make_graph(
        [n for n in parent.graph.node if any(n is m for m in nodes)],
        f"{parent.graph.name or 'model'}_software",
        [_value_info(parent, t) for t in inputs],
        [_value_info(parent, t) for t in outputs],
    )
    used = {t for n in nodes for t in n.input}
    graph.initializer.extend(i for i in parent.graph.initializer if i.name in used)
    proto = onnx.helper.make_model(graph, opset_imports=list(parent.model.opset_import))
    proto.ir_version = parent.model.ir_version
    sub = ModelWrapper(proto)
    for t in {*inputs, *outputs, *(o for n in nodes for o in n.output)}:
        dt = parent.get_tensor_datatype(t)
        if not dt.is_float():
            sub.set_tensor_datatype(t, dt.name)
    return sub


def split_software(model: ModelWrapper, sdp: onnx.NodeProto) -> tuple[list[onnx.NodeProto], list[onnx.NodeProto]]:
    """The software nodes before the partition ``sdp`` (computing its inputs) and after it."""
    before: list[onnx.NodeProto] = []
    needed = set(sdp.input)
    for node in reversed(model.topological_sort()):
        if node is not sdp and any(o in needed for o in node.output):
            before.append(node)
            needed.update(i for i in node.input if i)
    after = [n for n in model.graph.node if n is not sdp and not any(n is b for b in before)]
    return before, after


def software_parts(model: ModelWrapper) -> tuple[onnx.ModelProto | None, onnx.ModelProto | None]:
    """The software nodes before and after the single partition of ``model`` as standard ONNX models.

    The prefix maps the graph inputs to the partition's inputs, the suffix the
    partition's outputs to the graph outputs; custom ops are lowered to
    standard ONNX (:func:`qnncc.execution.lower_to_standard_onnx`) and the
    batch axis made symbolic, so onnxruntime runs them on any batch. A part
    without nodes is None (its tensors pass through unchanged).

    Raises:
        CodegenError: if the model does not have exactly one partition.
    """
    from qnncc.execution.batching import make_batch_dynamic
    from qnncc.execution.lowering import lower_to_standard_onnx

    partitions = [n for n in model.graph.node if n.op_type == PARTITION_OP]
    if len(partitions) != 1:
        raise CodegenError(f"software parts need exactly one {PARTITION_OP} node, found {len(partitions)}")
    sdp = partitions[0]
    before, after = split_software(model, sdp)
    parts: list[onnx.ModelProto | None] = []
    for nodes, ins, outs in (
        (before, model.graph_input_names(), list(sdp.input)),
        (after, list(sdp.output), model.graph_output_names()),
    ):
        if not nodes:
            parts.append(None)
            continue
        lowered = lower_to_standard_onnx(_sub_model(model, nodes, ins, outs))
        make_batch_dynamic(lowered)
        parts.append(lowered)
    return parts[0], parts[1]
