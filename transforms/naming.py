"""Naming passes: GiveUniqueNodeNames and GiveReadableTensorNames (FINN conventions)."""

from __future__ import annotations

from collections.abc import Iterator

from qnncc.core.errors import GraphError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._graph import outer_scope_names


class GiveUniqueNodeNames(Transformation):
    """Name every node ``<prefix><OpType>_<k>``, counting per op type in graph order.

    Mirrors FINN/QONNX ``GiveUniqueNodeNames``: the nodes of a graph with two
    MatMuls become ``MatMul_0`` and ``MatMul_1``. Existing names are
    overwritten. One round always suffices (``changed`` is False).

    Args:
        prefix: optional string put before every name.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Rename the nodes of ``model`` in place."""
        counts: dict[str, int] = {}
        for node in model.graph.node:
            k = counts.get(node.op_type, 0)
            counts[node.op_type] = k + 1
            node.name = f"{self.prefix}{node.op_type}_{k}"
        return model, False


class GiveReadableTensorNames(Transformation):
    """Rename tensors after the nodes that produce or read them (FINN convention).

    Mirrors FINN/QONNX ``GiveReadableTensorNames``:

    * output ``i`` of node ``N`` becomes ``N_out<i>``;
    * the ``j``-th initializer input of node ``N`` becomes ``N_param<j>``
      (an initializer shared by several nodes is named after the first);
    * the real graph inputs become ``global_in``, ``global_in_1``, ... and the
      graph outputs ``global_out``, ``global_out_1``, ... (a tensor that is
      both a graph input and a graph output keeps its input name).

    Renaming uses :meth:`ModelWrapper.rename_tensor`, so value infos and
    datatype/layout annotations follow the tensors. Tensors are first moved
    to temporary names, so no rename can clash with a name still in use. Node
    names must be unique and non-empty (run :class:`GiveUniqueNodeNames`
    first); then the new names cannot collide. Tensors that subgraphs (If,
    Loop bodies) read keep their names. The pass is idempotent and one round
    always suffices (``changed`` is False).

    Raises:
        GraphError: if a node has an empty or duplicate name.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Rename the tensors of ``model`` in place."""
        _check_node_names(model)
        target = _readable_names(model)
        pending = {old: new for old, new in target.items() if old != new}
        if not pending:
            return model, False
        graph = model.graph
        existing = set(model.get_all_tensor_names()) | set(model.graph_output_names())
        existing |= {vi.name for vi in graph.value_info} | {qa.tensor_name for qa in graph.quantization_annotation}
        fresh = _fresh_names(existing | set(target.values()))
        # Tensors (or stale value infos/annotations) that keep their name but hold
        # a name about to be given away are moved out of the way first.
        for name in sorted((existing - set(target)) & set(pending.values())):
            model.rename_tensor(name, next(fresh))
        temp = {old: next(fresh) for old in pending}
        for old, tmp in temp.items():
            model.rename_tensor(old, tmp)
        for old, new in pending.items():
            model.rename_tensor(temp[old], new)
        return model, False


def _fresh_names(used: set[str]) -> Iterator[str]:
    counter = 0
    while True:
        name = f"__qnncc_tmp{counter}"
        counter += 1
        if name not in used:
            yield name


def _check_node_names(model: ModelWrapper) -> None:
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        if not node.name:
            raise GraphError(f"node #{i} ({node.op_type}) has no name; run GiveUniqueNodeNames first")
        if node.name in seen:
            raise GraphError(f"node name {node.name!r} is used twice; run GiveUniqueNodeNames first")
        seen.add(node.name)


def _readable_names(model: ModelWrapper) -> dict[str, str]:
    """Map of every tensor to rename onto its readable name."""
    inits = {i.name for i in model.graph.initializer}
    target: dict[str, str] = {}
    for node in model.graph.node:
        for i, out in enumerate(node.output):
            if out and out not in target:
                target[out] = f"{node.name}_out{i}"
        params = [t for t in node.input if t in inits]
        for j, inp in enumerate(params):
            target.setdefault(inp, f"{node.name}_param{j}")
    outputs = model.graph_output_names()
    inputs = model.graph_input_names()
    for k, name in enumerate(outputs):
        if name not in inputs:
            target[name] = "global_out" if k == 0 else f"global_out_{k}"
    for k, name in enumerate(inputs):
        target[name] = "global_in" if k == 0 else f"global_in_{k}"
    frozen = outer_scope_names(model.graph)  # rename_tensor does not reach into subgraphs
    taken = frozen | set(target.values())
    for old, new in list(target.items()):
        if old in frozen:
            target[old] = old
        elif new in frozen:
            while new in taken:
                new += "_"
            target[old] = new
            taken.add(new)
    return target
