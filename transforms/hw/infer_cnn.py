"""Convert a streamlined, lowered CNN to HW layers (FINN's ``Infer*`` passes for convolutions).

Run after :class:`~qnncc.transforms.lower.LowerConvsToMatMul` and
:class:`~qnncc.transforms.lower.ConvertToNHWC` (and streamlining, so the
tensors are integer-typed); the MatMuls of the convolutions become MVAUs
through :class:`~.infer_mlp.InferQuantizedMatrixVectorActivation`, after
:class:`InferVectorVectorActivation` has taken the depthwise ones. Every
rewrite is exact: the HW layers' ``execute`` reproduces the replaced ops bit
for bit on integer-valued tensors, except :class:`InferGlobalAccPoolLayer`
(see there). A node a pass cannot express is left in place (software).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.im2col import Im2Col, conv_output_dim

from .._graph import drop_tensor_metadata
from ..lower._util import NCHW_TO_NHWC, NHWC_TO_NCHW, is_transpose, remove_if_dead
from ._util import ensure_hw_domain, hw_node, new_tensor, tensor_sparsity
from .infer_mlp import _activation, _replace, _set_const, _sole_consumer, _threshold_datatype


class InferConvInpGen(Transformation):
    """``Im2Col`` on an integer NHWC input to ``[FMPadding ->] ConvolutionInputGenerator`` (FINN name).

    The padding (``pad_amount``, zeros only, in a datatype that holds 0)
    becomes an FMPadding, the window a ConvolutionInputGenerator with the
    same kernel, stride and dilation, ``depthwise`` copied. Exact: Im2Col is
    zero padding followed by the unpadded window extraction. FINN uses a
    DownSampler for strided 1x1 windows; here they stay sliding windows.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("Im2Col")):
            op = Im2Col(node)
            try:
                (n, h, w, c), kernel, stride, pads, dil = op.params()
                oh = conv_output_dim(h, kernel[0], stride[0], pads[0] + pads[2], dil[0])
                ow = conv_output_dim(w, kernel[1], stride[1], pads[1] + pads[3], dil[1])
            except (UnsupportedOpError, ValueError):
                continue
            dt = model.get_tensor_datatype(node.input[0])
            padded = any(pads)
            if n != 1 or not dt.is_integer() or (padded and (op.attrs["pad_value"] != 0 or not dt.allowed(0))):
                continue
            base = node.name or "Im2Col"
            src, new, attrs = node.input[0], [], {}
            if padded:
                hp, wp = h + pads[0] + pads[2], w + pads[1] + pads[3]
                src = new_tensor(model, f"{base}_padded", [n, hp, wp, c], dt)
                attrs = {"ImgDim": [h, w], "Padding": pads, "NumChannels": c, "inputDataType": dt.name}
                new.append(hw_node("FMPadding", [node.input[0]], [src], f"{base}_padding", SIMD=1, **attrs))
                h, w = hp, wp
            attrs = {"ConvKernelDim": kernel, "IFMChannels": c, "IFMDim": [h, w], "OFMDim": [oh, ow]}
            attrs |= {"Stride": stride, "Dilation": dil, "depthwise": int(op.attrs["depthwise"])}
            attrs |= {"inputDataType": dt.name, "outputDataType": dt.name}
            new.append(hw_node("ConvolutionInputGenerator", [src], [node.output[0]], base, SIMD=1, **attrs))
            if any(x is None for x in new):
                continue
            idx = model.get_node_index(node)
            model.remove_node(node)
            for offset, layer in enumerate(new):
                assert layer is not None
                model.graph.node.insert(idx + offset, layer)
            model.set_tensor_datatype(node.output[0], dt)
            ensure_hw_domain(model)
            changed = True
        return model, changed


