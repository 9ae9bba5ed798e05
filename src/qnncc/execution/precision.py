"""Exact integer execution beyond float32: run a model in float64 when its datatypes need it.

float32 holds every integer up to ``2**24`` exactly, float64 up to ``2**53``.
A model whose integer datatypes (the ``finn_datatype`` annotations, a HW
layer's ``*DataType`` attributes) or whose integer accumulators (``MatMul``,
``Gemm``, ``Conv``, MVAU, VVAU: ``max|x| * sum|w|`` per output, from the
input datatype and the constant weights) can exceed ``2**24`` is executed in
float64 by both back ends (:func:`needs_float64`, :func:`widen_to_float64`):
float32 initializers, inputs, outputs and casts become float64, custom ops
keep float64 (:func:`qnncc.custom_op.base.float_type`), and the few standard
ops onnxruntime has no float64 kernel for are replaced: an integer ``Conv``
by ``Im2Col`` + ``MatMul`` (exact, :func:`exact_integer_convs`), the rest
(``AveragePool``, ``GlobalAveragePool``, ``ConvTranspose``, ``Resize``, ...)
run in float32 between two casts. The outputs are then float64 arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from qnncc.core.datatype import DataType
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op, is_custom_node

#: Largest magnitude up to which float32 represents every integer.
FLOAT32_EXACT = 2**24
#: Ops without a float64 onnxruntime CPU kernel, with the indices of their float inputs.
FLOAT32_ONLY: dict[str, tuple[int, ...]] = {
    "Conv": (0, 1, 2),
    "ConvTranspose": (0, 1, 2),
    "AveragePool": (0,),
    "GlobalAveragePool": (0,),
    "LpPool": (0,),
    "Resize": (0, 1, 2),
    "Upsample": (0, 1),
    "InstanceNormalization": (0, 1, 2),
    "LRN": (0,),
    "Erf": (0,),
}


def _int_bound(name: str | None) -> float:
    """``max(|min|, |max|)`` of an integer datatype name, 0 for floats and unknown names."""
    if not name:
        return 0.0
    try:
        dt = DataType.from_name(name)
    except QnnccError:
        return 0.0
    return max(abs(dt.min()), abs(dt.max())) if dt.is_integer() else 0.0


def _acc_bound(x_bound: float, w: np.ndarray | None, reduce_axes: tuple[int, ...]) -> float:
    if w is None or not x_bound:
        return 0.0
    w = np.abs(np.asarray(w, np.float64))
    return float(x_bound * np.max(np.sum(w, axis=reduce_axes))) if w.size else 0.0


ACCUMULATORS = ("MatMul", "Gemm", "Conv")
#: Ops whose output carries the integer grid of their non-constant input(s): a scale or shift by a
#: constant and layout changes. The output's bound is its input's, so the decision does not change
#: when a pass moves a scalar ``Mul``/``Add`` past a ``MatMul`` or a ``Reshape`` (it would if the
#: ``MatMul`` saw the float annotation of a scaled tensor before the move and the integer one after).
BOUND_CARRIERS = (
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Identity",
)


def _annotated_bound(model: ModelWrapper, tensor: str) -> float:
    dt = model.get_tensor_datatype(tensor)
    return max(abs(dt.min()), abs(dt.max())) if dt.is_integer() else 0.0


def _standard_acc_bound(model: ModelWrapper, node: onnx.NodeProto, x_bound: float) -> float:
    w = model.get_initializer(node.input[1])
    if w is None or w.ndim < 2:
        return 0.0
    if node.op_type == "Conv":
        return _acc_bound(x_bound, w, tuple(range(1, w.ndim)))
    trans_b = node.op_type == "Gemm" and int(model.get_nodeattr(node, "transB", 0))
    return _acc_bound(x_bound, w, (w.ndim - 1,) if trans_b else (w.ndim - 2,))


def _custom_bound(model: ModelWrapper, node: onnx.NodeProto) -> float:
    """Largest integer magnitude a custom/HW node reads, accumulates or writes, from its attributes."""
    if node.op_type == "MultiThreshold" and len(node.input) > 1:
        thr = model.get_initializer(node.input[1])
        finite = thr[np.isfinite(thr)] if thr is not None else np.zeros(0)
        if not finite.size or not np.array_equal(finite, np.round(finite)):
            return 0.0  # float thresholds: a float model, no integer exactness to keep
        return float(np.max(np.abs(finite)))
    dtypes = {
        a.name: a.s.decode(errors="replace")
        for a in node.attribute
        if a.name.lower().endswith("datatype") and a.type == onnx.AttributeProto.STRING
    }
    w = model.get_initializer(node.input[1]) if len(node.input) > 1 and node.input[1] else None
    x_bound = _int_bound(dtypes.get("inputDataType"))
    acc = 0.0
    if w is not None and w.ndim >= 2 and node.op_type.startswith(("MVAU", "MatrixVectorActivation")):
        acc = _acc_bound(x_bound, w, (0,))
    elif w is not None and w.ndim >= 2 and node.op_type.startswith(("VVAU", "VectorVectorActivation")):
        acc = _acc_bound(x_bound, w, tuple(range(1, w.ndim)))
    skip = {"accDataType"} | ({"outputDataType"} if acc else set())  # computed from the weights instead
    bound = max((_int_bound(v) for k, v in dtypes.items() if k not in skip), default=0.0)
    try:
        op: Any = get_custom_op(node)
        if not acc and hasattr(op, "output_datatype"):
            bound = max(bound, _int_bound(op.output_datatype().name))
    except (QnnccError, KeyError, ValueError, TypeError, NotImplementedError):
        pass
    return max(bound, acc)


def needs_float64(model: ModelWrapper) -> bool:
    """Whether some integer value or accumulator of ``model`` may exceed ``2**24`` (see the module doc).

    The bound of a ``MatMul``/``Gemm``/``Conv`` output is computed from its
    input's bound and its constant weights, not taken from its annotation
    (FINN annotates every such output INT32); a scale, shift or layout change
    (:data:`BOUND_CARRIERS`) passes its input's bound on, so a semantics-preserving
    pass that moves a scalar ``Mul``/``Add`` or a ``Reshape`` across an accumulator
    does not change the decision; other tensors use their integer annotation.
    """
    computed: dict[str, float] = {}

    def bound_of(tensor: str) -> float:
        return computed[tensor] if tensor in computed else _annotated_bound(model, tensor)

    for name in model.graph_input_names():
        if bound_of(name) > FLOAT32_EXACT:
            return True
    for node in model.graph.node:
        if node.op_type in ACCUMULATORS and node.domain in ("", "ai.onnx"):
            bound = _standard_acc_bound(model, node, bound_of(node.input[0]))
            computed[node.output[0]] = bound
        elif is_custom_node(node) and any(a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
            child = next(a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH)
            child_model = ModelWrapper(helper.make_model(child, opset_imports=list(model.model.opset_import)))
            if needs_float64(child_model):  # a dataflow partition: its layers decide
                return True
            continue
        elif is_custom_node(node):
            bound = _custom_bound(model, node)
        elif node.op_type in BOUND_CARRIERS and node.domain in ("", "ai.onnx"):
            data = node.input[:1] if node.op_type not in ("Add", "Sub", "Mul", "Div") else node.input
            if node.op_type == "Div" and not model.is_constant(node.input[1]):
                continue  # a quotient of two tensors leaves the integer grid
            bound = max((bound_of(t) for t in data if t and not model.is_constant(t)), default=0.0)
            computed[node.output[0]] = max(bound, _annotated_bound(model, node.output[0]))
        else:
            continue
        if bound > FLOAT32_EXACT:
            return True
    return False


# ------------------------------------------------------------------ widening


def widen_to_float64(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Turn every float32 of ``proto`` into float64, in place (see the module doc).

    Covers initializers, graph inputs/outputs/value infos, ``Cast``/``Constant``/
    ``ConstantOfShape``/``Random*``/``EyeLike`` types, and wraps the ops of
    :data:`FLOAT32_ONLY` in casts.
    Run :func:`exact_integer_convs` first, on a model with shapes, to make
    integer ``Conv`` nodes exact. Idempotent.
    """
    _widen_graph(proto.graph)
    return proto


