"""LowerConvsToMatMul: 2-D ``Conv`` as ``Transpose -> Im2Col -> MatMul -> Transpose`` (FINN/QONNX pass)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.im2col import Im2Col, conv_output_dim

from ._util import (
    NCHW_TO_NHWC,
    NHWC_TO_NCHW,
    QONNX_DOMAIN,
    ensure_domain_import,
    ensure_shapes,
    insert_nodes,
    set_tensor_sparsity,
)


class LowerConvsToMatMul(Transformation):
    """Lower every 2-D ``Conv`` with constant weights to Im2Col + MatMul in NHWC (all in one round).

    Pattern: a default-domain ``Conv`` on a 4-D NCHW input with constant weights
    ``W [OC, IC/group, kh, kw]`` (and an optional constant bias ``B [OC]``).

    Rewrite (QONNX/FINN ``LowerConvsToMatMul``)::

        Transpose(NCHW->NHWC) -> Im2Col -> MatMul(W') -> Transpose(NHWC->NCHW) [-> Add(B)]

    where ``W'[(i*kw + j)*IC + c, o] = W[o, c, i, j]`` (shape ``[kh*kw*IC, OC]``),
    matching the ``(i, j, c)`` patch order of ``Im2Col``. A 1x1 convolution
    without padding and stride skips the ``Im2Col``. A depthwise convolution
    (``group == IC == OC``) uses ``Im2Col(depthwise=1)`` and the block-sparse
    matrix ``W'[(i*kw + j)*C + c, o] = W[c, 0, i, j]`` if ``o == c`` else 0, with a
    QONNX ``tensor_sparsity`` annotation ``{"dw": {"kernel_shape": [kh, kw]}}`` on
    it, which is how FINN's HW conversion recognises it as a VVAU layer. A bias
    becomes an ``Add`` of ``B`` reshaped to ``[1, OC, 1, 1]`` after the final
    Transpose (FINN's ``ExtractBiasFromConv``).

    Why it is exact: each output element is the same sum of the same products
    ``W[o, c, i, j] * xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]`` (the depthwise
    zeros add exact zeros), only summed in another order: bit-identical for
    integer-valued operands whose partial sums stay below ``2**24`` in magnitude,
    within float rounding otherwise.

    Convs whose weights (or bias) are not constants, or whose input is not
    4-D, are left alone, as in QONNX.

    Raises:
        UnsupportedOpError: for a grouped convolution that is not depthwise
            (``1 < group`` and not ``group == IC == OC``), naming the node.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type != "Conv" or node.domain not in ("", "ai.onnx"):
                continue
            if model.get_initializer(node.input[1]) is None:
                continue
            bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
            if bias is not None and model.get_initializer(bias) is None:
                continue
            ensure_shapes(model, [node.input[0], node.output[0]])
            shape = model.get_tensor_shape(node.input[0])
            if shape is None or len(shape) != 4:
                continue
            _lower(model, node, shape)
            changed = True
        if changed:
            ensure_domain_import(model)
        return model, changed


def explicit_pads(
    model: ModelWrapper,
    node: onnx.NodeProto,
    hw: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dil: Sequence[int],
) -> list[int]:
    """``[top, left, bottom, right]`` padding of a 2-D Conv from ``pads`` or ``auto_pad`` (ONNX rules).

    Raises:
        UnsupportedOpError: for ``pads`` of another rank or an unknown ``auto_pad``.
    """
    auto_pad = str(model.get_nodeattr(node, "auto_pad", "NOTSET"))
    if auto_pad in ("NOTSET", ""):
        pads = [int(p) for p in model.get_nodeattr(node, "pads", [0, 0, 0, 0])]
        if len(pads) != 4:
            raise UnsupportedOpError(f"Conv node {node.name!r}: pads {pads} do not describe a 2-D convolution")
        return pads
    if auto_pad == "VALID":
        return [0, 0, 0, 0]
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise UnsupportedOpError(f"Conv node {node.name!r}: unknown auto_pad {auto_pad!r}")
    begin, end = [], []
    for size, k, s, d in zip(hw, kernel, strides, dil, strict=True):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return begin + end


def _matmul_weights(w: np.ndarray, depthwise: bool) -> np.ndarray:
    """``[OC, IC/g, kh, kw]`` conv weights as the ``[kh*kw*IC, OC]`` MatMul matrix."""
    if depthwise:
        channels = w.shape[0]
        dense = np.zeros((channels, channels, w.shape[2], w.shape[3]), dtype=w.dtype)
        dense[np.arange(channels), np.arange(channels)] = w[:, 0]
        w = dense
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1).T)


def _weight_datatype(dt: DataType, depthwise: bool) -> DataType | None:
    """Annotation of the MatMul weights: the conv's, widened to hold the depthwise zeros."""
    if dt.is_float():
        return None
    if not depthwise or dt.allowed(0):
        return dt
    lo, hi = min(dt.min(), 0), max(dt.max(), 0)
    return DataType["TERNARY"] if (lo, hi) == (-1, 1) else DataType.smallest_for_range(lo, hi)


