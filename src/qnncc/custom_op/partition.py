"""Dataflow partitions: the partition op, which nodes are HW, and a partition's child model.

The one place for these ideas (the flow, the simulator, code generation and the passes use it):

* :class:`StreamingDataflowPartition`, a parent-graph node holding a child model of HW layers.
  The child graph is stored in the node's ``model`` GRAPH attribute, so the parent model is
  self-contained (FINN stores a file path instead, which ties models to one machine). Its inputs
  and outputs keep the parent's tensor names.
* :func:`is_hw` (a streaming HW layer, qnncc's or FINN's domain) and
  :data:`STREAM_PASS_THROUGH_OPS` (standard ops that only reinterpret a stream's shape, so they
  may sit inside a partition);
* :func:`partition_child` / :func:`only_partition_child` / :func:`set_partition_child`: read and
  write a partition's child model with the parent's opsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper

PARTITION_DOMAIN = "qnncc"
#: ONNX domain of qnncc's HW layers.
HW_DOMAIN = "qnncc.hw"
#: Domain prefix of FINN's HW layers (``finn.custom_op.fpgadataflow``, ``.hls``, ``.rtl``).
FINN_HW_DOMAIN = "finn.custom_op.fpgadataflow"
#: Standard ops that only reinterpret a stream's shape (C order unchanged): between two HW layers
#: they join the partition and pass the stream through.
STREAM_PASS_THROUGH_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze"})


def is_stream_pass_through(node: onnx.NodeProto) -> bool:
    """Whether ``node`` is a standard (default-domain) op of :data:`STREAM_PASS_THROUGH_OPS`.

    The domain matters: finn-plus's ``Squeeze``/``Unsqueeze``/``Reshape`` HW layers share the names.
    """
    return node.op_type in STREAM_PASS_THROUGH_OPS and node.domain in ("", "ai.onnx")


def is_hw(node: onnx.NodeProto) -> bool:
    """Whether ``node`` is a streaming HW layer (qnncc's ``qnncc.hw`` or FINN's fpgadataflow domain)."""
    return node.domain == HW_DOMAIN or node.domain.startswith(FINN_HW_DOMAIN)


class StreamingDataflowPartition(CustomOp):
    """Runs its child model; inputs and outputs are the child graph's, by name."""

    op_type = "StreamingDataflowPartition"
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "model": AttrSpec("graph", required=True),
        "partition_id": AttrSpec("i", default=0),
        # partitions of one configuration are one design (connected, run together); configurations
        # run in turn with reconfiguration (see partition_configurations)
        "configuration": AttrSpec("i", default=0),
    }

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

    def child_opsets(self, opset: int = 13) -> list[onnx.OperatorSetIdProto]:
        """Opset imports for the child alone: ONNX ``opset`` plus version 1 of each custom domain it uses."""
        domains = sorted({n.domain for n in self.graph.node if n.domain})
        return [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]

    def run_child(
        self, run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]], inputs: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Run the child with ``run`` (an executor of the child model): inputs and outputs by position.

        Args:
            run: maps the child's graph inputs by name to (at least) its graph outputs by name.
            inputs: the partition node's inputs, in order.
        """
        feeds = {vi.name: np.asarray(x) for vi, x in zip(self.graph.input, inputs, strict=True)}
        out = run(feeds)
        return [out[o.name] for o in self.graph.output]

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise ExecutionError(
            f"{self.describe()}: a dataflow partition runs its child model through qnncc.execution, "
            "which executes and lowers partitions itself"
        )

    @override
    def lower(self, ctx: LoweringContext) -> None:
        raise ExecutionError(f"{self.describe()}: partitions are lowered by qnncc.execution.lowering")

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


def partition_nodes(model: ModelWrapper) -> list[onnx.NodeProto]:
    """The ``StreamingDataflowPartition`` nodes of ``model``, in graph order."""
    return model.get_nodes_by_op_type("StreamingDataflowPartition")


def only_partition_child(model: ModelWrapper, *, allow_bare: bool = True) -> ModelWrapper:
    """The child model of the single dataflow partition of ``model``.

    Args:
        model: a parent model with one ``StreamingDataflowPartition`` node, or (with
            ``allow_bare``) a model that is already a partition's child (no partition node).
        allow_bare: return ``model`` itself when it has no partition node.

    Raises:
        UnsupportedOpError: if the model has several partitions, or none and not ``allow_bare``.
    """
    sdps = partition_nodes(model)
    if not sdps:
        if allow_bare:
            return model
        raise UnsupportedOpError("the model has no dataflow partition (run the 'partition' step first)")
    if len(sdps) > 1:
        names = ", ".join(repr(n.name) for n in sdps)
        raise UnsupportedOpError(f"the model has {len(sdps)} dataflow partitions ({names}); expected one")
    return partition_child(model, sdps[0])


def set_partition_child(model: ModelWrapper, child: ModelWrapper, node: onnx.NodeProto | None = None) -> None:
    """Write ``child``'s graph into the partition ``node`` of ``model`` (default: the only one).

    The child's custom opsets are added to the parent's so the parent stays valid.

    Raises:
        UnsupportedOpError: if ``node`` is None and the model has no partition node.
    """
    if node is None:
        sdps = partition_nodes(model)
        if not sdps:
            raise UnsupportedOpError("the model has no dataflow partition (run the 'partition' step first)")
        node = sdps[0]
    attr = next(a for a in node.attribute if a.name == "model")
    attr.g.CopyFrom(child.graph)
    have = {imp.domain for imp in model.model.opset_import}
    for imp in child.model.opset_import:
        if imp.domain not in have:
            model.model.opset_import.append(imp)


def partition_configurations(model: ModelWrapper) -> list[list[onnx.NodeProto]]:
    """The dataflow partitions of ``model`` grouped into configurations, in run order.

    The one rule both the estimate and the build follow for a design of
    several partitions, by why it was split:

    * software between HW layers, or an SLR cut on an Alveo board: the
      partitions are one design (one bitstream), connected and running
      together; throughput is the slowest partition's, resources add up;
    * the layers do not fit the board together (the optimiser's budget split,
      fpgaConvNet's network level): each part is a configuration of its own,
      run in turn with a reconfiguration in between; resources are the
      largest configuration's.

    :class:`~qnncc.transforms.hw.partition.CreateDataflowPartition` records
    the configuration of each partition in its ``configuration`` attribute.

    Returns:
        One list of ``StreamingDataflowPartition`` nodes per configuration
        (ascending), each in graph order; ``[]`` for a model without partitions.
    """
    groups: dict[int, list[onnx.NodeProto]] = {}
    for node in partition_nodes(model):
        value = next((a.i for a in node.attribute if a.name == "configuration"), 0)
        groups.setdefault(int(value), []).append(node)
    return [groups[k] for k in sorted(groups)]