class InferVectorVectorActivation(Transformation):
    """Depthwise ``MatMul`` (+ ``MultiThreshold``) to ``VVAU`` (FINN name).

    Pattern: a ``MatMul`` whose constant weights carry the QONNX sparsity
    annotation ``{"dw": {"kernel_shape": [kh, kw]}}`` that
    ``LowerConvsToMatMul`` writes for a depthwise convolution, i.e. the
    block-sparse ``[kh*kw*C, C]`` matrix with ``W'[(i*kw + j)*C + c, c] = W[c, 0, i, j]``
    and zeros elsewhere (checked), on an integer ``[1, OH, OW, kh*kw*C]``
    input. The weights become ``W [C, 1, kh, kw]``; a following
    ``MultiThreshold`` on the last axis is fused as in the MVAU. Exact: the
    VVAU sums the same non-zero products. BIPOLAR inputs with BIPOLAR weights
    are left alone (FINN's model treats them as XNOR-popcount).

    Run it before ``InferQuantizedMatrixVectorActivation``, which would
    otherwise take the MatMul as a dense MVAU.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("MatMul")):
            changed |= _vvau(model, node)
        if changed:
            ensure_hw_domain(model)
        return model, changed


def _vvau(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    x, w_name = node.input[0], node.input[1]
    sparsity = tensor_sparsity(model, w_name)
    dw = sparsity.get("dw") if sparsity else None
    kernel = dw.get("kernel_shape") if isinstance(dw, dict) else None
    w, shape = model.get_initializer(w_name), model.get_tensor_shape(x)
    idt, wdt, acc_dt = (model.get_tensor_datatype(t) for t in (x, w_name, node.output[0]))
    if kernel is None or len(kernel) != 2 or w is None or w.ndim != 2 or shape is None or len(shape) != 4:
        return False
    if shape[0] != 1 or not (idt.is_integer() and wdt.is_integer() and acc_dt.is_integer()):
        return False
    if idt.name == wdt.name == "BIPOLAR":
        return False
    (kh, kw), channels = (int(k) for k in kernel), int(w.shape[1])
    if w.shape[0] != kh * kw * channels or shape[-1] != w.shape[0]:
        return False
    blocks = w.reshape(kh * kw, channels, channels)
    diagonal = blocks[:, np.arange(channels), np.arange(channels)]  # [kh*kw, C]
    if np.count_nonzero(blocks) != np.count_nonzero(diagonal):
        return False
    dense = np.ascontiguousarray(diagonal.T.reshape(channels, 1, kh, kw))
    base = node.name or "MatMul"
    inputs = [x, _set_const(model, f"{base}_dw_weights", dense, _threshold_datatype(model, w_name, dense))]
    out, fused = node.output[0], [node]
    attrs: dict[str, Any] = {"noActivation": 1, "outputDataType": acc_dt.name, "ActVal": 0}
    mt = _sole_consumer(model, node.output[0])
    act = _activation(model, mt) if mt is not None and mt.op_type == "MultiThreshold" else None
    if mt is not None and act is not None:
        thr, odt, act_val = act
        thr_dt = _threshold_datatype(model, mt.input[1], thr)
        inputs.append(_set_const(model, f"{mt.name or 'MultiThreshold'}_hw_thresholds", thr, thr_dt))
        out, fused = mt.output[0], [node, mt]
        attrs = {"noActivation": 0, "outputDataType": odt.name, "ActVal": act_val}
    attrs |= {"Dim": shape[1:3], "Channels": channels, "Kernel": [kh, kw], "inputDataType": idt.name}
    attrs |= {"weightDataType": model.get_tensor_datatype(inputs[1]).name, "accDataType": acc_dt.name}
    layer = hw_node("VVAU", inputs, [out], base, PE=1, SIMD=1, **attrs)
    if layer is None:
        for name in inputs[1:]:
            model.del_initializer(name)
            drop_tensor_metadata(model, name)
        return False
    _replace(model, fused, layer)
    model.set_tensor_datatype(out, DataType.from_name(attrs["outputDataType"]))
    if not model.find_consumers(w_name):
        model.del_initializer(w_name)
        drop_tensor_metadata(model, w_name)
    return True


def _reduce_axes(model: ModelWrapper, node: onnx.NodeProto, rank: int) -> set[int] | None:
    """Axes of a ``ReduceMean`` (attribute before opset 18, input after), normalised; None if unknown."""
    if len(node.input) > 1 and node.input[1]:
        value = model.get_initializer(node.input[1])
        axes = None if value is None else [int(a) for a in np.asarray(value).reshape(-1)]
    else:
        attr = model.get_nodeattr(node, "axes")
        axes = None if attr is None else [int(a) for a in attr]
    return None if not axes else {a % rank for a in axes}


GLOBAL_AVERAGES = ("GlobalAveragePool", "ReduceMean", "AveragePool")


def _whole_map_average_pool(model: ModelWrapper, node: onnx.NodeProto, shape: list[int]) -> bool:
    """Whether an ``AveragePool`` on NCHW ``shape`` averages the whole map into one pixel without padding."""
    kernel = [int(k) for k in model.get_nodeattr(node, "kernel_shape", []) or []]
    pads = model.get_nodeattr(node, "pads", []) or []
    auto_pad = model.get_nodeattr(node, "auto_pad", "NOTSET")
    plain = not any(pads) and auto_pad in ("NOTSET", "VALID", "") and not model.get_nodeattr(node, "ceil_mode", 0)
    return plain and kernel == list(shape[2:4])


class InferGlobalAccPoolLayer(Transformation):
    """Global average pooling to ``GlobalAccPool`` + ``Mul(1/(H*W))`` (FINN name).

    Patterns, on an integer 4-D input with batch 1:

    * ``ReduceMean`` over axes 1, 2 (NHWC ``[N, H, W, C]``): GlobalAccPool on the input;
    * ``GlobalAveragePool``, ``AveragePool`` whose kernel covers the whole NCHW
      map without padding (Brevitas' ``TruncAvgPool2d``), or ``ReduceMean`` over axes 2, 3 (NCHW): GlobalAccPool
      on the NHWC tensor, read directly from a producing ``Transpose(NHWC->NCHW)``
      (removed once unused) or through a new ``Transpose(NCHW->NHWC)``, and a
      ``Transpose(NHWC->NCHW)`` of the sums restores the NCHW ``[N, C, 1, 1]``;
    * ``keepdims=0``: a ``Reshape`` to ``[N, C]`` instead.

    The ``Mul`` comes last, next to the following thresholds, so streamlining
    absorbs it (run ``Streamline`` and ``ConvertToNHWC`` again afterwards).
    Exactness: the sums are exact; ``sum * fl(1/(H*W))`` can differ by one
    float32 ulp from ``ReduceMean``'s ``sum / (H*W)`` unless ``H*W`` is a power
    of two (FINN's rewrite, kept for its absorbability).
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type not in GLOBAL_AVERAGES or node.domain not in ("", "ai.onnx"):
                continue
            changed |= _global_acc_pool(model, node)
        if changed:
            ensure_hw_domain(model)
        return model, changed


def _global_acc_pool(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    x, y = node.input[0], node.output[0]
    shape, dt = model.get_tensor_shape(x), model.get_tensor_datatype(x)
    if shape is None or len(shape) != 4 or shape[0] != 1 or not dt.is_integer():
        return False
    axes: set[int] | None = {2, 3}
    keepdims = int(model.get_nodeattr(node, "keepdims", 1))
    if node.op_type == "ReduceMean":
        axes = _reduce_axes(model, node, 4)
    if node.op_type == "AveragePool" and not _whole_map_average_pool(model, node, shape):
        return False
    if axes not in ({1, 2}, {2, 3}):
        return False
    base, before, after = node.name or node.op_type, [], []
    channels_first = axes == {2, 3}
    n, h, w, c = [shape[i] for i in NCHW_TO_NHWC] if channels_first else shape
    src, pre = x, model.find_producer(x)
    if channels_first and pre is not None and is_transpose(model, pre, NHWC_TO_NCHW):
        src = pre.input[0]
    elif channels_first:
        src = new_tensor(model, f"{base}_nhwc", [n, h, w, c], dt)
        before.append(helper.make_node("Transpose", [x], [src], name=f"{base}_to_nhwc", perm=NCHW_TO_NHWC))
    attrs: dict[str, Any] = {"NumChannels": c, "inputDataType": dt.name, "numInputVectors": [n, h, w]}
    sums = model.make_new_name(f"{base}_sums")
    pool = hw_node("GlobalAccPool", [src], [sums], base, PE=1, **attrs)
    if pool is None:
        if before:
            drop_tensor_metadata(model, src)
        return False
    sum_dt = get_custom_op(pool).infer_datatype(model)[0]
    model.set_tensor_shape(sums, [n, 1, 1, c])
    model.set_tensor_datatype(sums, sum_dt)
    scaled_in = sums
    if not keepdims:
        scaled_in = new_tensor(model, f"{base}_flat", [n, c], sum_dt)
        target = model.make_new_name(f"{base}_flat_shape")
        model.set_initializer(target, np.array([-1, c], dtype=np.int64))
        after.append(helper.make_node("Reshape", [sums, target], [scaled_in], name=f"{base}_flatten"))
    elif channels_first:
        scaled_in = new_tensor(model, f"{base}_nchw", [n, c, 1, 1], sum_dt)
        after.append(helper.make_node("Transpose", [sums], [scaled_in], name=f"{base}_to_nchw", perm=NHWC_TO_NCHW))
    scale = model.make_new_name(f"{base}_scale")
    model.set_initializer(scale, np.array([1.0 / (h * w)], dtype=np.float32))
    after.append(helper.make_node("Mul", [scaled_in, scale], [y], name=f"{base}_mean"))
    idx = model.get_node_index(node)
    model.remove_node(node)
    for offset, new in enumerate([*before, pool, *after]):
        model.graph.node.insert(idx + offset, new)
    model.set_tensor_datatype(y, None)
    if pre is not None and src == pre.input[0]:
        remove_if_dead(model, pre)
    return True


__all__ = [
    "InferConvInpGen",
    "InferGlobalAccPoolLayer",
    "InferVectorVectorActivation",
]
