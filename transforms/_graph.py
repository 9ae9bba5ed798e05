"""Small graph helpers shared by the tidy passes (not part of the public API)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import onnx

from qnncc.core.model_wrapper import ModelWrapper


def subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    """Graphs held in the attributes of ``node`` (bodies of If, Loop, Scan)."""
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            yield from attr.graphs


def has_subgraph(node: onnx.NodeProto) -> bool:
    """Whether ``node`` carries a graph attribute."""
    return any(True for _ in subgraphs(node))


def outer_scope_names(graph: onnx.GraphProto) -> set[str]:
    """Tensor names that nested subgraphs of ``graph`` read (possibly from the outer scope)."""
    names: set[str] = set()
    for node in graph.node:
        for sub in subgraphs(node):
            for inner in sub.node:
                names.update(t for t in inner.input if t)
            names.update(o.name for o in sub.output)
            names |= outer_scope_names(sub)
    return names


def replace_input(model: ModelWrapper, old: str, new: str, skip: Iterable[onnx.NodeProto] = ()) -> None:
    """Make every node that reads ``old`` read ``new`` instead (nodes in ``skip`` excepted)."""
    skipped = [id(n) for n in skip]
    for node in model.graph.node:
        if id(node) in skipped:
            continue
        for i, t in enumerate(node.input):
            if t == old:
                node.input[i] = new


def drop_tensor_metadata(model: ModelWrapper, name: str) -> None:
    """Remove the value infos and quantization annotations recorded for ``name``."""
    graph = model.graph
    for vi in [v for v in graph.value_info if v.name == name]:
        graph.value_info.remove(vi)
    for qa in [q for q in graph.quantization_annotation if q.tensor_name == name]:
        graph.quantization_annotation.remove(qa)


def replace_nodes(model: ModelWrapper, nodes: list[onnx.NodeProto]) -> None:
    """Set ``graph.node`` to copies of ``nodes`` in the given order."""
    copies = [onnx.NodeProto() for _ in nodes]
    for dst, src in zip(copies, nodes, strict=True):
        dst.CopyFrom(src)
    del model.graph.node[:]
    model.graph.node.extend(copies)


def bypass(model: ModelWrapper, node: onnx.NodeProto, source: str) -> None:
    """Remove a single-output node whose consumers then read ``source`` instead."""
    out = node.output[0]
    for consumer in model.find_consumers(out):
        for i, t in enumerate(consumer.input):
            if t == out:
                consumer.input[i] = source
    model.remove_node(node)
