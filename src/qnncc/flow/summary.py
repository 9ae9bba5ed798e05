"""Per-node summary table of a model (used by ``qnncc inspect`` and the demo)."""

from __future__ import annotations

from dataclasses import dataclass

from qnncc.core.model_wrapper import ModelWrapper


@dataclass(frozen=True)
class NodeRow:
    """One row of the layer table.

    Attributes:
        name: node name.
        op_type: ONNX op type (with the domain for custom ops).
        inputs: ``name:shape:datatype`` of the non-constant inputs.
        weights: ``shape:datatype`` of the constant inputs.
        outputs: ``name:shape:datatype`` of the outputs.
    """

    name: str
    op_type: str
    inputs: str
    weights: str
    outputs: str


def _tensor(model: ModelWrapper, name: str, with_name: bool = True) -> str:
    shape = model.get_tensor_shape(name)
    shape_s = "?" if shape is None else "x".join(str(d) for d in shape) or "scalar"
    text = f"{shape_s} {model.get_tensor_datatype(name).name}"
    return f"{name}: {text}" if with_name else text


def layer_table(model: ModelWrapper) -> list[NodeRow]:
    """One :class:`NodeRow` per node, in graph order."""
    rows = []
    for node in model.graph.node:
        op = f"{node.op_type} ({node.domain})" if node.domain else node.op_type
        dyn = [t for t in node.input if t and not model.is_constant(t)]
        const = [t for t in node.input if t and model.is_constant(t)]
        rows.append(
            NodeRow(
                name=node.name,
                op_type=op,
                inputs=", ".join(_tensor(model, t) for t in dyn),
                weights=", ".join(_tensor(model, t, with_name=False) for t in const),
                outputs=", ".join(_tensor(model, t) for t in node.output if t),
            )
        )
    return rows
