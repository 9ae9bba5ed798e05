"""The run order of a partitioned model: software segments and dataflow partitions, one after another.

A model with dataflow partitions runs as a sequence of segments in
topological order: a *partition* segment is one ``StreamingDataflowPartition``
(the accelerator runs it), a *software* segment a maximal run of the other
nodes between two partitions (the host runs it). Each segment names the
tensors it reads from earlier segments or the graph inputs and the tensors it
produces for later segments or the graph outputs. The driver
(:mod:`qnncc.codegen.driver_multi`) and the verification of every partition
(:mod:`qnncc.flow.verify`) follow the same schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import partition_nodes

__all__ = ["Segment", "run_schedule", "segment_model"]


@dataclass(frozen=True)
class Segment:
    """One step of the run order.

    Attributes:
        kind: ``software`` or ``partition``.
        index: partition index (graph order of the partition nodes) or software segment index.
        nodes: the segment's nodes (one partition node, or the software nodes in topological order).
        inputs: tensors it reads that earlier segments or the graph inputs provide.
        outputs: tensors it writes that later segments read or that are graph outputs.
    """

    kind: str
    index: int
    nodes: tuple[onnx.NodeProto, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def run_schedule(model: ModelWrapper) -> list[Segment]:
    """The segments of ``model`` in run order (see the module docstring)."""
    sdps = partition_nodes(model)
    index = {id(n): k for k, n in enumerate(sdps)}
    groups: list[list[onnx.NodeProto]] = []
    for node in model.topological_sort():
        if id(node) in index or not groups or any(id(n) in index for n in groups[-1]):
            groups.append([node])
        else:
            groups[-1].append(node)
    initializers = {i.name for i in model.graph.initializer}
    graph_outputs = set(model.graph_output_names())
    segments: list[Segment] = []
    software = 0
    for k, group in enumerate(groups):
        produced = {o for n in group for o in n.output if o}
        later = {i for g in groups[k + 1 :] for n in g for i in n.input}
        reads = []
        for n in group:
            for t in n.input:
                if t and t not in produced and t not in initializers and t not in reads:
                    reads.append(t)
        writes = [o for n in group for o in n.output if o and (o in later or o in graph_outputs)]
        if id(group[0]) in index:
            segments.append(Segment("partition", index[id(group[0])], tuple(group), tuple(reads), tuple(writes)))
        else:
            segments.append(Segment("software", software, tuple(group), tuple(reads), tuple(writes)))
            software += 1
    return segments


def segment_model(model: ModelWrapper, segment: Segment) -> ModelWrapper:
    """The software segment as a model of its own (its nodes and the initializers they read; datatypes kept)."""

    def info(name: str) -> onnx.ValueInfoProto:
        elem = model.get_tensor_elem_type(name) or onnx.TensorProto.FLOAT
        return onnx.helper.make_tensor_value_info(name, elem, model.get_tensor_shape(name))

    graph = onnx.helper.make_graph(
        list(segment.nodes),
        f"{model.graph.name or 'model'}_software_{segment.index}",
        [info(t) for t in segment.inputs],
        [info(t) for t in segment.outputs],
    )
    used = {t for n in segment.nodes for t in n.input}
    graph.initializer.extend(i for i in model.graph.initializer if i.name in used)
    proto = onnx.helper.make_model(graph, opset_imports=list(model.model.opset_import))
    proto.ir_version = model.model.ir_version
    sub = ModelWrapper(proto)
    for t in {*segment.inputs, *segment.outputs, *(o for n in segment.nodes for o in n.output)}:
        dt = model.get_tensor_datatype(t)
        if not dt.is_float():
            sub.set_tensor_datatype(t, dt.name)
    return sub
