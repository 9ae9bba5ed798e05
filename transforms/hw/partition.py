"""CreateDataflowPartition: move HW layers into child models (FINN name).

Every HW node (domain ``qnncc.hw``) gets a partition level: the number of
software stretches between it and the graph inputs along the worst path.
HW nodes of one level form one dataflow partition, so each partition is a
convex block that can be streamed on the FPGA; the nodes left in the parent
graph run in software and are listed in :attr:`CreateDataflowPartition.software_nodes`,
with the reasons in :attr:`CreateDataflowPartition.software_report`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.errors import TransformationError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.partition import PARTITION_DOMAIN, STREAM_PASS_THROUGH_OPS, is_hw

log = logging.getLogger(__name__)


#: Whether a node is a streaming HW layer (the partition module's :func:`is_hw`, under its old name).
is_hw_node = is_hw


def _stream_reshapes(model: ModelWrapper) -> set[int]:
    """Indices of shape-only nodes between HW layers (kept inside partitions).

    A shape-only node qualifies when, looking through chains of shape-only
    nodes, its input comes from a HW layer and all its readers are HW layers,
    e.g. ``Thresholding -> Reshape -> Reshape -> MVAU`` (a global pool's
    ``[1, 1, 1, C]`` turned into NCHW, then flattened). None may write a graph output.
    """
    nodes = list(model.graph.node)
    outputs = set(model.graph_output_names())
    producer = {t: i for i, n in enumerate(nodes) for t in n.output if t}
    readers: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        for t in dict.fromkeys(n.input):
            if t:
                readers.setdefault(t, []).append(i)
    candidates = {
        i
        for i, n in enumerate(nodes)
        if n.op_type in STREAM_PASS_THROUGH_OPS and n.domain in ("", "ai.onnx") and n.output[0] not in outputs
    }

    def fed_by_hw(i: int, seen: frozenset[int] = frozenset()) -> bool:
        src = producer.get(nodes[i].input[0])
        if src is None or src in seen:
            return False
        return is_hw_node(nodes[src]) or (src in candidates and fed_by_hw(src, seen | {i}))

    def read_by_hw(i: int, seen: frozenset[int] = frozenset()) -> bool:
        rs = readers.get(nodes[i].output[0], [])
        return bool(rs) and all(
            is_hw_node(nodes[r]) or (r in candidates and r not in seen and read_by_hw(r, seen | {i})) for r in rs
        )

    return {i for i in candidates if fed_by_hw(i) and read_by_hw(i)}


def partition_levels(model: ModelWrapper) -> dict[int, int]:
    """Partition level of each HW node (and stream reshape), by index into ``graph.node`` (graph sorted)."""
    producer = {t: i for i, n in enumerate(model.graph.node) for t in n.output if t}
    inside = {i for i, n in enumerate(model.graph.node) if is_hw_node(n)} | _stream_reshapes(model)
    level: dict[int, int] = {}
    hw_above: dict[int, bool] = {}
    for i, node in enumerate(model.graph.node):
        preds = [producer[t] for t in node.input if t in producer]
        hw_above[i] = i in inside or any(hw_above[p] for p in preds)
        lvl = 0
        for p in preds:
            boundary = i in inside and p not in inside and hw_above[p]
            lvl = max(lvl, level.get(p, 0) + int(boundary))
        level[i] = lvl
    return {i: lvl for i, lvl in level.items() if i in inside}


class CreateDataflowPartition(Transformation):
    """Replace each convex block of HW layers by a ``StreamingDataflowPartition`` node.

    The child graph keeps the parent's tensor names, shapes and datatype
    annotations and takes the constants it uses. Execution is unchanged: the
    partition node runs its child graph.

    Args:
        splits: optional partition index per HW node name (default 0). Layers
            with a higher index go into a later partition, so a network that
            does not fit the device runs as several partitions in turn, with
            reconfiguration in between (fpgaConvNet). Indices must not
            decrease along any stream.
        in_turn: whether the split parts run in turn (each its own
            configuration, the default: a budget split) or together in one
            design (False: an SLR cut). Recorded in each partition's
            ``configuration`` attribute; partitions separated by software
            are always one design (see
            :func:`qnncc.custom_op.partition.partition_configurations`).

    Attributes:
        software_nodes: ``(name, op_type)`` of the nodes left in software,
            filled by :meth:`apply`.
        software_report: one line per reason why nodes stay in software
            (see :func:`explain_software_nodes`), filled by :meth:`apply`.

    Raises:
        TransformationError: if ``splits`` decreases along a stream.
    """

    def __init__(self, splits: Mapping[str, int] | None = None, in_turn: bool = True) -> None:
        self.splits = dict(splits or {})
        self.in_turn = in_turn
        self.software_nodes: list[tuple[str, str]] = []
        self.software_report: list[str] = []

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        levels = partition_levels(model)
        self._check_splits(model, levels)
        groups: dict[tuple[int, int], list[int]] = {}
        for idx, lvl in levels.items():
            groups.setdefault((lvl, self._split_of(model, idx)), []).append(idx)
        nodes = list(model.graph.node)
        replaced: dict[int, onnx.NodeProto] = {}
        removed: set[int] = set()
        for pid, ((_, split), members) in enumerate(sorted(groups.items())):
            node = _partition_node(model, [nodes[i] for i in members], pid, split if self.in_turn else 0)
            replaced[max(members)] = node
            removed.update(members)
        if not groups:
            return model, False
        new_nodes = [replaced.get(i, n) for i, n in enumerate(nodes) if i not in removed or i in replaced]
        del model.graph.node[:]
        model.graph.node.extend(new_nodes)
        ordered = [_copy(n) for n in model.topological_sort()]
        del model.graph.node[:]
        model.graph.node.extend(ordered)
        used = {t for n in model.graph.node for t in n.input}
        for init in [i for i in model.graph.initializer if i.name not in used]:
            model.graph.initializer.remove(init)
        if not any(imp.domain == PARTITION_DOMAIN for imp in model.model.opset_import):
            model.model.opset_import.add(domain=PARTITION_DOMAIN, version=1)
        self.software_nodes = [
            (n.name, n.op_type) for n in model.graph.node if n.op_type != "StreamingDataflowPartition"
        ]
        self.software_report = explain_software_nodes(model)
        for line in self.software_report:
            log.info("%s", line)
        return model, False

    def _split_of(self, model: ModelWrapper, idx: int) -> int:
        """Split index of a node; a stream reshape takes its producer's."""
        node = model.graph.node[idx]
        if not is_hw_node(node):
            src = model.find_producer(node.input[0])
            return self._split_of(model, model.get_node_index(src)) if src is not None else 0
        return self.splits.get(node.name, 0)

    def _check_splits(self, model: ModelWrapper, levels: dict[int, int]) -> None:
        producer = {t: i for i, n in enumerate(model.graph.node) for t in n.output if t}
        for j in levels:
            node = model.graph.node[j]
            for t in node.input:
                i = producer.get(t)
                if i is None or i not in levels:
                    continue
                a, b = self.splits.get(model.graph.node[i].name, 0), self.splits.get(node.name, 0)
                if b < a:
                    edge = f"{model.graph.node[i].name} -> {node.name}"
                    raise TransformationError(f"partition split decreases along the stream {edge} ({a} -> {b})")