def _lower(model: ModelWrapper, node: onnx.NodeProto, in_shape: list[int]) -> None:
    base = node.name or "Conv"
    x, w_name, out = node.input[0], node.input[1], node.output[0]
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    w = model.get_initializer(w_name)
    assert w is not None
    if w.ndim != 4:
        raise UnsupportedOpError(f"Conv node {base!r}: weights of shape {list(w.shape)} are not 2-D conv weights")
    n, ic, h, wd = in_shape
    oc = int(w.shape[0])
    kernel = [int(k) for k in model.get_nodeattr(node, "kernel_shape", list(w.shape[2:]))]
    strides = [int(s) for s in model.get_nodeattr(node, "strides", [1, 1])]
    dil = [int(d) for d in model.get_nodeattr(node, "dilations", [1, 1])]
    group = int(model.get_nodeattr(node, "group", 1))
    depthwise = group > 1 and group == ic == oc and w.shape[1] == 1
    if group > 1 and not depthwise:
        raise UnsupportedOpError(
            f"Conv node {base!r}: grouped convolution (group={group}, {ic} input / {oc} output channels) "
            "is neither dense nor depthwise; only group=1 and group=IC=OC can be lowered"
        )
    if list(w.shape[2:]) != kernel or w.shape[1] * group != ic:
        raise UnsupportedOpError(f"Conv node {base!r}: weights {list(w.shape)} do not match the input/kernel_shape")
    pads = explicit_pads(model, node, [h, wd], kernel, strides, dil)
    oh = conv_output_dim(h, kernel[0], strides[0], pads[0] + pads[2], dil[0])
    ow = conv_output_dim(wd, kernel[1], strides[1], pads[1] + pads[3], dil[1])
    in_dt = model.get_tensor_datatype(x)

    # weights: in place when only this Conv reads them (as FINN), else a new initializer
    w_dt = _weight_datatype(model.get_tensor_datatype(w_name), depthwise)
    w_mat = _matmul_weights(w, depthwise)
    if len(model.find_consumers(w_name)) > 1:
        w_name = model.make_new_name(f"{base}_W")
    model.set_initializer(w_name, w_mat)
    model.set_tensor_datatype(w_name, w_dt)
    if depthwise:
        set_tensor_sparsity(model, w_name, {"dw": {"kernel_shape": kernel}})

    def tensor(hint: str, shape: list[int], layout: str, dt: DataType | None) -> str:
        name = model.make_new_name(f"{base}_{hint}")
        model.set_tensor_shape(name, shape)
        model.set_tensor_layout(name, layout)
        model.set_tensor_datatype(name, dt)
        return name

    in_dt_or_none = None if in_dt.is_float() else in_dt
    nhwc = tensor("nhwc", [n, h, wd, ic], "NHWC", in_dt_or_none)
    new_nodes = [helper.make_node("Transpose", [x], [nhwc], name=f"{base}_to_nhwc", perm=NCHW_TO_NHWC)]
    mm_in = nhwc
    if any(pads) or kernel != [1, 1] or strides != [1, 1]:
        mm_in = tensor("im2col", [n, oh, ow, kernel[0] * kernel[1] * ic], "NHWC", None)
        im2col = helper.make_node(
            "Im2Col",
            [nhwc],
            [mm_in],
            name=f"{base}_im2col",
            domain=QONNX_DOMAIN,
            stride=strides,
            kernel_size=kernel,
            pad_amount=pads,
            input_shape=str((n, h, wd, ic)),
            depthwise=int(depthwise),
            dilations=dil,
        )
        new_nodes.append(im2col)
        dt = Im2Col(im2col).infer_datatype(model)[0]
        model.set_tensor_datatype(mm_in, None if dt.is_float() else dt)
    out_dt = model.get_tensor_datatype(out)
    out_dt_or_none = None if out_dt.is_float() or bias is not None else out_dt
    mm_out = tensor("matmul", [n, oh, ow, oc], "NHWC", out_dt_or_none)
    new_nodes.append(helper.make_node("MatMul", [mm_in, w_name], [mm_out], name=f"{base}_matmul"))
    nchw = out if bias is None else tensor("nchw", [n, oc, oh, ow], "NCHW", out_dt_or_none)
    new_nodes.append(helper.make_node("Transpose", [mm_out], [nchw], name=f"{base}_to_nchw", perm=NHWC_TO_NCHW))
    if bias is not None:
        b = model.get_initializer(bias)
        assert b is not None
        b_name = bias if len(model.find_consumers(bias)) == 1 else model.make_new_name(f"{base}_bias")
        b_dt = model.get_tensor_datatype(bias)
        model.set_initializer(b_name, b.reshape(1, -1, 1, 1))
        model.set_tensor_datatype(b_name, None if b_dt.is_float() else b_dt)
        new_nodes.append(helper.make_node("Add", [nchw, b_name], [out], name=f"{base}_bias"))
    idx = model.get_node_index(node)
    model.remove_node(node)
    insert_nodes(model, idx, new_nodes)
