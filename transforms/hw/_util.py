"""Helpers shared by the HW conversion passes (not public API)."""

from __future__ import annotations

import ast
from typing import Any

import onnx
from onnx import helper

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import HW_DOMAIN

from ..lower._util import SPARSITY_KEY


def hw_node(op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs: Any) -> onnx.NodeProto | None:
    """A HW layer node, or None if the layer rejects the attributes (then nothing is converted)."""
    node = helper.make_node(op_type, inputs, outputs, domain=HW_DOMAIN, name=name, **attrs)
    try:
        get_custom_op(node)
    except UnsupportedOpError:
        return None
    return node


def new_tensor(model: ModelWrapper, hint: str, shape: list[int], dt: DataType | None) -> str:
    """A new tensor name with a recorded shape and datatype (None or a float type: unannotated)."""
    name = model.make_new_name(hint)
    model.set_tensor_shape(name, shape)
    model.set_tensor_datatype(name, None if dt is None or dt.is_float() else dt)
    return name


def ensure_hw_domain(model: ModelWrapper) -> None:
    """Add the opset import of the HW layer domain if missing."""
    if not any(imp.domain == HW_DOMAIN for imp in model.model.opset_import):
        model.model.opset_import.add(domain=HW_DOMAIN, version=1)


def tensor_sparsity(model: ModelWrapper, name: str) -> dict[str, Any] | None:
    """The QONNX ``tensor_sparsity`` annotation of a tensor (``{"dw": {"kernel_shape": [kh, kw]}}``), if any."""
    for qa in model.graph.quantization_annotation:
        if qa.tensor_name == name:
            for kv in qa.quant_parameter_tensor_names:
                if kv.key == SPARSITY_KEY:
                    try:
                        value = ast.literal_eval(kv.value)
                    except (ValueError, SyntaxError):
                        return None
                    return value if isinstance(value, dict) else None
    return None


def unique_node_name(model: ModelWrapper, prefix: str) -> str:
    """``prefix`` plus the smallest counter no node is named with yet (FINN style: ``StreamingFIFO_0``, ...)."""
    used = {n.name for n in model.graph.node}
    i = 0
    while f"{prefix}{i}" in used:
        i += 1
    return f"{prefix}{i}"