def _widen_graph(graph: onnx.GraphProto) -> None:
    """:func:`widen_to_float64` of one graph and, recursively, of its nodes' subgraphs (partitions, If)."""
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float64), init.name))
    for vi in [*graph.input, *graph.output, *graph.value_info]:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                _widen_graph(attr.g)
        if node.domain not in ("", "ai.onnx"):
            nodes.append(node)
            continue
        _widen_attributes(node)
        if node.op_type in FLOAT32_ONLY:
            nodes.extend(_in_float32(node, FLOAT32_ONLY[node.op_type]))
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)


def _widen_attributes(node: onnx.NodeProto) -> None:
    for attr in node.attribute:
        if attr.name in ("to", "dtype") and attr.type == onnx.AttributeProto.INT and attr.i == TensorProto.FLOAT:
            attr.i = TensorProto.DOUBLE
        elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
            attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float64), attr.t.name))
    if node.op_type == "Constant":
        for attr in list(node.attribute):
            if attr.name in ("value_float", "value_floats"):
                value = np.asarray(helper.get_attribute_value(attr), np.float64)
                node.attribute.remove(attr)
                node.attribute.append(helper.make_attribute("value", numpy_helper.from_array(value)))


def _in_float32(node: onnx.NodeProto, float_inputs: tuple[int, ...]) -> list[onnx.NodeProto]:
    """``node`` run in float32: its float inputs cast down, its first output cast back up."""
    casts = []
    for i in float_inputs:
        if i < len(node.input) and node.input[i]:
            down = f"{node.input[i]}__f32_{node.name or node.output[0]}"
            casts.append(helper.make_node("Cast", [node.input[i]], [down], to=TensorProto.FLOAT))
            node.input[i] = down
    out = node.output[0]
    node.output[0] = f"{out}__f32"
    return [*casts, node, helper.make_node("Cast", [node.output[0]], [out], to=TensorProto.DOUBLE)]


