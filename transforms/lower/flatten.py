"""Channels-last clean-up at the ends of a lowered CNN.

* :class:`AbsorbTransposeIntoFlatten` removes the ``Transpose(NHWC->NCHW)``
  before the flatten that feeds the first fully connected layer by permuting
  that layer's weight rows (FINN's ``RemoveCNVtoFCFlatten`` idea);
* :class:`TransposeToReshape` turns a Transpose that only moves size-1 axes
  (e.g. ``NCHW -> NHWC`` of a one-channel input) into a Reshape;
* :class:`CollapseConsecutiveReshapes` merges back-to-back reshapes;
* :class:`ConvertToNHWC` repeats the channels-last passes until the
  transposes between layers are gone.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from .._graph import drop_tensor_metadata
from ._util import NHWC_TO_NCHW, is_graph_output, is_transpose, transpose_perm
from .nhwc import (
    AbsorbTransposeIntoMultiThreshold,
    MakeMaxPoolNHWC,
    MoveTransposeBeforeMultiThreshold,
    RemoveConsecutiveTransposes,
)
from .transpose_joins import MergeParallelTransposes, MoveTransposePastJoinAdd


def _sole(model: ModelWrapper, tensor: str) -> onnx.NodeProto | None:
    return None if is_graph_output(model, tensor) else model.find_consumer(tensor)


def _is_flatten_2d(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    out = model.get_tensor_shape(node.output[0])
    if node.op_type == "Flatten":
        return int(model.get_nodeattr(node, "axis", 1)) == 1
    return node.op_type == "Reshape" and out is not None and len(out) == 2


class AbsorbTransposeIntoFlatten(Transformation):
    """``Transpose(NHWC->NCHW) -> Flatten/Reshape[N, C*H*W] -> MatMul(W)`` without the Transpose.

    The flatten then reads the NHWC tensor directly, producing features in
    ``(h, w, c)`` order, and the rows of the constant ``W [C*H*W, K]`` are
    permuted from ``(c, h, w)`` to ``(h, w, c)`` order to match. Exact in real
    arithmetic (the same products, summed in another order): bit-exact for
    integer-valued operands, within float32 rounding otherwise.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for tr in model.get_nodes_by_op_type("Transpose"):
            if not is_transpose(model, tr, NHWC_TO_NCHW):
                continue
            flat = _sole(model, tr.output[0])
            in_shape = model.get_tensor_shape(tr.input[0])
            if flat is None or in_shape is None or not _is_flatten_2d(model, flat):
                continue
            matmul = _sole(model, flat.output[0])
            weights = model.get_initializer(matmul.input[1]) if matmul is not None else None
            if matmul is None or matmul.op_type != "MatMul" or matmul.input[0] != flat.output[0] or weights is None:
                continue
            _, h, w, c = in_shape
            if weights.shape[0] != c * h * w:
                continue
            permuted = weights.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(c * h * w, -1)
            name = model.make_new_name(f"{matmul.name or 'MatMul'}_weights_nhwc")
            model.set_initializer(name, np.ascontiguousarray(permuted))
            model.set_tensor_datatype(name, model.get_tensor_datatype(matmul.input[1]))
            matmul.input[1] = name
            flat.input[0] = tr.input[0]
            model.remove_node(tr)
            changed = True
        return model, changed


