"""Clean-up passes: RemoveStaticGraphInputs and RemoveUnusedTensors."""

from __future__ import annotations

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._graph import outer_scope_names

#: First ONNX IR version in which an initializer need not be a graph input.
MIN_IR_WITHOUT_STATIC_INPUTS = 4


class RemoveStaticGraphInputs(Transformation):
    """Drop graph inputs that are also initializers.

    Mirrors FINN/QONNX ``RemoveStaticGraphInputs``. Exporters targeting ONNX
    IR < 4 (e.g. LFC-W1A1, the ONNX-zoo mnist-conv) list every weight as a
    graph input; afterwards only the real inputs remain. The initializers
    keep their values, datatype annotations and shapes (their ``graph.input``
    value infos are dropped, the initializer dims carry the shape). IR < 4
    requires each initializer to be a graph input, so when anything is
    removed from such a model its ``ir_version`` is raised to 4, the first
    version without that rule; IR 4 changes nothing else (an initializer
    listed as input merely becomes overridable), so the model's meaning is
    unchanged and ``onnx.checker`` and onnxruntime accept it.
    ``changed`` reports whether an input was removed (a second round is a
    no-op).
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Remove the static inputs of ``model`` in place."""
        inits = {i.name for i in model.graph.initializer}
        static = [vi for vi in model.graph.input if vi.name in inits]
        for vi in static:
            model.graph.input.remove(vi)
        if static and model.model.ir_version < MIN_IR_WITHOUT_STATIC_INPUTS:
            model.model.ir_version = MIN_IR_WITHOUT_STATIC_INPUTS
        return model, bool(static)


class RemoveUnusedTensors(Transformation):
    """Remove dead nodes and every trace of tensors the graph no longer uses.

    Mirrors FINN/QONNX ``RemoveUnusedTensors``, extended with dead-code
    elimination:

    * a node is dead when none of its outputs is a graph output or is read,
      directly or through other nodes, by a live node (nodes are visited in
      reverse topological order, so whole dead chains go in one round);
    * initializers, value infos and quantization annotations of tensors that
      no remaining node reads or writes and that are not graph inputs or
      outputs are dropped; a static graph input (an initializer listed in
      ``graph.input``, old IR) that became unused is dropped with its
      initializer.

    Real graph inputs are always kept, used or not, so the model's interface
    does not change. Tensors read by subgraphs (If/Loop bodies) count as used.
    ``changed`` reports whether anything was removed (one round always
    suffices, so a second round is a no-op).

    Raises:
        GraphError: if the graph has a cycle.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Prune ``model`` in place."""
        graph = model.graph
        needed = set(model.graph_output_names()) | outer_scope_names(graph)
        live: set[int] = set()
        for node in reversed(model.topological_sort()):
            if any(t in needed for t in node.output if t):
                live.add(id(node))
                needed.update(t for t in node.input if t)
        dead = [n for n in graph.node if id(n) not in live]
        for node in dead:
            graph.node.remove(node)

        used = set(model.graph_output_names()) | outer_scope_names(graph)
        for node in graph.node:
            used.update(t for t in list(node.input) + list(node.output) if t)
        inits = {i.name for i in graph.initializer}
        real_inputs = {vi.name for vi in graph.input if vi.name not in inits}
        keep = used | real_inputs
        stale = (
            [(graph.initializer, i) for i in graph.initializer if i.name not in keep]
            + [(graph.input, v) for v in graph.input if v.name not in keep]
            + [(graph.value_info, v) for v in graph.value_info if v.name not in keep]
            + [(graph.quantization_annotation, q) for q in graph.quantization_annotation if q.tensor_name not in keep]
        )
        for container, item in stale:
            container.remove(item)
        return model, bool(dead or stale)
