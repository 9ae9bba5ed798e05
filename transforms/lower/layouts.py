"""InferDataLayouts: annotate every tensor's data layout (``NCHW``, ``NHWC``, ``NC``, ...).

Layouts are written with :meth:`ModelWrapper.set_tensor_layout` in the
QONNX list form, where FINN's and QONNX's ``InferDataLayouts`` put them.
"""

from __future__ import annotations

import onnx
from typing_extensions import override

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.multithreshold import DEFAULT_LAYOUT_BY_RANK as MT_DEFAULT_BY_RANK

from ._util import ensure_shapes, transpose_perm

#: Layout of a graph input without annotation, by rank (as QONNX guesses).
INPUT_LAYOUT_BY_RANK = {1: "N", 2: "NC", 3: "NWC", 4: "NCHW"}
#: Layout of an output nothing else decides, by rank (QONNX's fallback).
FALLBACK_LAYOUT_BY_RANK = {1: "N", 2: "NC", 3: "NWC", 4: "NHWC"}
#: Standard ONNX ops whose outputs are channels-first by definition.
CHANNELS_FIRST_OPS = frozenset(
    {
        "Conv",
        "ConvTranspose",
        "MaxPool",
        "AveragePool",
        "LpPool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "BatchNormalization",
        "InstanceNormalization",
        "LRN",
        "DepthToSpace",
        "SpaceToDepth",
    }
)
CHANNELS_FIRST_BY_RANK = {3: "NCW", 4: "NCHW", 5: "NCDHW"}
#: Custom ops whose output is NHWC by definition.
CHANNELS_LAST_OPS = frozenset({"Im2Col", "MaxPoolNHWC"})


class InferDataLayouts(Transformation):
    """Annotate graph inputs and node outputs with their data layout.

    Graph inputs without a layout get one from their rank (4-D: ``NCHW``,
    3-D: ``NWC``, 2-D: ``NC``, 1-D: ``N``, as QONNX assumes). Nodes are then
    visited in topological order, each output getting:

    * ``Transpose``: the input layout permuted by ``perm`` (``NCHW`` with
      ``perm=[0, 2, 3, 1]`` gives ``NHWC``);
    * ``Im2Col``, ``MaxPoolNHWC``: ``NHWC``;
    * ``MultiThreshold``: its ``data_layout`` attribute, else the input's
      layout, else the layout it assumes for the rank (``NCHW`` for 4-D);
    * ``Conv``, ``MaxPool``, ``BatchNormalization`` and the other standard
      channels-first ops: ``NCHW`` (``NCW`` for 3-D);
    * ``Flatten``, and any 2-D result of ``Reshape``/``MatMul``/``Gemm``:
      ``NC``; a ``Reshape`` that keeps the shape keeps the layout;
    * elementwise and other ops (``Add``, ``Mul``, ``Relu``, ``MatMul`` on
      NHWC patches, ...): the layout of the first non-constant input of the
      same rank;
    * otherwise QONNX's guess by rank (4-D: ``NHWC``, 3-D: ``NWC``, 2-D:
      ``NC``, 1-D: ``N``). Tensors of other ranks or unknown shape are left
      unannotated; constants are never annotated.

    Existing annotations of node outputs are overwritten, so a second round
    changes nothing. ``changed`` is True if any annotation was added or changed.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        ensure_shapes(model, [t for n in model.graph.node for t in n.output])
        changed = False
        for name in model.graph_input_names():
            shape = model.get_tensor_shape(name)
            if model.get_tensor_layout(name) is None and shape is not None and len(shape) in INPUT_LAYOUT_BY_RANK:
                model.set_tensor_layout(name, INPUT_LAYOUT_BY_RANK[len(shape)])
                changed = True
        for node in model.topological_sort():
            for out in node.output:
                if not out or model.is_constant(out):
                    continue
                shape = model.get_tensor_shape(out)
                layout = None if shape is None else _node_layout(model, node, len(shape))
                if layout is not None and model.get_tensor_layout(out) != layout:
                    model.set_tensor_layout(out, layout)
                    changed = True
        return model, changed


def _first_input_layout(model: ModelWrapper, node: onnx.NodeProto, rank: int) -> str | None:
    """Layout of the first non-constant input whose layout has ``rank`` letters."""
    for t in node.input:
        if not t or model.is_constant(t):
            continue
        layout = model.get_tensor_layout(t)
        if layout is not None and len(layout) == rank:
            return layout
    return None


def _node_layout(model: ModelWrapper, node: onnx.NodeProto, rank: int) -> str | None:
    """Layout of an output of rank ``rank`` of ``node`` (None: unknown)."""
    op = node.op_type
    in_layout = model.get_tensor_layout(node.input[0]) if node.input and node.input[0] else None
    if op == "Transpose":
        perm = transpose_perm(model, node)
        if in_layout is not None and perm is not None and len(perm) == len(in_layout) == rank:
            return "".join(in_layout[p] for p in perm)
    elif op in CHANNELS_LAST_OPS and rank == 4:
        return "NHWC"
    elif op == "MultiThreshold":
        attr = str(model.get_nodeattr(node, "data_layout", "") or "")
        if len(attr) == rank:
            return attr
        if in_layout is not None and len(in_layout) == rank:
            return in_layout
        return MT_DEFAULT_BY_RANK.get(rank)
    elif op in CHANNELS_FIRST_OPS and rank in CHANNELS_FIRST_BY_RANK:
        return CHANNELS_FIRST_BY_RANK[rank]
    elif op == "Flatten" or (op in ("Reshape", "MatMul", "Gemm", "XnorPopcountMatMul") and rank == 2):
        return "NC"
    elif op == "Reshape":
        same = model.get_tensor_shape(node.input[0]) == model.get_tensor_shape(node.output[0])
        if same and in_layout is not None:
            return in_layout
        return FALLBACK_LAYOUT_BY_RANK.get(rank)
    return _first_input_layout(model, node, rank) or FALLBACK_LAYOUT_BY_RANK.get(rank)
