"""Max pooling to HW: ``StreamingMaxPool`` (stride = window) or ``[FMPadding ->] SWG -> Pool`` (FINN ``InferPool``)."""

from __future__ import annotations

from typing import Any

import onnx
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.im2col import conv_output_dim
from qnncc.custom_op.maxpool_nhwc import MaxPoolNHWC
from qnncc.hw.layers import StreamingMaxPool

from .._graph import drop_tensor_metadata
from ._util import ensure_hw_domain, hw_node, new_tensor
from .infer_mlp import _replace


class InferPool(Transformation):
    """``MaxPoolNHWC`` that ``StreamingMaxPool`` cannot take to ``[FMPadding ->] ConvolutionInputGenerator -> Pool``.

    Pattern: a ``MaxPoolNHWC`` (``[1, H, W, C]``, integer datatype, floor
    mode) whose stride differs from its kernel or which pads, e.g. ResNet's
    stem pool 3x3/2 with padding 1. Rewrite: an FMPadding with the pads (if
    any), a depthwise window generator with the pool's kernel and stride, and
    a ``Pool`` (``Function = "MaxPool"``) taking the maximum of each window.

    Exactness: ONNX pads a max pool with ``-inf`` and every window holds at
    least one input pixel (pads < kernel), so padding with any value not above
    the datatype's minimum gives the same maxima; the FMPadding pads with
    that minimum (``PadValue``: 0 for unsigned inputs, e.g. after a ReLU,
    ``-2**(B-1)`` for signed ones; FINN pads with the minimum too). Ceil mode
    is left in software.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("MaxPoolNHWC")):
            changed |= _convert(model, node)
        if changed:
            ensure_hw_domain(model)
        return model, changed


def _convert(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    try:
        kernel, strides, pads, ceil_mode = MaxPoolNHWC(node).params()
    except UnsupportedOpError:
        return False
    shape, dt = model.get_tensor_shape(node.input[0]), model.get_tensor_datatype(node.input[0])
    if shape is None or len(shape) != 4 or shape[0] != 1 or not dt.is_integer() or ceil_mode:
        return False
    if kernel == strides and not any(pads):
        return False  # StreamingMaxPool's case
    padded = any(pads)
    _, h, w, c = shape
    try:
        oh = conv_output_dim(h, kernel[0], strides[0], pads[0] + pads[2], 1)
        ow = conv_output_dim(w, kernel[1], strides[1], pads[1] + pads[3], 1)
    except ValueError:
        return False
    base, src, new = node.name or "MaxPoolNHWC", str(node.input[0]), []
    if padded:
        hp, wp = h + pads[0] + pads[2], w + pads[1] + pads[3]
        padded_t = new_tensor(model, f"{base}_padded", [1, hp, wp, c], dt)
        attrs: dict[str, Any] = {"ImgDim": [h, w], "Padding": pads, "NumChannels": c, "inputDataType": dt.name}
        attrs["PadValue"] = int(dt.min())  # not above any input: the maxima are those of -inf padding
        new.append(hw_node("FMPadding", [src], [padded_t], f"{base}_padding", SIMD=1, **attrs))
        src, h, w = padded_t, hp, wp
    windows = new_tensor(model, f"{base}_windows", [1, oh, ow, kernel[0] * kernel[1] * c], dt)
    attrs = {"ConvKernelDim": kernel, "IFMChannels": c, "IFMDim": [h, w], "OFMDim": [oh, ow], "Stride": strides}
    attrs |= {"Dilation": [1, 1], "depthwise": 1, "inputDataType": dt.name, "outputDataType": dt.name}
    new.append(hw_node("ConvolutionInputGenerator", [src], [windows], f"{base}_window", SIMD=1, **attrs))
    attrs = {"Channels": c, "KernelSize": kernel, "OutImgDims": [oh, ow], "Function": "MaxPool"}
    attrs |= {"InputDataType": dt.name, "OutputDataType": dt.name}
    new.append(hw_node("Pool", [windows], [node.output[0]], base, PE=1, **attrs))
    if any(layer is None for layer in new):
        for t in {windows, src} - {str(node.input[0])}:
            drop_tensor_metadata(model, t)
        return False
    idx = model.get_node_index(node)
    model.remove_node(node)
    for offset, layer in enumerate(new):
        assert layer is not None
        model.graph.node.insert(idx + offset, layer)
    model.set_tensor_datatype(node.output[0], dt)
    return True


class InferStreamingMaxPool(Transformation):
    """``MaxPoolNHWC`` with ``strides == kernel_shape`` and no padding to ``StreamingMaxPool`` (FINN name).

    Integer input, batch 1, any image size (floor or ceil mode; a 1-D
    pooling in ceil mode not on BIPOLAR data). Exact: same window maxima.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("MaxPoolNHWC")):
            try:
                kernel, strides, pads, ceil_mode = MaxPoolNHWC(node).params()
            except UnsupportedOpError:
                continue
            shape = model.get_tensor_shape(node.input[0])
            dt = model.get_tensor_datatype(node.input[0])
            if shape is None or len(shape) != 4 or shape[0] != 1 or not dt.is_integer():
                continue
            if kernel != strides or any(pads):
                continue
            _, h, w, c = shape
            attrs: dict[str, Any] = {
                "ImgDim": [h, w],
                "PoolDim": kernel,
                "NumChannels": c,
                "CeilMode": ceil_mode,
                "dataType": dt.name,
            }
            layer = hw_node(
                "StreamingMaxPool", [node.input[0]], [node.output[0]], node.name or "MaxPoolNHWC", PE=1, **attrs
            )
            if layer is None or (dt.name == "BIPOLAR" and StreamingMaxPool(layer).is_1d()):
                continue
            _replace(model, [node], layer)
            model.set_tensor_datatype(node.output[0], dt)
            changed = True
        return model, changed
