"""StreamingDataflowPartition: a parent-graph node holding a child model of HW layers.

The child graph is stored in the node's ``model`` GRAPH attribute, so the
parent model is self-contained (FINN stores a file path instead, which ties
models to one machine). Its inputs and outputs keep the parent's tensor names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper

PARTITION_DOMAIN = "qnncc"


class StreamingDataflowPartition(CustomOp):
    """Runs its child model; inputs and outputs are the child graph's, by name."""

    op_type = "StreamingDataflowPartition"
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "model": AttrSpec("graph", required=True),
        "partition_id": AttrSpec("i", default=0),
    }

    def __init__(self, node: onnx.NodeProto) -> None:
        super().__init__(node)
        self._runner: Any = None

    @property
    def graph(self) -> onnx.GraphProto:
        """The child graph."""
        value = self.attrs["model"]
        assert isinstance(value, onnx.GraphProto)
        return value

    def child_model(self, opset_imports: Sequence[onnx.OperatorSetIdProto] = ()) -> onnx.ModelProto:
        """The child graph wrapped as a model with the given opset imports (default: ONNX 13 + custom)."""
        imports = list(opset_imports) or [helper.make_opsetid("", 13)]
        model = helper.make_model(self.graph, opset_imports=imports)
        model.ir_version = 8
        return model

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        from qnncc.execution.reference import ReferenceRunner

        if self._runner is None:
            self._runner = ReferenceRunner(self.child_model(_imports_for(self.graph)))
        runner = self._runner
        feeds = {vi.name: np.asarray(x) for vi, x in zip(self.graph.input, inputs, strict=True)}
        out = runner.run(feeds)
        return [out[o.name] for o in self.graph.output]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        from qnncc.core.model_wrapper import ModelWrapper
        from qnncc.execution.lowering import lower_to_standard_onnx

        child = ModelWrapper(self.child_model(_imports_for(self.graph, ctx.opset)))
        lowered = lower_to_standard_onnx(child, prefix=f"{ctx.prefix}_p", float64=ctx.float_dtype == np.float64)
        ctx.nodes.extend(lowered.graph.node)
        ctx.initializers.extend(lowered.graph.initializer)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        if len(self.graph.output) != 1:
            raise UnsupportedOpError(f"{self.describe()}: shape inference supports single-output partitions only")
        out = self.graph.output[0]
        dims = [int(d.dim_value) for d in out.type.tensor_type.shape.dim]
        dtype = out.type.tensor_type.elem_type or TensorProto.FLOAT
        return helper.make_node("RandomNormal", [], [self.node.output[0]], shape=dims, dtype=dtype)

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        annotations = {
            qa.tensor_name: kv.value
            for qa in self.graph.quantization_annotation
            for kv in qa.quant_parameter_tensor_names
            if kv.key == "finn_datatype"
        }
        return [DataType.from_name(annotations.get(o.name, "FLOAT32")) for o in self.graph.output]


def _imports_for(graph: onnx.GraphProto, opset: int = 13) -> list[onnx.OperatorSetIdProto]:
    domains = sorted({n.domain for n in graph.node if n.domain})
    return [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]


def partition_child(parent: ModelWrapper, node: onnx.NodeProto) -> ModelWrapper:
    """The child model of the partition ``node`` of ``parent``, with the parent's opset imports.

    The parent's opsets keep the child valid (e.g. ``Reshape``'s ``allowzero``
    needs opset 14) and executable by the same runtime as the parent.

    Raises:
        UnsupportedOpError: if ``node`` is not a StreamingDataflowPartition.
    """
    from qnncc.core.model_wrapper import ModelWrapper
    from qnncc.custom_op import get_custom_op

    op = get_custom_op(node)
    if not isinstance(op, StreamingDataflowPartition):
        raise UnsupportedOpError(f"node {node.name!r} ({node.op_type}) is not a StreamingDataflowPartition")
    return ModelWrapper(op.child_model(list(parent.model.opset_import)))
