"""Elementwise and fork HW conversions: AddStreams, DuplicateStreams, ChannelwiseOp (FINN's passes).

Exported with the CNN passes from :mod:`.infer_cnn`. Channels are the last
axis; a node whose constant varies along another axis (an NCHW tensor) is
left alone, so run :class:`~qnncc.transforms.lower.ConvertToNHWC` first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.partition import is_hw

from .._graph import drop_tensor_metadata
from ._util import ensure_hw_domain, hw_node, new_tensor
from .infer_mlp import _replace


def _streamable(model: ModelWrapper, name: str) -> bool:
    """Integer-typed, float-carried (not an int64 index tensor) and not annotated channels-first."""
    layout = model.get_tensor_layout(name)
    elem = model.get_tensor_elem_type(name)
    channels_first = layout is not None and "C" in layout and layout.index("C") != len(layout) - 1
    return model.get_tensor_datatype(name).is_integer() and elem in (None, TensorProto.FLOAT) and not channels_first


class InferAddStreamsLayer(Transformation):
    """``Add`` of two non-constant integer tensors of equal shape to ``AddStreams`` (FINN name).

    ``NumChannels`` is the last dimension, ``numInputVectors`` the others;
    equal input datatypes go into ``inputDataType``, different ones into
    ``inputDataTypes``. Inputs annotated channels-first (e.g. NCHW) are
    skipped. Exact: the same float32 additions.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.get_nodes_by_op_type("Add")):
            a, b = node.input[0], node.input[1]
            shape = model.get_tensor_shape(a)
            dts = [model.get_tensor_datatype(t) for t in (a, b)]
            if model.is_constant(a) or model.is_constant(b) or shape is None or shape != model.get_tensor_shape(b):
                continue
            if not (_streamable(model, a) and _streamable(model, b)):
                continue
            names: dict[str, Any] = (
                {"inputDataType": dts[0].name} if dts[0] == dts[1] else {"inputDataTypes": [dt.name for dt in dts]}
            )
            vecs = [int(d) for d in shape[:-1]] or [1]
            layer = hw_node(
                "AddStreams",
                [a, b],
                [node.output[0]],
                node.name or "Add",
                NumChannels=int(shape[-1]),
                PE=1,
                numInputVectors=vecs,
                **names,
            )
            if layer is None:
                continue
            _replace(model, [node], layer)
            model.set_tensor_datatype(
                node.output[0], DataType.smallest_for_range(dts[0].min() + dts[1].min(), dts[0].max() + dts[1].max())
            )
            changed = True
        return model, changed


