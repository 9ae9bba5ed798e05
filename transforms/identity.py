"""RemoveIdentityOps: delete nodes that compute the identity function."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._graph import drop_tensor_metadata, outer_scope_names, replace_input

Shape = tuple[int, ...]
Rule = Callable[[ModelWrapper, onnx.NodeProto], str | None]


class RemoveIdentityOps(Transformation):
    """Remove nodes whose output always equals their (first data) input.

    Mirrors FINN/QONNX ``RemoveIdentityOps`` but only removes exact
    identities (QONNX compares with a tolerance). Removed:

    * ``Identity``; ``Dropout`` (inference) whose mask output is unused and
      whose ``training_mode`` input, if any, is a constant false;
    * ``Cast`` to the input's own element type;
    * ``Add`` of an all-zero constant (either side), ``Sub`` of an all-zero
      constant, ``Mul`` by an all-one constant (either side), ``Div`` by an
      all-one constant;
    * ``Reshape``, ``Flatten``, ``Squeeze``, ``Expand`` and ``Tile`` whose
      output shape, computed from the static input shape and the constant
      shape operands, equals the input shape; ``Transpose`` with the
      identity permutation; ``Pad`` with all-zero pads;
    * ``Concat``, ``Sum``, ``Max``, ``Min`` and ``Mean`` with a single input.

    A node is only removed when the shapes prove that broadcasting cannot
    change the output shape, so static shapes are needed (run
    :class:`InferShapes` first); nodes whose shapes are unknown stay. Removed
    values are bit for bit the input, with one IEEE-754 subtlety: ``x + 0.0``
    and ``x - (-0.0)`` turn ``-0.0`` into ``+0.0``, which compare equal but
    differ in sign (``x - 0.0``, ``x * 1`` and ``x / 1`` are exact).

    Rewiring: consumers of the removed output read the input instead. If the
    removed output is a graph output, the input's producer writes the graph
    output name instead (and every reader follows); a node is kept when that
    is impossible, i.e. its input is a graph input, an initializer or another
    graph output, or subgraphs read the tensors. ``changed`` reports whether a
    node was removed.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Remove the identity nodes of ``model`` in place."""
        changed = False
        for node in list(model.graph.node):
            source = identity_source(model, node)
            if source is not None and _bypass(model, node, source):
                changed = True
        return model, changed


def identity_source(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    """Input tensor that ``node``'s first output provably equals, or None."""
    if node.domain not in ("", "ai.onnx") or len(node.output) == 0:
        return None
    if len(node.output) > 1 and not (node.op_type == "Dropout" and _unused(model, node.output[1:])):
        return None
    rule = _RULES.get(node.op_type)
    return rule(model, node) if rule is not None else None


# ----------------------------------------------------------------- rules
def _const(model: ModelWrapper, node: onnx.NodeProto, index: int) -> np.ndarray | None:
    name = node.input[index] if index < len(node.input) else ""
    return model.get_initializer(name) if name else None


def _unused(model: ModelWrapper, names: list[str]) -> bool:
    outputs = set(model.graph_output_names())
    return all(not t or (t not in outputs and not model.find_consumers(t)) for t in names)


def _shape(model: ModelWrapper, name: str) -> Shape | None:
    shape = model.get_tensor_shape(name)
    return None if shape is None else tuple(shape)


