"""Transposes at joins and forks: MoveTransposePastJoinAdd, MergeParallelTransposes.

A residual block lowered to channels-last leaves equal transposes on both
inputs of an ``Add`` (moved past it, so they meet the next layer's and
cancel) and several equal transposes of one tensor (merged into one).
"""

from __future__ import annotations

import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from .._graph import drop_tensor_metadata, replace_input
from ._util import (
    NCHW_TO_NHWC,
    NHWC_TO_NCHW,
    ensure_shapes,
    insert_nodes,
    is_graph_output,
    remove_if_dead,
    transpose_perm,
)
from .nhwc import nhwc_shape


class MoveTransposePastJoinAdd(Transformation):
    """Move the ``Transpose`` nodes on the inputs of an ``Add`` past it (FINN's ``MoveTransposePastJoinAdd``).

    Patterns, ``a`` and ``b`` non-constant with equal static shapes (no broadcasting):

    * ``Add(Transpose(a, perm), Transpose(b, perm)) -> z``, any ``perm``: the
      two branches of a lowered residual block both return to NCHW;
    * ``Add(Transpose(a, NHWC->NCHW), b) -> z`` (either order) where ``b`` is
      not such a transpose: a branch still in NCHW, e.g. a shortcut
      quantizer reading the block input. ``b`` gets a new
      ``Transpose(NCHW->NHWC)``, which the other passes move up its branch.

    Rewrite: ``Add(a, b') -> m -> Transpose(m, perm) -> z`` (``b'`` is ``b``
    resp. its new transpose); ``m`` has ``a``'s shape and layout and ``z``'s
    datatype. A transpose whose output nothing else reads is removed. The
    transpose after the join can then cancel with the next one or be absorbed
    by the next ``MultiThreshold``, leaving the join in NHWC. Only transposes
    back to NCHW move down on one side, so the rewrite cannot undo itself.

    Why it is exact: an elementwise sum of equally shaped tensors commutes
    with any permutation of the axes, and a transpose followed by its
    inverse is the identity; the same float32 additions are done.
    All matches are rewritten in one round.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type != "Add" or node.domain not in ("", "ai.onnx") or len(node.input) != 2:
                continue
            if any(not t or model.is_constant(t) for t in node.input):
                continue
            ensure_shapes(model, [*node.input, node.output[0]])
            changed |= _move_transposes_past_add(model, node)
        return model, changed


def _plain_transpose(model: ModelWrapper, node: onnx.NodeProto | None) -> list[int] | None:
    if node is None or node.op_type != "Transpose" or node.domain not in ("", "ai.onnx"):
        return None
    return transpose_perm(model, node)


def _move_transposes_past_add(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    z = node.output[0]
    pre = [model.find_producer(t) for t in node.input]
    perms = [_plain_transpose(model, p) for p in pre]
    z_shape = model.get_tensor_shape(z)
    if z_shape is None or any(model.get_tensor_shape(t) != z_shape for t in node.input):
        return False
    before: list[onnx.NodeProto] = []
    if perms[0] is not None and perms[0] == perms[1]:
        perm = perms[0]
        new_inputs = [str(p.input[0]) for p in pre if p is not None]
        shape = model.get_tensor_shape(new_inputs[0])
        if shape is None or shape != model.get_tensor_shape(new_inputs[1]):
            return False
    elif NHWC_TO_NCHW in perms and len(z_shape) == 4:
        perm = NHWC_TO_NCHW
        k = perms.index(NHWC_TO_NCHW)
        src, other = pre[k], str(node.input[1 - k])
        assert src is not None
        shape = model.get_tensor_shape(src.input[0])
        if shape is None or shape != nhwc_shape(z_shape):
            return False
        moved = model.make_new_name(f"{other}_nhwc")
        model.set_tensor_shape(moved, shape)
        dt = model.get_tensor_datatype(other)
        model.set_tensor_datatype(moved, None if dt.is_float() else dt)
        model.set_tensor_layout(moved, "NHWC")
        name = model.make_new_name(f"{node.name or 'Add'}_{other}_to_nhwc")
        before.append(helper.make_node("Transpose", [other], [moved], name=name, perm=NCHW_TO_NHWC))
        new_inputs = [str(src.input[0]), moved] if k == 0 else [moved, str(src.input[0])]
    else:
        return False
    m = model.make_new_name(f"{node.name or 'Add'}_pre_transpose")
    model.set_tensor_shape(m, shape)
    dt = model.get_tensor_datatype(z)
    model.set_tensor_datatype(m, None if dt.is_float() else dt)
    layout = model.get_tensor_layout(new_inputs[0])
    if layout is not None:
        model.set_tensor_layout(m, layout)
    node.input[0], node.input[1] = new_inputs
    node.output[0] = m
    tr_name = model.make_new_name(f"{node.name or 'Add'}_transpose")
    idx = model.get_node_index(node)
    insert_nodes(model, idx + 1, [helper.make_node("Transpose", [m], [z], name=tr_name, perm=perm)])
    insert_nodes(model, idx, before)
    for p in {id(p): p for p in pre if p is not None and _plain_transpose(model, p) is not None}.values():
        remove_if_dead(model, p)
    return True


class MergeParallelTransposes(Transformation):
    """Transposes with the same input and ``perm`` become one (common-subexpression elimination).

    Pattern: two or more default-domain ``Transpose`` nodes reading the same
    tensor with the same permutation, e.g. after a fork whose branches both
    move to NHWC. Rewrite: the first one stays; readers of the others read
    its output, and the others are removed (unless their output is a graph
    output). Why it is exact: the nodes compute the same tensor.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        seen: dict[tuple[str, tuple[int, ...]], onnx.NodeProto] = {}
        for node in list(model.graph.node):
            perm = _plain_transpose(model, node)
            if perm is None:
                continue
            key = (str(node.input[0]), tuple(perm))
            first = seen.setdefault(key, node)
            if first is node or is_graph_output(model, node.output[0]):
                continue
            replace_input(model, node.output[0], first.output[0])
            model.remove_node(node)
            drop_tensor_metadata(model, node.output[0])
            changed = True
        return model, changed