class InferDuplicateStreamsLayer(Transformation):
    """A tensor read by two or more HW layers gets a ``DuplicateStreams`` fork (FINN name).

    Pattern: an integer tensor of known shape, not a graph output, whose
    every reader is a HW layer, read at two or more inputs (a layer reading
    it twice counts twice). Rewrite: ``DuplicateStreams`` right after the
    producer (first for a graph input) with one output per read, each read
    rewired to its own copy. Exact: the copies equal the tensor.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        candidates = [(-1, t) for t in model.graph_input_names()]
        candidates += [(i, t) for i, n in enumerate(model.graph.node) for t in n.output if t]
        inserted = 0
        for index, tensor in candidates:
            reads = [(n, i) for n in model.find_consumers(tensor) for i, t in enumerate(n.input) if t == tensor]
            shape, dt = model.get_tensor_shape(tensor), model.get_tensor_datatype(tensor)
            if len(reads) < 2 or not all(is_hw(n) for n, _ in reads) or tensor in model.graph_output_names():
                continue
            if shape is None or not shape or not dt.is_integer():
                continue
            copies = [new_tensor(model, f"{tensor}_copy", shape, dt) for _ in reads]
            vecs = [int(d) for d in shape[:-1]] or [1]
            fork = hw_node(
                "DuplicateStreams",
                [tensor],
                copies,
                f"{tensor}_fork",
                NumChannels=int(shape[-1]),
                PE=1,
                NumOutputStreams=len(reads),
                inputDataType=dt.name,
                numInputVectors=vecs,
                outFIFODepths=[2] * len(reads),
            )
            if fork is None:
                for copy in copies:
                    drop_tensor_metadata(model, copy)
                continue
            for (reader, i), copy in zip(reads, copies, strict=True):
                reader.input[i] = copy
            model.graph.node.insert(index + 1 + inserted, fork)
            inserted += 1
            changed = True
        if changed:
            ensure_hw_domain(model)
        return model, changed


def _per_last_axis(value: np.ndarray, shape: list[int]) -> np.ndarray | None:
    """``value`` as ``[C]`` if broadcasting it against ``shape`` varies along the last axis only."""
    try:
        if np.broadcast_shapes(value.shape, tuple(shape)) != tuple(shape):
            return None
    except ValueError:
        return None
    rows = np.broadcast_to(value, tuple(shape)).reshape(-1, shape[-1])
    return np.ascontiguousarray(rows[0]) if bool(np.all(rows == rows[:1])) else None


class InferChannelwiseLinearLayer(Transformation):
    """``Mul``/``Add`` of an integer tensor and integer per-channel constants to ``ChannelwiseOp`` (FINN name).

    Pattern: one operand non-constant, integer-typed, channels last; the
    other a constant with integer values that is a scalar or varies along
    the last axis only. Rewrite: ``ChannelwiseOp`` with ``Func`` ``add`` or
    ``mul``, the constant as ``[C]`` parameters in the smallest integer
    ``paramDataType`` and the output datatype from the range (FINN's rule).
    Exact: the same float32 operation on the same values.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type not in ("Add", "Mul") or node.domain not in ("", "ai.onnx") or len(node.input) != 2:
                continue
            consts = [model.get_initializer(t) for t in node.input]
            if (consts[0] is None) == (consts[1] is None):
                continue
            k = 0 if consts[0] is None else 1
            x, value = node.input[k], consts[1 - k]
            shape, idt = model.get_tensor_shape(x), model.get_tensor_datatype(x)
            if value is None or shape is None or not shape or not _streamable(model, x):
                continue
            params = _per_last_axis(value.astype(np.float32), shape)
            if params is None or not np.array_equal(params, np.round(params)):
                continue
            odt = _output_datatype(node.op_type, idt, params)
            if odt is None:
                continue
            name = model.make_new_name(f"{node.name or node.op_type}_params")
            model.set_initializer(name, params.astype(np.float32))
            pdt = DataType.smallest_for_range(float(params.min()), float(params.max()))
            model.set_tensor_datatype(name, pdt)
            vecs = [int(d) for d in shape[:-1]] or [1]
            layer = hw_node(
                "ChannelwiseOp",
                [x, name],
                [node.output[0]],
                node.name or node.op_type,
                Func=node.op_type.lower(),
                PE=1,
                NumChannels=int(shape[-1]),
                inputDataType=idt.name,
                paramDataType=pdt.name,
                outputDataType=odt.name,
                numInputVectors=vecs,
            )
            if layer is None:
                model.del_initializer(name)
                drop_tensor_metadata(model, name)
                continue
            _replace(model, [node], layer)
            model.set_tensor_datatype(node.output[0], odt)
            changed = True
        return model, changed


def _output_datatype(op_type: str, idt: DataType, params: np.ndarray) -> DataType | None:
    lo, hi = float(params.min()), float(params.max())
    if op_type == "Add":
        bounds = [idt.min() + lo, idt.max() + hi]
    else:
        bounds = [a * b for a in (idt.min(), idt.max()) for b in (lo, hi)]
    try:
        return DataType.smallest_for_range(min(bounds), max(bounds))
    except QnnccError:
        return None


__all__ = ["InferAddStreamsLayer", "InferChannelwiseLinearLayer", "InferDuplicateStreamsLayer"]