def _identity(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    return node.input[0] if node.input and node.input[0] else None


def _dropout(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    if len(node.input) > 2 and node.input[2]:
        training = _const(model, node, 2)
        if training is None or bool(np.any(training)):
            return None
    return _identity(model, node)


def _cast(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    elem = model.get_tensor_elem_type(node.input[0])
    return node.input[0] if elem is not None and elem == model.get_nodeattr(node, "to") else None


def _neutral_operand(neutral: float, commutative: bool) -> Rule:
    def rule(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
        if len(node.input) != 2:
            return None
        for data, const in ((0, 1), (1, 0)) if commutative else ((0, 1),):
            value = _const(model, node, const)
            if value is None or value.dtype.kind not in "biuf" or not bool(np.all(value == neutral)):
                continue
            shape = _shape(model, node.input[data])
            if shape is not None and _broadcast(shape, value.shape) == shape:
                return node.input[data]
        return None

    return rule


def _broadcast(a: Shape, b: Shape) -> Shape | None:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(a, b))
    except ValueError:
        return None


def _same_shape(compute: Callable[[ModelWrapper, onnx.NodeProto, Shape], Shape | None]) -> Rule:
    def rule(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
        shape = _shape(model, node.input[0]) if node.input else None
        if shape is None:
            return None
        return node.input[0] if compute(model, node, shape) == shape else None

    return rule


def _reshape_out(model: ModelWrapper, node: onnx.NodeProto, shape: Shape) -> Shape | None:
    target = _const(model, node, 1)
    if target is None:
        return None
    dims = [int(d) for d in target.reshape(-1)]
    if not model.get_nodeattr(node, "allowzero", 0):
        dims = [shape[i] if d == 0 and i < len(shape) else d for i, d in enumerate(dims)]
    if dims.count(-1) == 1:
        known = int(np.prod([d for d in dims if d != -1]))
        total = int(np.prod(shape))
        if known == 0 or total % known:
            return None
        dims[dims.index(-1)] = total // known
    return tuple(dims)


def _flatten_out(model: ModelWrapper, node: onnx.NodeProto, shape: Shape) -> Shape | None:
    axis = int(model.get_nodeattr(node, "axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    return (int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))


def _squeeze_out(model: ModelWrapper, node: onnx.NodeProto, shape: Shape) -> Shape | None:
    axes = model.get_nodeattr(node, "axes")
    if len(node.input) > 1 and node.input[1]:
        value = _const(model, node, 1)
        if value is None:
            return None
        axes = [int(a) for a in value.reshape(-1)]
    if not axes:  # absent or empty: onnxruntime squeezes every 1 (ONNX shape inference keeps all)
        return tuple(d for d in shape if d != 1)
    drop = {a + len(shape) if a < 0 else a for a in axes}
    return tuple(d for i, d in enumerate(shape) if i not in drop)


def _expand_out(model: ModelWrapper, node: onnx.NodeProto, shape: Shape) -> Shape | None:
    target = _const(model, node, 1)
    return None if target is None else _broadcast(shape, tuple(int(d) for d in target.reshape(-1)))


def _tile_out(model: ModelWrapper, node: onnx.NodeProto, shape: Shape) -> Shape | None:
    repeats = _const(model, node, 1)
    if repeats is None or repeats.size != len(shape):
        return None
    return tuple(d * int(r) for d, r in zip(shape, repeats.reshape(-1), strict=True))


def _transpose(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    perm = model.get_nodeattr(node, "perm")
    if perm is None:
        shape = _shape(model, node.input[0])
        return node.input[0] if shape is not None and len(shape) <= 1 else None
    return node.input[0] if list(perm) == list(range(len(perm))) else None


def _pad(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    pads = model.get_nodeattr(node, "pads")
    if len(node.input) > 1 and node.input[1]:
        value = _const(model, node, 1)
        pads = None if value is None else value.reshape(-1).tolist()
    return node.input[0] if pads is not None and not any(pads) else None


def _single_input(model: ModelWrapper, node: onnx.NodeProto) -> str | None:
    return node.input[0] if len(node.input) == 1 and node.input[0] else None


_RULES: dict[str, Rule] = {
    "Identity": _identity,
    "Dropout": _dropout,
    "Cast": _cast,
    "Add": _neutral_operand(0, commutative=True),
    "Sub": _neutral_operand(0, commutative=False),
    "Mul": _neutral_operand(1, commutative=True),
    "Div": _neutral_operand(1, commutative=False),
    "Reshape": _same_shape(_reshape_out),
    "Flatten": _same_shape(_flatten_out),
    "Squeeze": _same_shape(_squeeze_out),
    "Expand": _same_shape(_expand_out),
    "Tile": _same_shape(_tile_out),
    "Transpose": _transpose,
    "Pad": _pad,
    "Concat": _single_input,
    "Sum": _single_input,
    "Max": _single_input,
    "Min": _single_input,
    "Mean": _single_input,
}


# ----------------------------------------------------------------- rewiring
def _bypass(model: ModelWrapper, node: onnx.NodeProto, source: str) -> bool:
    """Remove ``node`` so its output's readers read ``source``; False if impossible."""
    out = node.output[0]
    if {source, out} & outer_scope_names(model.graph):
        return False
    if out not in model.graph_output_names():
        model.remove_node(node)
        replace_input(model, out, source)
        drop_tensor_metadata(model, out)
        return True
    producer = model.find_producer(source)
    if producer is None or source in model.graph_output_names():
        return False
    model.remove_node(node)
    annotations = model.graph.quantization_annotation
    if not any(qa.tensor_name == out for qa in annotations):
        for qa in annotations:  # the graph output inherits the source's annotations
            if qa.tensor_name == source:
                qa.tensor_name = out
    drop_tensor_metadata(model, source)
    producer.output[:] = [out if t == source else t for t in producer.output]
    replace_input(model, source, out)
    return True
