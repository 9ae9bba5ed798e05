"""Channels-last passes: MakeMaxPoolNHWC, AbsorbTransposeIntoMultiThreshold, RemoveConsecutiveTransposes.

After :class:`LowerConvsToMatMul` every convolution sits between a
``Transpose(NCHW->NHWC)`` and a ``Transpose(NHWC->NCHW)``. These passes move
the layer-wise ops between convolutions into NHWC so the transposes meet and
cancel, leaving a graph FINN's HW conversion can stream. Transposes at
residual joins and forks are :mod:`.transpose_joins`.
"""

from __future__ import annotations

import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.maxpool_nhwc import pool_output_dim

from .._graph import drop_tensor_metadata, replace_input
from ._util import (
    NCHW_TO_NHWC,
    NHWC_TO_NCHW,
    QONNX_DOMAIN,
    ensure_domain_import,
    ensure_shapes,
    insert_nodes,
    is_graph_output,
    is_transpose,
    remove_if_dead,
    transpose_perm,
)


def nhwc_shape(shape: list[int]) -> list[int]:
    """An ``[N, C, H, W]`` shape as ``[N, H, W, C]``."""
    return [shape[i] for i in NCHW_TO_NHWC]


def _channels_last_sandwich(
    model: ModelWrapper, node: onnx.NodeProto
) -> tuple[onnx.NodeProto | None, onnx.NodeProto | None]:
    """``(pre, post)``: the Transpose(NHWC->NCHW) producing input 0 and the sole Transpose(NCHW->NHWC) consumer."""
    pre = model.find_producer(node.input[0])
    post = None if is_graph_output(model, node.output[0]) else model.find_consumer(node.output[0])
    return (
        pre if is_transpose(model, pre, NHWC_TO_NCHW) else None,
        post if is_transpose(model, post, NCHW_TO_NHWC) else None,
    )


def _move_into_nhwc(
    model: ModelWrapper, node: onnx.NodeProto, pre: onnx.NodeProto | None, post: onnx.NodeProto | None
) -> None:
    """Make ``node`` (single NCHW input/output, already switched to NHWC semantics) read and write NHWC.

    With ``pre`` it reads ``pre``'s NHWC input, else a new Transpose(NCHW->NHWC)
    is inserted before it; with ``post`` it writes ``post``'s NHWC output
    (``post`` is removed), else a new Transpose(NHWC->NCHW) restores the
    original NCHW output. ``pre`` is removed once nothing else reads it.
    """
    base = node.name or node.op_type
    x, y = node.input[0], node.output[0]
    x_shape, y_shape = model.get_tensor_shape(x), model.get_tensor_shape(y)
    dt = model.get_tensor_datatype(y)
    before: list[onnx.NodeProto] = []
    after: list[onnx.NodeProto] = []
    if pre is not None:
        node.input[0] = pre.input[0]
    else:
        src = model.make_new_name(f"{base}_in_nhwc")
        before.append(helper.make_node("Transpose", [x], [src], name=f"{base}_to_nhwc", perm=NCHW_TO_NHWC))
        model.set_tensor_datatype(src, model.get_tensor_datatype(x))
        model.set_tensor_layout(src, "NHWC")
        if x_shape is not None:
            model.set_tensor_shape(src, nhwc_shape(x_shape))
        node.input[0] = src
    if post is not None:
        node.output[0] = post.output[0]
        if model.get_tensor_datatype(post.output[0]).is_float() and not dt.is_float():
            model.set_tensor_datatype(post.output[0], dt)
        model.remove_node(post)
        drop_tensor_metadata(model, y)
    else:
        dst = model.make_new_name(f"{base}_out_nhwc")
        after.append(helper.make_node("Transpose", [dst], [y], name=f"{base}_to_nchw", perm=NHWC_TO_NCHW))
        model.set_tensor_datatype(dst, dt)
        model.set_tensor_layout(dst, "NHWC")
        if y_shape is not None:
            model.set_tensor_shape(dst, nhwc_shape(y_shape))
        node.output[0] = dst
    idx = model.get_node_index(node)
    insert_nodes(model, idx + 1, after)
    insert_nodes(model, idx, before)
    if pre is not None:
        remove_if_dead(model, pre)