#: Ops of the float classifier head Brevitas exports after the last layer (scale, bias).
_HEAD_OPS = ("Mul", "Add")


def _constant_operand(model: ModelWrapper, node: onnx.NodeProto) -> np.ndarray | None:
    values = [model.get_initializer(t) for t in node.input]
    consts = [v for v in values if v is not None]
    return consts[0] if len(node.input) == 2 and len(consts) == 1 else None


def _float_head(model: ModelWrapper, topk: onnx.NodeProto) -> list[onnx.NodeProto]:
    """The chain of constant ``Mul``/``Add`` nodes (in graph order) feeding ``topk`` through private tensors."""
    chain: list[onnx.NodeProto] = []
    tensor = topk.input[0]
    while True:
        node = model.find_producer(tensor)
        if node is None or node.op_type not in _HEAD_OPS or _constant_operand(model, node) is None:
            break
        if len(model.find_consumers(tensor)) != 1 or tensor in model.graph_output_names():
            break
        chain.insert(0, node)
        tensor = next(t for t in node.input if model.get_initializer(t) is None)
    return chain


def _describe_constant(node: onnx.NodeProto, value: np.ndarray) -> str:
    if value.size == 1:
        what = "positive scalar" if node.op_type == "Mul" and float(value.reshape(-1)[0]) > 0 else "scalar"
        return f"{node.name} ({node.op_type}, {what})"
    kind = "scale" if node.op_type == "Mul" else "bias"
    return f"{node.name} ({node.op_type}, per-class {kind} {list(value.shape)})"


def explain_software_nodes(model: ModelWrapper) -> list[str]:
    """One line per reason why the non-partition nodes of a partitioned model stay in software.

    A float classifier head (constant ``Mul``/``Add`` nodes feeding a
    ``TopK``) gets one line naming its nodes: argmax is invariant to a
    positive per-tensor scale and a shared offset only (which
    :class:`~qnncc.transforms.streamline.AbsorbScalarMulAddIntoTopK` removes),
    so a per-class scale or bias cannot be folded into an integer
    ``LabelSelect`` exactly. Every other node gets a line with its op, and
    whether it reads a float (non-integer) tensor; a ``Reshape``/``Flatten``
    of the graph input gets none (it moves no data: the stream carries the
    same values in the same order).
    """
    software = [n for n in model.graph.node if n.op_type != "StreamingDataflowPartition"]
    lines: list[str] = []
    explained: set[str] = set()
    for topk in [n for n in software if n.op_type == "TopK"]:
        head = _float_head(model, topk)
        if not head:
            continue
        values = [_constant_operand(model, node) for node in head]
        parts = [_describe_constant(node, value) for node, value in zip(head, values, strict=True) if value is not None]
        if any(value is not None and value.size > 1 for value in values):
            reason = (
                "argmax is invariant only to a positive per-tensor scale and a shared offset, so a per-class "
                "scale or bias cannot be absorbed into an integer LabelSelect exactly"
            )
        else:
            reason = (
                "dropping the scalar scale/offset was not shown to keep the order of every logit the layer "
                "can produce (float32 rounding could create a tie), so it is not absorbed into a LabelSelect"
            )
        lines.append(f"float classifier head kept in software: {' -> '.join(parts)} -> {topk.name} (TopK): {reason}")
        explained.update(n.name for n in (*head, topk))
    inputs = set(model.graph_input_names())
    for node in software:
        if node.name in explained:
            continue
        if node.op_type in ("Reshape", "Flatten") and node.input[0] in inputs:
            continue  # flattening the graph input moves no data: the stream carries the same values in order
        lines.append(f"{node.name} ({node.op_type}) kept in software: {_software_reason(model, node, inputs)}")
    return lines


