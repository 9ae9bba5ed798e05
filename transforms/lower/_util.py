"""Graph helpers shared by the lowering passes (not part of the public API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import onnx

from qnncc.core.model_wrapper import ModelWrapper

from ..infer import InferShapes

#: Domain written on the custom nodes these passes create (as QONNX does).
QONNX_DOMAIN = "qonnx.custom_op.general"
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]
SPARSITY_KEY = "tensor_sparsity"


def transpose_perm(model: ModelWrapper, node: onnx.NodeProto) -> list[int] | None:
    """The ``perm`` of a Transpose node; the reversal of the axes when absent (rank known), else None."""
    perm = model.get_nodeattr(node, "perm")
    if perm is not None:
        return [int(p) for p in perm]
    shape = model.get_tensor_shape(node.input[0])
    return None if shape is None else list(reversed(range(len(shape))))


def is_transpose(model: ModelWrapper, node: onnx.NodeProto | None, perm: Sequence[int]) -> bool:
    """Whether ``node`` is a default-domain Transpose with permutation ``perm``."""
    return (
        node is not None
        and node.op_type == "Transpose"
        and node.domain in ("", "ai.onnx")
        and transpose_perm(model, node) == list(perm)
    )


def is_graph_output(model: ModelWrapper, name: str) -> bool:
    """Whether ``name`` is a graph output."""
    return name in model.graph_output_names()


def insert_nodes(model: ModelWrapper, index: int, nodes: Sequence[onnx.NodeProto]) -> None:
    """Insert ``nodes`` in order at position ``index`` of ``graph.node``."""
    for offset, node in enumerate(nodes):
        model.graph.node.insert(index + offset, node)


def remove_if_dead(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    """Remove ``node`` if none of its outputs is read or is a graph output; True if removed."""
    if any(model.find_consumers(t) or is_graph_output(model, t) for t in node.output if t):
        return False
    model.remove_node(node)
    return True


def ensure_domain_import(model: ModelWrapper, domain: str = QONNX_DOMAIN) -> None:
    """Add an opset import for ``domain`` (version 1) if the model has none."""
    if not any(imp.domain == domain for imp in model.model.opset_import):
        model.model.opset_import.add(domain=domain, version=1)


def ensure_shapes(model: ModelWrapper, names: Sequence[str]) -> None:
    """Run :class:`InferShapes` (which copes with unsorted graphs) if any of ``names`` has no static shape."""
    if any(model.get_tensor_shape(n) is None for n in names if n):
        InferShapes().apply(model)


def set_tensor_sparsity(model: ModelWrapper, name: str, sparsity: dict[str, Any]) -> None:
    """Write a QONNX ``tensor_sparsity`` annotation (``str(dict)``, as QONNX's ModelWrapper)."""
    for qa in model.graph.quantization_annotation:
        if qa.tensor_name == name:
            break
    else:
        qa = model.graph.quantization_annotation.add()
        qa.tensor_name = name
    for kv in qa.quant_parameter_tensor_names:
        if kv.key == SPARSITY_KEY:
            kv.value = str(sparsity)
            return
    kv = qa.quant_parameter_tensor_names.add()
    kv.key, kv.value = SPARSITY_KEY, str(sparsity)
