"""Structure of an ONNX graph: its networkx view, a stable topological order, and validation.

Pure functions of ``onnx.GraphProto`` / ``onnx.ModelProto``;
:class:`~qnncc.core.model_wrapper.ModelWrapper` exposes them as ``to_networkx``,
``topological_sort`` and ``check``.
"""

from __future__ import annotations

import networkx as nx
import onnx

from qnncc.core.errors import GraphError

__all__ = ["check_model", "graph_to_networkx", "topological_order"]


def graph_to_networkx(graph: onnx.GraphProto) -> nx.MultiDiGraph:
    """Graph view: nodes keyed by index with ``node`` data, edges labelled by tensor.

    Returns:
        A ``networkx.MultiDiGraph`` whose vertices are node indices into
        ``graph.node`` (attribute ``node`` holds the NodeProto, ``name`` its
        name) and whose edges carry the connecting tensor name in
        attribute ``tensor``.
    """
    g: nx.MultiDiGraph = nx.MultiDiGraph()
    producer: dict[str, int] = {}
    for i, node in enumerate(graph.node):
        g.add_node(i, node=node, name=node.name, op_type=node.op_type)
        for t in node.output:
            if t:
                producer[t] = i
    for j, node in enumerate(graph.node):
        for t in node.input:
            if t in producer:
                g.add_edge(producer[t], j, tensor=t)
    return g


def topological_order(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Nodes in an order where every producer comes before its consumers.

    Ties keep the current graph order, so a sorted graph stays unchanged.

    Raises:
        GraphError: if the graph has a cycle (the message names its nodes).
    """
    g = graph_to_networkx(graph)
    try:
        order = list(nx.lexicographical_topological_sort(g))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(g)
        names = [graph.node[u].name or f"{graph.node[u].op_type}#{u}" for u, *_ in cycle]
        raise GraphError(f"graph has a cycle through nodes {' -> '.join(names)}") from None
    return [graph.node[i] for i in order]


def check_model(model: onnx.ModelProto, require_shapes: bool = False) -> None:
    """Validate a model and raise one clear error for the first problem found.

    Checks: no cycle, every node input is produced, an initializer or a graph
    input, no tensor is produced twice, every graph output is produced, with
    ``require_shapes`` every graph input (not an initializer) has a static
    shape, and ``onnx.checker`` passes.

    Raises:
        GraphError: naming the node or tensor at fault.
    """
    graph = model.graph
    topological_order(graph)
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    produced: dict[str, str] = {}
    for node in graph.node:
        for t in node.output:
            if not t:
                continue
            if t in produced or t in available:
                raise GraphError(f"tensor {t!r} is produced twice (by node {node.name or node.op_type!r})")
            produced[t] = node.name
    known = available | set(produced)
    for node in graph.node:
        missing = [t for t in node.input if t and t not in known]
        if missing:
            raise GraphError(f"node {node.name or node.op_type!r} reads tensor(s) {missing} that nothing produces")
    for out in graph.output:
        if out.name not in known:
            raise GraphError(f"graph output {out.name!r} is not produced by any node")
    if require_shapes:
        inits = {i.name for i in graph.initializer}
        for vi in graph.input:
            if vi.name not in inits and not _static_shape(vi):
                raise GraphError(f"graph input {vi.name!r} has no static shape")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0]
        raise GraphError(f"ONNX checker: {first}") from None


def _static_shape(vi: onnx.ValueInfoProto) -> bool:
    tensor = vi.type.tensor_type
    return tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim)