class MakeMaxPoolNHWC(Transformation):
    """Run ``MaxPool`` in NHWC next to the transposes of lowered convolutions (FINN's pass).

    Pattern: a 2-D ``MaxPool`` (one output, no dilation, explicit or VALID
    padding) whose input comes from a ``Transpose(NHWC->NCHW)`` and/or whose
    only consumer is a ``Transpose(NCHW->NHWC)``. Rewrite: a ``MaxPoolNHWC``
    with the same attributes; with both transposes present it reads the first
    transpose's input and writes the second transpose's output, and both
    transposes go (the first once nothing else reads it). With only one, the
    missing side gets a new transpose, so the other can later cancel (FINN's
    ``(NCHWTranspose, MaxPool) -> (MaxPoolNHWC, NCHWTranspose)`` and
    ``(MaxPool, NHWCTranspose) -> (NHWCTranspose, MaxPoolNHWC)``).

    Why it is exact: ``MaxPoolNHWC(x) = T_nhwc(MaxPool(T_nchw(x)))`` by
    definition, and a transpose followed by its inverse is the identity.
    All matches are rewritten in one round.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type != "MaxPool" or node.domain not in ("", "ai.onnx") or not _plain_maxpool(model, node):
                continue
            pre, post = _channels_last_sandwich(model, node)
            if pre is None and post is None:
                continue
            ensure_shapes(model, [node.input[0], node.output[0]])
            shape = model.get_tensor_shape(node.input[0])
            if shape is None or len(shape) != 4:
                continue
            kernel = [int(k) for k in model.get_nodeattr(node, "kernel_shape")]
            strides = [int(s) for s in model.get_nodeattr(node, "strides", [1, 1])]
            pads = [int(p) for p in model.get_nodeattr(node, "pads", [0, 0, 0, 0])]
            if str(model.get_nodeattr(node, "auto_pad", "NOTSET")) == "VALID":
                pads = [0, 0, 0, 0]
            ceil_mode = int(model.get_nodeattr(node, "ceil_mode", 0))
            if model.get_tensor_shape(node.output[0]) is None:
                oh = pool_output_dim(shape[2], kernel[0], strides[0], pads[0], pads[2], bool(ceil_mode))
                ow = pool_output_dim(shape[3], kernel[1], strides[1], pads[1], pads[3], bool(ceil_mode))
                model.set_tensor_shape(node.output[0], [shape[0], shape[1], oh, ow])
            new = helper.make_node(
                "MaxPoolNHWC",
                [node.input[0]],
                [node.output[0]],
                name=node.name,
                domain=QONNX_DOMAIN,
                kernel_shape=kernel,
                strides=strides,
                pads=pads,
                ceil_mode=ceil_mode,
            )
            idx = model.get_node_index(node)
            model.remove_node(node)
            model.graph.node.insert(idx, new)
            _move_into_nhwc(model, model.graph.node[idx], pre, post)
            changed = True
        if changed:
            ensure_domain_import(model)
        return model, changed


def _plain_maxpool(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    """A 2-D MaxPool that MaxPoolNHWC can express."""
    kernel = model.get_nodeattr(node, "kernel_shape")
    dil = model.get_nodeattr(node, "dilations")
    auto_pad = str(model.get_nodeattr(node, "auto_pad", "NOTSET"))
    return (
        (len(node.output) == 1 or not node.output[1])
        and kernel is not None
        and len(kernel) == 2
        and (dil is None or all(int(d) == 1 for d in dil))
        and auto_pad in ("NOTSET", "VALID", "")
    )


class AbsorbTransposeIntoMultiThreshold(Transformation):
    """Run a ``MultiThreshold`` in NHWC instead of between transposes (FINN's pass).

    Pattern: ``Transpose(NHWC->NCHW) -> MultiThreshold`` (4-D, ``data_layout``
    unset or ``NCHW``). Rewrite: the ``MultiThreshold`` reads the transpose's
    NHWC input with ``data_layout="NHWC"``; if its only consumer is a
    ``Transpose(NCHW->NHWC)`` it writes that transpose's output and both
    transposes go, otherwise (FINN's variant) a new ``Transpose(NHWC->NCHW)``
    after it restores the NCHW output, i.e. the transpose moved past it. The
    first transpose is removed once nothing else reads it.

    Why it is exact: ``MultiThreshold`` compares each element with the
    thresholds of its own channel; with ``data_layout="NHWC"`` the channel is
    read from axis 3 instead of 1, so it commutes with the transpose.
    All matches are rewritten in one round.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type != "MultiThreshold":
                continue
            if str(model.get_nodeattr(node, "data_layout", "") or "") not in ("", "NCHW"):
                continue
            pre, post = _channels_last_sandwich(model, node)
            if pre is None:
                continue
            model.set_nodeattr(node, "data_layout", "NHWC")
            _move_into_nhwc(model, node, pre, post)
            changed = True
        return model, changed


class MoveTransposeBeforeMultiThreshold(Transformation):
    """``MultiThreshold -> Transpose(NCHW->NHWC)`` becomes ``Transpose -> MultiThreshold`` in NHWC.

    Pattern: a 4-D ``MultiThreshold`` (``data_layout`` unset or ``NCHW``)
    whose only consumer is a ``Transpose(NCHW->NHWC)``, and whose input is
    not a ``Transpose(NHWC->NCHW)`` (that case is
    :class:`AbsorbTransposeIntoMultiThreshold`'s). Typical: the input
    quantizer of a multi-channel image, followed by the first lowered
    convolution (on a one-channel graph input the transpose is left to
    :class:`~.flatten.TransposeToReshape`). Rewrite: ``x -> Transpose(NCHW->NHWC) -> MultiThreshold(NHWC)
    -> y`` where ``y`` is the old transpose's output; the transpose moves
    towards the graph input, leaving the thresholds on the channels-last stream.

    Why it is exact: the thresholds compare each element with those of its
    own channel; with ``data_layout="NHWC"`` the channel is read from axis 3,
    so thresholding commutes with the transpose. All matches are rewritten in one round.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type != "MultiThreshold":
                continue
            if str(model.get_nodeattr(node, "data_layout", "") or "") not in ("", "NCHW"):
                continue
            pre, post = _channels_last_sandwich(model, node)
            x, y = node.input[0], node.output[0]
            x_shape = model.get_tensor_shape(x)
            if pre is not None or post is None or x_shape is None or len(x_shape) != 4:
                continue
            if x_shape[1] == 1 and x in model.graph_input_names():
                continue  # TransposeToReshape makes it a free reshape of the stream, inside the accelerator
            base = node.name or "MultiThreshold"
            src = model.make_new_name(f"{base}_in_nhwc")
            tr_name = model.make_new_name(f"{base}_to_nhwc")
            tr = helper.make_node("Transpose", [x], [src], name=tr_name, perm=NCHW_TO_NHWC)
            model.set_tensor_shape(src, nhwc_shape(x_shape))
            model.set_tensor_datatype(src, model.get_tensor_datatype(x))
            model.set_tensor_layout(src, "NHWC")
            dt = model.get_tensor_datatype(y)
            node.input[0] = src
            node.output[0] = post.output[0]
            model.set_nodeattr(node, "data_layout", "NHWC")
            if model.get_tensor_datatype(post.output[0]).is_float() and not dt.is_float():
                model.set_tensor_datatype(post.output[0], dt)
            model.remove_node(post)
            drop_tensor_metadata(model, y)
            insert_nodes(model, model.get_node_index(node), [tr])
            changed = True
        return model, changed


class RemoveConsecutiveTransposes(Transformation):
    """Remove ``Transpose -> Transpose`` pairs that cancel (FINN's ``AbsorbConsecutiveTransposes``).

    Pattern: a ``Transpose`` with ``perm=p2`` reading the output of a
    ``Transpose`` with ``perm=p1`` where ``p1[p2[i]] == i`` for every axis, and
    whose output is not a graph output. Rewrite: readers of the second
    transpose's output read the first transpose's input; the second
    transpose is removed, the first too once nothing else reads it.

    Why it is exact: the composition is the identity permutation, so the
    pair copies its input unchanged. All pairs are removed in one round.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for first in list(model.graph.node):
            alive = {id(n) for n in model.graph.node}
            if id(first) not in alive or first.op_type != "Transpose" or first.domain not in ("", "ai.onnx"):
                continue
            p1 = transpose_perm(model, first)
            if p1 is None:
                continue
            removed = False
            for second in model.find_consumers(first.output[0]):
                p2 = transpose_perm(model, second) if second.op_type == "Transpose" else None
                if p2 is None or len(p2) != len(p1) or is_graph_output(model, second.output[0]):
                    continue
                if any(p1[p2[i]] != i for i in range(len(p1))):
                    continue
                replace_input(model, second.output[0], first.input[0])
                model.remove_node(second)
                drop_tensor_metadata(model, second.output[0])
                removed = True
            if removed:
                remove_if_dead(model, first)
                changed = True
        return model, changed
