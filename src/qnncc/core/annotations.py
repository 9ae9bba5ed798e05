"""Tensor annotations of an ONNX graph: datatypes and layouts in ``graph.quantization_annotation``.

FINN and QONNX keep per-tensor metadata as key/value pairs of the graph's
``quantization_annotation`` entries: the datatype under ``finn_datatype``
(e.g. ``"INT4"``) and the data layout under ``tensor_layout`` in the list form
``"['N', 'C']"``. These functions read and write those pairs on a
``GraphProto``; :class:`~qnncc.core.model_wrapper.ModelWrapper` exposes them as
``get/set_tensor_datatype`` and ``get/set_tensor_layout``.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import onnx

__all__ = [
    "DATATYPE_KEY",
    "LAYOUT_KEY",
    "format_layout",
    "get_annotation",
    "parse_layout",
    "set_annotation",
]

#: Annotation key of a tensor's datatype (FINN/QONNX).
DATATYPE_KEY = "finn_datatype"
#: Annotation key of a tensor's data layout (FINN/QONNX).
LAYOUT_KEY = "tensor_layout"


def find_annotation(graph: onnx.GraphProto, name: str, create: bool) -> onnx.TensorAnnotation | None:
    """The annotation entry of tensor ``name`` (a new empty one if ``create`` and there is none)."""
    for qa in graph.quantization_annotation:
        if qa.tensor_name == name:
            return qa
    if not create:
        return None
    qa = graph.quantization_annotation.add()
    qa.tensor_name = name
    return qa


def get_annotation(graph: onnx.GraphProto, name: str, key: str) -> str | None:
    """Value of annotation ``key`` of tensor ``name``, or None."""
    qa = find_annotation(graph, name, create=False)
    if qa is None:
        return None
    for kv in qa.quant_parameter_tensor_names:
        if kv.key == key:
            return str(kv.value)
    return None


def set_annotation(graph: onnx.GraphProto, name: str, key: str, value: str | None) -> None:
    """Set annotation ``key`` of tensor ``name`` to ``value`` (``None`` removes it)."""
    qa = find_annotation(graph, name, create=value is not None)
    if qa is None:
        return
    for i, kv in enumerate(qa.quant_parameter_tensor_names):
        if kv.key == key:
            if value is None:
                del qa.quant_parameter_tensor_names[i]
            else:
                kv.value = value
            return
    if value is not None:
        kv = qa.quant_parameter_tensor_names.add()
        kv.key, kv.value = key, value


def parse_layout(value: str | None) -> str | None:
    """A stored layout as a string such as ``"NHWC"`` (qnncc's plain form or FINN's list form), or None.

    Examples:
        >>> parse_layout("['N', 'C', 'H', 'W']"), parse_layout("NC"), parse_layout("[bad")
        ('NCHW', 'NC', None)
    """
    if not value:
        return None
    if value.startswith("["):
        try:
            return "".join(ast.literal_eval(value))
        except (ValueError, SyntaxError):
            return None
    return value


def format_layout(layout: str | Sequence[str]) -> str:
    """A layout in the FINN/QONNX list form: ``"NHWC"`` -> ``"['N', 'H', 'W', 'C']"``."""
    return str(list(layout))