def _software_reason(model: ModelWrapper, node: onnx.NodeProto, graph_inputs: set[str]) -> str:
    if node.op_type == "Transpose" and node.input[0] in graph_inputs:
        return "converts the graph input to the channels-last (NHWC) stream the accelerator reads"
    value = _constant_operand(model, node)
    if node.op_type in _HEAD_OPS and value is not None and not bool(np.all(value == np.round(value))):
        what = "scale" if node.op_type == "Mul" else "bias"
        shape = "scalar" if value.size == 1 else f"per-channel {list(value.shape)}"
        return f"applies a non-integer {shape} {what} (float arithmetic, no integer HW layer)"
    dynamic = [t for t in node.input if t and model.get_initializer(t) is None]
    floats = [t for t in dynamic if not model.get_tensor_datatype(t).is_integer()]
    return f"reads the float tensor {floats[0]!r}" if floats else "no HW layer was inferred for it"


def split_by_budget(layers: Sequence[tuple[str, Any]], budget: Mapping[str, float]) -> dict[str, int]:
    """Greedy contiguous split of a layer chain so that each part's summed resources fit ``budget``.

    Args:
        layers: ``(name, estimate)`` in stream order; estimates have ``lut``,
            ``ff``, ``bram_18k``, ``uram`` and ``dsp``.
        budget: usable resources by name (``LUT``, ``FF``, ``BRAM_18K``, ``URAM``, ``DSP``).

    Returns:
        Partition index per layer name, for :class:`CreateDataflowPartition`.
        A single layer larger than the budget gets a part of its own.
    """
    keys = {"LUT": "lut", "FF": "ff", "BRAM_18K": "bram_18k", "URAM": "uram", "DSP": "dsp"}
    splits: dict[str, int] = {}
    part, used = 0, dict.fromkeys(keys, 0.0)
    for name, est in layers:
        need = {k: float(getattr(est, attr)) for k, attr in keys.items()}
        if any(used[k] > 0 for k in keys) and any(used[k] + need[k] > budget.get(k, float("inf")) for k in keys):
            part, used = part + 1, dict.fromkeys(keys, 0.0)
        splits[name] = part
        used = {k: used[k] + need[k] for k in keys}
    return splits


def _partition_node(
    model: ModelWrapper, members: list[onnx.NodeProto], pid: int, configuration: int = 0
) -> onnx.NodeProto:
    produced = {t for n in members for t in n.output if t}
    member_ids = {id(n) for n in members}
    outside_readers = {t for n in model.graph.node if id(n) not in member_ids for t in n.input}
    graph_outputs = set(model.graph_output_names())
    inputs: list[str] = []
    inits: list[onnx.TensorProto] = []
    for n in members:
        for t in n.input:
            if not t or t in produced or t in inputs:
                continue
            value = model.get_initializer(t)
            if value is not None:
                if all(i.name != t for i in inits):
                    inits.append(onnx.numpy_helper.from_array(np.asarray(value), t))
            else:
                inputs.append(t)
    outputs = [t for n in members for t in n.output if t and (t in outside_readers or t in graph_outputs)]
    graph = helper.make_graph(
        [_copy(n) for n in members],
        f"dataflow_partition_{pid}",
        [_value_info(model, t) for t in inputs],
        [_value_info(model, t) for t in outputs],
        inits,
    )
    names = produced | set(inputs) | {i.name for i in inits}
    for qa in model.graph.quantization_annotation:
        if qa.tensor_name in names:
            graph.quantization_annotation.append(qa)
    graph.value_info.extend(vi for vi in model.graph.value_info if vi.name in produced and vi.name not in outputs)
    return helper.make_node(
        "StreamingDataflowPartition",
        inputs,
        outputs,
        name=f"StreamingDataflowPartition_{pid}",
        domain=PARTITION_DOMAIN,
        model=graph,
        partition_id=pid,
        configuration=configuration,
    )


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    out = onnx.NodeProto()
    out.CopyFrom(node)
    return out


def _value_info(model: ModelWrapper, name: str) -> onnx.ValueInfoProto:
    for coll in (model.graph.input, model.graph.output, model.graph.value_info):
        for vi in coll:
            if vi.name == name:
                return vi
    shape = model.get_tensor_shape(name)
    return helper.make_tensor_value_info(name, model.get_tensor_elem_type(name) or onnx.TensorProto.FLOAT, shape)