class TransposeToReshape(Transformation):
    """A Transpose that keeps the order of all axes of size > 1 becomes a Reshape.

    Moving only size-1 axes does not change the element order in memory, so
    the Reshape is exact (e.g. ``[N, 1, H, W] -> [N, H, W, 1]``).
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for tr in model.get_nodes_by_op_type("Transpose"):
            shape = model.get_tensor_shape(tr.input[0])
            perm = transpose_perm(model, tr)
            if shape is None or perm is None:
                continue
            big = [a for a in perm if shape[a] != 1]
            if big != sorted(big):
                continue
            target = np.array([shape[a] for a in perm], dtype=np.int64)
            name = model.make_new_name(f"{tr.name or 'Transpose'}_shape")
            model.set_initializer(name, target)
            idx = model.get_node_index(tr)
            model.remove_node(tr)
            model.graph.node.insert(
                idx,
                helper.make_node(
                    "Reshape", [tr.input[0], name], [tr.output[0]], name=f"{tr.name or 'Transpose'}_reshape"
                ),
            )
            changed = True
        return model, changed


#: Ops that keep the row-major element order and only change the shape.
RESHAPES = ("Reshape", "Flatten")


class CollapseConsecutiveReshapes(Transformation):
    """``Reshape|Flatten -> Reshape|Flatten`` becomes one ``Reshape`` to the final static shape.

    Pattern: a ``Reshape`` or ``Flatten`` reading the private output of
    another one (one reader, not a graph output), the final output shape
    known. Typical after a global pool: ``[1, 1, 1, C]`` (NHWC) reshaped to
    NCHW ``[1, C, 1, 1]``, then flattened to ``[1, C]``.

    Why it is exact: both ops keep the row-major order of the elements, so
    their composition is a reshape of the first input to the final shape.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for second in list(model.graph.node):
            if second.op_type not in RESHAPES or second.domain not in ("", "ai.onnx"):
                continue
            first = model.find_producer(second.input[0])
            if first is None or first.op_type not in RESHAPES or first.domain not in ("", "ai.onnx"):
                continue
            reader = _sole(model, first.output[0])
            if reader is None or reader is not second:
                continue
            shape = model.get_tensor_shape(second.output[0])
            if shape is None or any(d <= 0 for d in shape):
                continue
            name = model.make_new_name(f"{second.name or second.op_type}_shape")
            model.set_initializer(name, np.array(shape, dtype=np.int64))
            idx = model.get_node_index(second)
            reshape = helper.make_node(
                "Reshape", [first.input[0], name], [second.output[0]], name=second.name or "Reshape"
            )
            model.remove_node(second)
            model.graph.node.insert(idx, reshape)
            model.remove_node(first)
            drop_tensor_metadata(model, first.output[0])
            changed = True
        return model, changed


def channels_last_passes() -> list[Transformation]:
    """Fresh instances of the layout passes :class:`ConvertToNHWC` repeats, in order."""
    return [
        MakeMaxPoolNHWC(),
        AbsorbTransposeIntoMultiThreshold(),
        MoveTransposeBeforeMultiThreshold(),
        MoveTransposePastJoinAdd(),
        MergeParallelTransposes(),
        RemoveConsecutiveTransposes(),
        AbsorbTransposeIntoFlatten(),
    ]


def reshape_cleanup_passes() -> list[Transformation]:
    """Fresh instances of the passes :class:`ConvertToNHWC` runs once the layout passes are done."""
    return [TransposeToReshape(), CollapseConsecutiveReshapes()]


class ConvertToNHWC(Transformation):
    """Run the channels-last passes to a fixpoint after :class:`LowerConvsToMatMul`.

    Repeats :func:`channels_last_passes` (:class:`MakeMaxPoolNHWC`,
    :class:`AbsorbTransposeIntoMultiThreshold`, :class:`MoveTransposeBeforeMultiThreshold`,
    :class:`MoveTransposePastJoinAdd`, :class:`MergeParallelTransposes`,
    :class:`RemoveConsecutiveTransposes`, :class:`AbsorbTransposeIntoFlatten`) until none applies, then
    :func:`reshape_cleanup_passes` (:class:`TransposeToReshape`,
    :class:`CollapseConsecutiveReshapes`), and again while anything changes.
    Each pass is exact. The cleanup waits for the layout passes: a
    transpose of a one-channel tensor turned into a reshape too early could
    no longer cancel with its partner or be absorbed.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        before = model.serialize()
        for step in channels_last_passes():
            model = step.run(model)
        if model.serialize() != before:
            return model, True
        for step in reshape_cleanup_passes():
            model = step.run(model)
        return model, model.serialize() != before
