"""FoldConstants: replace subgraphs that only read constants by initializers."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import helper

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import custom_ops, is_custom_node
from qnncc.execution.reference import ReferenceRunner

from ._graph import has_subgraph, outer_scope_names, replace_nodes
from .remove import MIN_IR_WITHOUT_STATIC_INPUTS

#: Ops whose result is not a function of their inputs (never folded).
NONDETERMINISTIC_OPS = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"}
)
#: Ops whose results are sequences rather than tensors (besides Sequence*/Optional*).
NON_TENSOR_OPS = frozenset({"SplitToSequence", "ConcatFromSequence"})
#: Custom ops kept by default: weight quantizers carry information (scale,
#: bit width) that the QONNX-to-FINN conversion still needs (as in QONNX).
DEFAULT_EXCLUDED = ("Quant", "BipolarQuant")


class FoldConstants(Transformation):
    """Evaluate every node whose inputs are all constant and store the results as initializers.

    Mirrors FINN/QONNX ``FoldConstants``. One round folds whole constant
    subgraphs: nodes are visited in topological order and a node whose
    inputs are initializers or outputs of already folded nodes is folded
    too. The folded nodes run together through the node-by-node reference
    executor (:class:`qnncc.execution.reference.ReferenceRunner`): standard
    ops in single-node onnxruntime sessions, custom ops through their numpy
    ``execute``, so the constants are bit for bit what execution computed.

    Only results that remaining nodes read become initializers; results used
    solely inside the folded subgraph disappear. A folded graph output stays
    produced by a node: it becomes ``Identity(<output>_const<k>)`` with the
    value in the new initializer, and such an ``Identity`` is never folded
    again. Datatype annotations of folded tensors are kept. The model keeps
    its IR version: below IR 4 the new initializers are also listed as graph
    inputs, as that IR requires.

    Not folded: ops in ``exclude_op_types``, nondeterministic ops
    (``Random*``, ``Bernoulli``, ``Multinomial``, ``Dropout``), nodes with
    subgraphs, sequence/optional ops, ops of other non-default domains and
    unknown custom ops. ``Shape`` of a tensor with a static shape (and no
    constant value) is folded when ``fold_shapes`` is set, as QONNX does: the
    declared shape, batch dimension included, becomes a constant, which fixes
    the batch size of that path (the executor's batching rewrite still
    adapts constant ``Reshape`` targets with a leading 1).

    Args:
        exclude_op_types: op types never folded (default: QONNX's
            ``Quant`` and ``BipolarQuant``).
        fold_shapes: fold ``Shape`` of non-constant tensors with a static shape.

    Raises:
        ExecutionError: if a foldable node fails to execute (names the node).
        GraphError: if the graph has a cycle.
    """

    def __init__(self, exclude_op_types: Iterable[str] = DEFAULT_EXCLUDED, fold_shapes: bool = True) -> None:
        self.exclude_op_types = frozenset(exclude_op_types)
        self.fold_shapes = fold_shapes

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Fold the constant subgraphs of ``model`` in place."""
        outputs = set(model.graph_output_names())
        constant = {i.name for i in model.graph.initializer}
        folded: list[onnx.NodeProto] = []
        shapes: dict[str, np.ndarray] = {}
        for node in model.topological_sort():
            if not self._foldable(model, node, outputs):
                continue
            inputs = [t for t in node.input if t]
            if all(t in constant for t in inputs):
                folded.append(node)
            elif self.fold_shapes and node.op_type == "Shape" and node.domain in ("", "ai.onnx"):
                value = _static_shape(model, node)
                if value is None:
                    continue
                shapes[node.output[0]] = value
            else:
                continue
            constant.update(t for t in node.output if t)
        if not folded and not shapes:
            return model, False
        values = dict(shapes)
        values.update(_evaluate(model, folded, shapes))
        shape_nodes = [n for n in model.graph.node if n.output and n.output[0] in shapes]
        _replace(model, folded + shape_nodes, values, outputs)
        return model, True

    def _foldable(self, model: ModelWrapper, node: onnx.NodeProto, outputs: set[str]) -> bool:
        if node.op_type in self.exclude_op_types or node.op_type in NONDETERMINISTIC_OPS or has_subgraph(node):
            return False
        if node.op_type.startswith(("Sequence", "Optional")) or node.op_type in NON_TENSOR_OPS:
            return False
        if is_custom_node(node):
            if node.op_type not in custom_ops():
                return False
        elif node.domain not in ("", "ai.onnx"):
            return False
        # Identity(constant) -> graph output is the canonical form of a constant graph output.
        return not (node.op_type == "Identity" and node.output[0] in outputs and model.is_constant(node.input[0]))


def _static_shape(model: ModelWrapper, node: onnx.NodeProto) -> np.ndarray | None:
    shape = model.get_tensor_shape(node.input[0])
    if shape is None:
        return None
    rank = len(shape)
    start = int(model.get_nodeattr(node, "start", 0))
    end = model.get_nodeattr(node, "end")
    stop = rank if end is None else int(end)
    return np.asarray(shape[start:stop], dtype=np.int64)  # Python slicing clamps like ONNX Shape-15


def _evaluate(model: ModelWrapper, nodes: list[onnx.NodeProto], known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run ``nodes`` (topologically ordered, constant inputs) and return every output value."""
    if not nodes:
        return {}
    needed = {t for n in nodes for t in n.input if t}
    inits = [onnx.numpy_helper.from_array(v, k) for k, v in known.items() if k in needed]
    inits += [i for i in model.graph.initializer if i.name in needed]
    outs = [helper.make_empty_tensor_value_info(t) for n in nodes for t in n.output if t]
    graph = helper.make_graph(list(nodes), "fold_constants", [], outs, inits)
    proto = helper.make_model(graph, opset_imports=list(model.model.opset_import))
    proto.ir_version = model.model.ir_version
    return ReferenceRunner(proto).run({}, return_all=True)


def _replace(
    model: ModelWrapper, folded: list[onnx.NodeProto], values: dict[str, np.ndarray], outputs: set[str]
) -> None:
    """Swap the folded nodes for initializers (and Identity nodes for graph outputs)."""
    gone = {id(n) for n in folded}
    remaining = [n for n in model.graph.node if id(n) not in gone]
    read = {t for n in remaining for t in n.input} | outer_scope_names(model.graph)
    new_nodes: list[onnx.NodeProto] = []
    for node in model.graph.node:
        if id(node) not in gone:
            new_nodes.append(node)
            continue
        for out in node.output:
            if not out:
                continue
            if out in outputs:
                const = model.make_new_name(f"{out}_const")
                _add_initializer(model, const, values[out])
                dtype = model.get_tensor_datatype(out)
                if not dtype.is_float():
                    model.set_tensor_datatype(const, dtype)
                name = f"{node.name or node.op_type}_const"
                new_nodes.append(helper.make_node("Identity", [const], [out], name=name))
            elif out in read:
                _add_initializer(model, out, values[out])
    replace_nodes(model, new_nodes)
    model.cleanup_value_infos(keep=outputs)


def _add_initializer(model: ModelWrapper, name: str, value: np.ndarray) -> None:
    """Store a folded value; below IR 4 every initializer must also be listed as a graph input."""
    model.set_initializer(name, value)
    if model.model.ir_version < MIN_IR_WITHOUT_STATIC_INPUTS:
        elem = helper.np_dtype_to_tensor_dtype(value.dtype)
        model.graph.input.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
