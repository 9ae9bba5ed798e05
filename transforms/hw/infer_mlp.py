"""Convert streamlined MLP ops to HW layers (FINN's ``Infer*Layer`` passes).

Each pass matches a standard or FINN op whose operands are integer-typed
(after :class:`~qnncc.transforms.streamline.Streamline` and
:class:`~qnncc.transforms.InferDataTypes`) and replaces it by the HW layer
with the same function; a following ``MultiThreshold`` is fused into the
MVAU. Every rewrite is exact: the HW layers' ``execute`` reproduces the
replaced ops bit for bit on integer-valued tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.multithreshold import channel_axis
from qnncc.hw.layers import HW_DOMAIN


def _sole_consumer(model: ModelWrapper, tensor: str) -> onnx.NodeProto | None:
    return None if tensor in model.graph_output_names() else model.find_consumer(tensor)


def _activation(model: ModelWrapper, mt: onnx.NodeProto) -> tuple[np.ndarray, DataType, int] | None:
    """``(thresholds [C, B], output datatype, ActVal)`` of a MultiThreshold a HW layer can absorb."""
    thr = model.get_initializer(mt.input[1])
    shape = model.get_tensor_shape(mt.input[0])
    if thr is None or shape is None or not np.array_equal(thr, np.round(thr)):
        return None
    shared = thr.shape[0] == 1  # one threshold row for all channels: elementwise, any axis may be last
    if not shared and channel_axis(str(model.get_nodeattr(mt, "data_layout", "")), len(shape)) != len(shape) - 1:
        return None
    scale = float(model.get_nodeattr(mt, "out_scale", 1.0))
    bias = float(model.get_nodeattr(mt, "out_bias", 0.0))
    steps = thr.shape[1]
    full = np.ascontiguousarray(np.broadcast_to(thr, (shape[-1], steps))).astype(np.float32)
    if (scale, bias) == (2.0, -1.0) and steps == 1:
        return full, DataType["BIPOLAR"], 0
    if scale != 1.0 or not bias.is_integer():
        return None
    return full, DataType.smallest_for_range(bias, bias + steps), int(bias)


def _has_sparsity(model: ModelWrapper, tensor: str) -> bool:
    """Whether ``tensor`` carries a QONNX ``tensor_sparsity`` annotation (set by LowerConvsToMatMul)."""
    return any(
        kv.key == "tensor_sparsity"
        for qa in model.graph.quantization_annotation
        if qa.tensor_name == tensor
        for kv in qa.quant_parameter_tensor_names
    )


def _threshold_datatype(model: ModelWrapper, name: str, values: np.ndarray) -> DataType:
    dt = model.get_tensor_datatype(name)
    if dt.is_integer() and bool(np.all(dt.allowed(values))):
        return dt
    return DataType.smallest_for_range(float(values.min()), float(values.max()))


def _replace(model: ModelWrapper, old: list[onnx.NodeProto], new: onnx.NodeProto) -> None:
    idx = min(model.get_node_index(n) for n in old)
    for n in old:
        model.remove_node(n)
    model.graph.node.insert(idx, new)
    if not any(imp.domain == HW_DOMAIN for imp in model.model.opset_import):
        model.model.opset_import.add(domain=HW_DOMAIN, version=1)


def _set_const(model: ModelWrapper, hint: str, value: np.ndarray, dt: DataType) -> str:
    name = model.make_new_name(hint)
    model.set_initializer(name, value.astype(np.float32))
    model.set_tensor_datatype(name, dt)
    return name


def _mvau(model: ModelWrapper, node: onnx.NodeProto, binary: bool) -> bool:
    x, w_name = node.input[0], node.input[1]
    w = model.get_initializer(w_name)
    x_shape = model.get_tensor_shape(x)
    idt, wdt = model.get_tensor_datatype(x), model.get_tensor_datatype(w_name)
    acc_dt = model.get_tensor_datatype(node.output[0])
    if w is None or x_shape is None or w.ndim != 2 or not (idt.is_integer() and wdt.is_integer()):
        return False
    if _has_sparsity(model, w_name):
        return False  # a depthwise convolution's block-sparse weights: InferVectorVectorActivation's job
    if not acc_dt.is_integer():
        return False
    inputs, out, fused = [x, w_name], node.output[0], [node]
    attrs: dict[str, Any] = {"noActivation": 1, "outputDataType": acc_dt.name, "ActVal": 0}
    mt = _sole_consumer(model, node.output[0])
    act = _activation(model, mt) if mt is not None and mt.op_type == "MultiThreshold" else None
    if mt is not None and act is not None:
        thr, odt, act_val = act
        inputs.append(
            _set_const(
                model, f"{mt.name or 'MultiThreshold'}_hw_thresholds", thr, _threshold_datatype(model, mt.input[1], thr)
            )
        )
        out, fused = mt.output[0], [node, mt]
        attrs = {"noActivation": 0, "outputDataType": odt.name, "ActVal": act_val}
        model.set_tensor_datatype(out, odt)
    layer = helper.make_node(
        "MVAU",
        inputs,
        [out],
        domain=HW_DOMAIN,
        name=node.name,
        MW=int(w.shape[0]),
        MH=int(w.shape[1]),
        SIMD=1,
        PE=1,
        inputDataType=idt.name,
        weightDataType=wdt.name,
        accDataType=acc_dt.name,
        binaryXnorMode=int(binary),
        numInputVectors=[int(d) for d in x_shape[:-1]],
        **attrs,
    )
    _replace(model, fused, layer)
    return True


class InferQuantizedMatrixVectorActivation(Transformation):
    """``MatMul`` with integer input and constant integer weights (+ ``MultiThreshold``) to ``MVAU`` (FINN name)."""

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("MatMul")):
            changed |= _mvau(model, node, binary=False)
        return model, changed


class InferBinaryMatrixVectorActivation(Transformation):
    """``XnorPopcountMatMul`` (+ ``MultiThreshold``) to ``MVAU`` with ``binaryXnorMode=1`` (FINN name)."""

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("XnorPopcountMatMul")):
            changed |= _mvau(model, node, binary=True)
        return model, changed


class InferThresholdingLayer(Transformation):
    """A standalone ``MultiThreshold`` on an integer, channels-last input to ``Thresholding`` (FINN name)."""

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for mt in list(model.get_nodes_by_op_type("MultiThreshold")):
            idt = model.get_tensor_datatype(mt.input[0])
            shape = model.get_tensor_shape(mt.input[0])
            act = _activation(model, mt)
            if act is None or shape is None or not idt.is_integer():
                continue
            thr, odt, act_val = act
            thr_name = _set_const(
                model, f"{mt.name or 'MultiThreshold'}_hw_thresholds", thr, _threshold_datatype(model, mt.input[1], thr)
            )
            layer = helper.make_node(
                "Thresholding",
                [mt.input[0], thr_name],
                [mt.output[0]],
                domain=HW_DOMAIN,
                name=mt.name,
                NumChannels=int(shape[-1]),
                PE=1,
                numSteps=int(thr.shape[1]),
                inputDataType=idt.name,
                outputDataType=odt.name,
                weightDataType=model.get_tensor_datatype(thr_name).name,
                ActVal=act_val,
                numInputVectors=[int(d) for d in shape[:-1]],
            )
            model.set_tensor_datatype(mt.output[0], odt)
            _replace(model, [mt], layer)
            changed = True
        return model, changed


class InferLabelSelectLayer(Transformation):
    """``TopK`` (largest, last axis, indices only) on integer scores to ``LabelSelect`` (FINN name)."""

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("TopK")):
            shape = model.get_tensor_shape(node.input[0])
            idt = model.get_tensor_datatype(node.input[0])
            values_used = model.find_consumers(node.output[0]) or node.output[0] in model.graph_output_names()
            k = _topk_k(model, node)
            axis = int(model.get_nodeattr(node, "axis", -1))
            largest = int(model.get_nodeattr(node, "largest", 1))
            if shape is None or k is None or values_used or not idt.is_integer() or largest != 1:
                continue
            if axis not in (-1, len(shape) - 1):
                continue
            layer = helper.make_node(
                "LabelSelect",
                [node.input[0]],
                [node.output[1]],
                domain=HW_DOMAIN,
                name=node.name,
                Labels=int(shape[-1]),
                PE=1,
                K=k,
                inputDataType=idt.name,
                outputDataType=DataType.smallest_for_range(0, shape[-1] - 1).name,
                numInputVectors=[int(d) for d in shape[:-1]],
            )
            _replace(model, [node], layer)
            changed = True
        return model, changed


def _topk_k(model: ModelWrapper, node: onnx.NodeProto) -> int | None:
    if len(node.input) > 1 and node.input[1]:
        k = model.get_initializer(node.input[1])
        return None if k is None else int(np.asarray(k).reshape(-1)[0])
    attr = model.get_nodeattr(node, "k")
    return None if attr is None else int(attr)


__all__ = [
    "InferBinaryMatrixVectorActivation",
    "InferLabelSelectLayer",
    "InferQuantizedMatrixVectorActivation",
    "InferThresholdingLayer",
]