def exact_integer_convs(model: ModelWrapper) -> None:
    """Rewrite each 2-D ``Conv`` with constant weights (groups 1 or depthwise) as ``Im2Col`` + ``MatMul``, in place.

    ``[N, C, H, W] -> Transpose -> Im2Col -> MatMul W[kh*kw*C, OC] (+ bias) -> Transpose``;
    a depthwise Conv multiplies the ``[kh*kw, C]`` windows and sums them. Pure
    data movement plus float64 products and sums, so exact for integers up to
    ``2**53``. Convs it cannot rewrite (unknown input shape, other groups)
    stay (they run in float32, :data:`FLOAT32_ONLY`).
    """
    nodes: list[onnx.NodeProto] = []
    for node in model.graph.node:
        new = _conv_as_matmul(model, node) if node.op_type == "Conv" and node.domain in ("", "ai.onnx") else None
        nodes.extend(new if new is not None else [node])
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _conv_as_matmul(model: ModelWrapper, node: onnx.NodeProto) -> list[onnx.NodeProto] | None:
    w = model.get_initializer(node.input[1])
    shape = model.get_tensor_shape(node.input[0])
    if w is None or w.ndim != 4 or shape is None or len(shape) != 4 or min(shape[1:]) < 1:
        return None
    get = model.get_nodeattr
    if get(node, "auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
        return None
    groups = int(get(node, "group", 1))
    oc, cg, kh, kw = (int(v) for v in w.shape)
    c, h, wd = shape[1], shape[2], shape[3]
    depthwise = groups == c and cg == 1 and oc == c
    if groups != 1 and not depthwise:
        return None
    pads = list(get(node, "pads", [0, 0, 0, 0]))
    strides, dil = list(get(node, "strides", [1, 1])), list(get(node, "dilations", [1, 1]))
    base = model.make_new_name(f"{node.name or node.output[0]}_exact")
    x_nhwc, cols, acc = f"{base}_nhwc", f"{base}_cols", f"{base}_acc"
    out = node.output[0]
    nodes = [
        helper.make_node("Transpose", [node.input[0]], [x_nhwc], perm=[0, 2, 3, 1]),
        helper.make_node(
            "Im2Col",
            [x_nhwc],
            [cols],
            domain="qnncc.custom_op.general",
            stride=strides,
            kernel_size=[kh, kw],
            input_shape=str([1, h, wd, c]),
            pad_amount=[pads[0], pads[1], pads[2], pads[3]],
            dilations=dil,
            depthwise=int(depthwise),
        ),
    ]
    if depthwise:
        win, prod = f"{base}_windows", f"{base}_products"
        kernel = np.ascontiguousarray(w.reshape(c, kh * kw).T)
        model.set_initializer(f"{base}_shape", np.asarray([0, 0, 0, kh * kw, c], np.int64))
        model.set_initializer(f"{base}_w", kernel)
        model.set_initializer(f"{base}_axes", np.asarray([3], np.int64))
        nodes += [
            helper.make_node("Reshape", [cols, f"{base}_shape"], [win]),
            helper.make_node("Mul", [win, f"{base}_w"], [prod]),
        ]
        if (model.get_opset("") or 13) >= 13:
            nodes.append(helper.make_node("ReduceSum", [prod, f"{base}_axes"], [acc], keepdims=0))
        else:
            nodes.append(helper.make_node("ReduceSum", [prod], [acc], axes=[3], keepdims=0))
    else:
        model.set_initializer(f"{base}_w", np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(kh * kw * c, oc)))
        nodes.append(helper.make_node("MatMul", [cols, f"{base}_w"], [acc]))
    if len(node.input) > 2 and node.input[2]:
        biased = f"{base}_biased"
        nodes.append(helper.make_node("Add", [acc, node.input[2]], [biased]))
        acc = biased
    nodes.append(helper.make_node("Transpose", [acc], [out], perm=[0, 3, 1, 2]))
    return nodes


def float32_outputs(model: ModelWrapper) -> list[str]:
    """Graph outputs a float64 run may return in float32 without losing integer exactness.

    An output whose datatype annotation is not an integer and whose values lie on an integer
    grid (in units of its scale) bounded by ``2**24`` holds nothing float32 cannot: it is
    returned as float32, the values a float32 model gives, so the precision mode a model runs
    in does not show in its float outputs (a float64 run of ``int * s`` rounds once to float32,
    as the float32 product does). Integer-annotated outputs, and any output whose bound is
    unknown (a dataflow partition's) or above ``2**24``, stay float64 (exact to ``2**53``).
    Bounds: accumulators from their weights, :data:`BOUND_CARRIERS` from their inputs, custom
    ops from their output datatype, other standard ops the largest of their inputs'.
    """
    bounds: dict[str, float] = {n: _annotated_bound(model, n) for n in model.graph_input_names()}

    def bound_of(tensor: str) -> float:
        return bounds[tensor] if tensor in bounds else _annotated_bound(model, tensor)

    for node in model.graph.node:
        if node.op_type in ACCUMULATORS and node.domain in ("", "ai.onnx"):
            out = _standard_acc_bound(model, node, bound_of(node.input[0])) or float("inf")
        elif is_custom_node(node):
            out = _custom_output_bound(model, node)
        else:
            out = max((bound_of(t) for t in node.input if t and not model.is_constant(t)), default=0.0)
        for name in node.output:
            bounds[name] = max(out, _annotated_bound(model, name))
    return [
        name
        for name in model.graph_output_names()
        if not model.get_tensor_datatype(name).is_integer() and bound_of(name) <= FLOAT32_EXACT
    ]


def _custom_output_bound(model: ModelWrapper, node: onnx.NodeProto) -> float:
    """Integer bound of a custom node's outputs from its output datatype (unknown: infinite)."""
    if any(a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
        return float("inf")  # a dataflow partition: not looked into
    try:
        op: Any = get_custom_op(node)
        types = op.infer_datatype(model)
    except (QnnccError, KeyError, ValueError, TypeError, NotImplementedError, AttributeError):
        return float("inf")
    return max((max(abs(t.min()), abs(t.max())) if t.is_integer() else 0.0 for t in types), default=0.0)
