"""QuantizeAnnotate: post-training quantization of a float ONNX model into a QONNX graph.

Follows fpgaConvNet's emulation (``fpgaconvnet-torch``, ``quantization/utils.py``,
``quantize_model``): the weights of Conv/ConvTranspose/Gemm/MatMul are
quantized first; the activations at the inputs and outputs of Conv,
ConvTranspose, Gemm/MatMul, Relu and pooling are then calibrated on the model
with quantized weights and float activations, and quantized. Every quantizer
is a QONNX ``Quant`` node (scale, zero-point and bit width as initializers),
so the result is executed by :func:`qnncc.execute` and converted by
``ConvertQONNXtoFINN`` like any QONNX model.

A tensor that is only a reshape of an already quantized tensor (``Reshape``,
``Flatten``, ``Transpose``, ``Squeeze``, ``Unsqueeze``, ``Identity``) is not
quantized again unless the activations are quantized per channel: with one
range per tensor or per network the second quantizer has the same range and
is the identity.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, version_converter
from typing_extensions import override

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.shapes import infer_shapes

from .calibrate import DEFAULT_BATCH, CalibrationData, RangeStats, as_batches, collect_ranges
from .formats import QuantFormat, QuantParams, get_format, params_for_range

__all__ = [
    "ACTIVATION_OPS",
    "QONNX_DOMAIN",
    "QUANT_METADATA_KEY",
    "WEIGHT_OPS",
    "QuantizeAnnotate",
    "QuantizedTensor",
    "activation_tensors",
    "insert_quant",
    "quantized_tensors",
    "upgrade_opset",
    "weight_axis",
    "weight_tensors",
]

QONNX_DOMAIN = "qonnx.custom_op.general"
#: Model metadata key holding the quantization record (JSON).
QUANT_METADATA_KEY = "qnncc.quantize"
#: Op types whose weights (input 1) are quantized.
WEIGHT_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
#: Op types whose data inputs and outputs are quantized.
ACTIVATION_OPS = (
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "Relu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
)
#: Ops that only move elements: their output has the range of their input.
RESHAPE_OPS = ("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity")


@dataclass(frozen=True)
class QuantizedTensor:
    """A quantizer in a QONNX graph.

    Attributes:
        node: name of the ``Quant`` node.
        source: tensor it quantizes (float input).
        output: tensor it produces.
        layer: name of the node that reads the output (weights) or of the node
            that produced the source (activations; the graph input otherwise).
        is_weight: whether it quantizes a constant weight.
        params: its parameters.
    """

    node: str
    source: str
    output: str
    layer: str
    is_weight: bool
    params: QuantParams


def weight_axis(model: ModelWrapper, node: onnx.NodeProto, rank: int) -> int:
    """Output-channel axis of the weight (input 1) of a Conv/ConvTranspose/Gemm/MatMul node."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1
    if node.op_type == "Gemm":
        return 0 if int(model.get_nodeattr(node, "transB", 0)) else 1
    return rank - 1  # MatMul: [..., K, N]


def weight_tensors(model: ModelWrapper) -> list[tuple[onnx.NodeProto, str]]:
    """``(consumer, weight)`` for every constant float weight of a Conv/ConvTranspose/Gemm/MatMul, graph order."""
    found = []
    for node in model.graph.node:
        if node.op_type not in WEIGHT_OPS or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        w = model.get_initializer(node.input[1])
        if w is not None and w.dtype.kind == "f" and w.ndim >= 2:
            found.append((node, node.input[1]))
    return found


def activation_tensors(model: ModelWrapper, per_channel: bool = False) -> list[str]:
    """Non-constant float tensors at the data inputs/outputs of :data:`ACTIVATION_OPS`, graph order.

    Args:
        model: the model.
        per_channel: keep reshapes of other listed tensors (see the module docstring).
    """
    names: list[str] = []
    seen: set[str] = set()
    for node in model.graph.node:
        if node.op_type not in ACTIVATION_OPS or node.domain not in ("", "ai.onnx"):
            continue
        ins = [t for t in node.input if t] if node.op_type == "MatMul" else list(node.input[:1])
        for t in [*ins, *node.output[:1]]:
            if t and t not in seen and not model.is_constant(t):
                elem = model.get_tensor_elem_type(t)
                if elem not in (None, onnx.TensorProto.FLOAT):
                    continue
                seen.add(t)
                names.append(t)
    if per_channel:
        return names
    return [t for t in names if not _reshape_of(model, t, seen)]


def _reshape_of(model: ModelWrapper, tensor: str, quantized: set[str]) -> bool:
    """Whether ``tensor`` is a chain of reshape-like ops applied to one of ``quantized``."""
    producer = model.find_producer(tensor)
    while producer is not None and producer.op_type in RESHAPE_OPS:
        if producer.input[0] in quantized:
            return True
        producer = model.find_producer(producer.input[0])
    return False


def _const(model: ModelWrapper, hint: str, value: np.ndarray) -> str:
    name = model.make_new_name(hint)
    model.set_initializer(name, np.asarray(value, np.float32))
    return name


def insert_quant(
    model: ModelWrapper, tensor: str, params: QuantParams, name: str, readers: Sequence[onnx.NodeProto] | None = None
) -> str:
    """Insert ``Quant(tensor)`` and make the readers of ``tensor`` read its output.

    Args:
        model: the model (edited in place).
        tensor: the tensor to quantize.
        params: the quantizer.
        name: node name.
        readers: nodes to rewire (default: every consumer of ``tensor``). A graph
            output keeps its name: the producer's output is renamed instead.

    Returns:
        The name of the quantized tensor.
    """
    shape = model.get_tensor_shape(tensor)
    scale = _const(model, f"{name}_scale", params.scale)
    zeropt = _const(model, f"{name}_zeropt", params.zeropt)
    bits = _const(model, f"{name}_bitwidth", np.asarray(params.bits, np.float32))
    if tensor in model.graph_output_names() and readers is None:
        source = model.make_new_name(f"{tensor}_float")
        producer = model.find_producer(tensor)
        if producer is None:
            raise QnnccError(f"graph output {tensor!r} has no producer")
        producer.output[list(producer.output).index(tensor)] = source
        if shape is not None:
            model.set_tensor_shape(source, shape)
        out = tensor
        idx = model.get_node_index(producer) + 1
    else:
        source = tensor
        out = model.make_new_name(f"{tensor}_quant")
        targets = list(model.find_consumers(tensor)) if readers is None else list(readers)
        for node in targets:
            for i, t in enumerate(node.input):
                if t == tensor:
                    node.input[i] = out
        if shape is not None:
            model.set_tensor_shape(out, shape)
        producer = model.find_producer(tensor)
        if producer is not None:
            idx = model.get_node_index(producer) + 1
        else:  # a graph input or an initializer: just before its first reader
            idx = min((model.get_node_index(n) for n in targets), default=0)
    node = helper.make_node(
        "Quant",
        [source, scale, zeropt, bits],
        [out],
        name=name,
        domain=QONNX_DOMAIN,
        signed=int(params.signed),
        narrow=int(params.narrow),
        rounding_mode="ROUND",
    )
    model.graph.node.insert(idx, node)
    if not any(imp.domain == QONNX_DOMAIN for imp in model.model.opset_import):
        model.model.opset_import.add(domain=QONNX_DOMAIN, version=1)
    return out


def upgrade_opset(model: ModelWrapper, minimum: int = 11, target: int = 13) -> bool:
    """Convert the default-domain opset to ``target`` if it is below ``minimum`` (in place).

    The ``Quant`` lowering of the fast back end needs ``Round`` (opset 11) and
    :class:`~.threshold_relu.ThresholdRelu` needs ``ThresholdedRelu`` (opset 10);
    older exports such as the ONNX model zoo's MNIST (opset 8) are converted
    with ``onnx.version_converter`` first.

    Returns:
        Whether the model was converted.

    Raises:
        QnnccError: if the converter fails.
    """
    opset = model.get_opset("") or 1
    if opset >= minimum:
        return False
    if any(n.domain not in ("", "ai.onnx") for n in model.graph.node):
        raise QnnccError(f"opset {opset} is too old for quantization and the graph has custom ops; convert it first")
    try:
        proto = version_converter.convert_version(model.model, target)
    except Exception as exc:
        raise QnnccError(f"cannot convert the model from opset {opset} to {target}: {exc}") from None
    proto.ir_version = max(proto.ir_version, 7)
    model.model.CopyFrom(proto)
    return True


def _channel_shape(rank: int, axis: int, size: int) -> list[int]:
    shape = [1] * rank
    shape[axis] = size
    return shape


class QuantizeAnnotate(Transformation):
    """Post-training quantization of a float model into QONNX ``Quant`` nodes.

    Args:
        fmt: the format (a :class:`QuantFormat` or a name such as ``"bfp8-channel"``).
        calibration: calibration data: an array ``[N, ...]`` (reshaped to the
            model's input), a mapping of input name to array, or an iterable of
            batches. Not needed for ``float32``.
        batch_size: items per batch when an array is split.

    After :meth:`apply`, :attr:`quantizers` lists the inserted quantizers and
    :attr:`stats` the calibrated ranges; the model's metadata key
    ``qnncc.quantize`` holds a JSON record of the format and the calibration.

    Raises:
        QnnccError: for missing calibration data or data that does not fit the model.
    """

    def __init__(
        self, fmt: QuantFormat | str, calibration: CalibrationData | None = None, batch_size: int = DEFAULT_BATCH
    ) -> None:
        self.fmt = get_format(fmt)
        self.calibration = calibration
        self.batch_size = batch_size
        self.quantizers: list[QuantizedTensor] = []
        self.stats: RangeStats | None = None

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        fmt = self.fmt
        record: dict[str, object] = {"format": fmt.name, "label": fmt.label}
        if fmt.is_float:
            _set_metadata(model, record)
            return model, False
        if any(n.op_type == "Quant" for n in model.graph.node):
            raise QnnccError("the model already has Quant nodes; quantize-annotate expects a float model")
        upgrade_opset(model)
        infer_shapes(model)
        self.quantizers = []
        if fmt.act_bits and self.calibration is None:
            raise QnnccError(f"format {fmt.name} quantizes activations and needs calibration data")
        acts = activation_tensors(model, per_channel=fmt.act_scope == "channel")  # before weight quantizers exist
        if fmt.weight_bits:
            self._quantize_weights(model)
        if fmt.act_bits:
            assert self.calibration is not None
            batches = as_batches(model, self.calibration, self.batch_size)
            self.stats = collect_ranges(model, acts, batches)
            self._quantize_activations(model, acts, self.stats)
            record["calibration_samples"] = self.stats.count
        infer_shapes(model)
        record.update(
            weight_bits=fmt.weight_bits,
            act_bits=fmt.act_bits,
            weight_scope=fmt.weight_scope,
            act_scope=fmt.act_scope,
            scheme=fmt.scheme,
            quantizers=len(self.quantizers),
        )
        _set_metadata(model, record)
        return model, False

    def _quantize_weights(self, model: ModelWrapper) -> None:
        fmt = self.fmt
        found = weight_tensors(model)
        done: set[str] = set()
        net_lo = min((float(model.get_initializer(w).min()) for _, w in found), default=0.0)  # type: ignore[union-attr]
        net_hi = max((float(model.get_initializer(w).max()) for _, w in found), default=0.0)  # type: ignore[union-attr]
        for node, w_name in found:
            if w_name in done:
                continue
            done.add(w_name)
            w = model.get_initializer(w_name)
            assert w is not None
            if fmt.weight_scope == "network":
                lo, hi = np.asarray(net_lo), np.asarray(net_hi)
            elif fmt.weight_scope == "tensor":
                lo, hi = np.asarray(w.min()), np.asarray(w.max())
            else:
                axis = weight_axis(model, node, w.ndim)
                moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
                shape = _channel_shape(w.ndim, axis, w.shape[axis])
                lo, hi = moved.min(axis=1).reshape(shape), moved.max(axis=1).reshape(shape)
            params = params_for_range(fmt, lo, hi, weight=True)
            base = node.name or node.op_type
            readers = [n for n in model.find_consumers(w_name) if n.op_type in WEIGHT_OPS]
            name = _node_name(model, f"{base}_weight_quant")
            out = insert_quant(model, w_name, params, name, readers=readers)
            self.quantizers.append(QuantizedTensor(name, w_name, out, base, True, params))

    def _quantize_activations(self, model: ModelWrapper, acts: list[str], stats: RangeStats) -> None:
        fmt = self.fmt
        if not acts:
            return
        net_lo = min(float(stats.lo[t].min()) for t in acts)
        net_hi = max(float(stats.hi[t].max()) for t in acts)
        for t in acts:
            shape = model.get_tensor_shape(t)
            rank = len(shape) if shape is not None else 0
            if fmt.act_scope == "network":
                lo, hi = np.asarray(net_lo), np.asarray(net_hi)
            elif fmt.act_scope == "channel" and rank >= 2:
                lo_c, hi_c = stats.channel_range(t)
                lo, hi = (
                    lo_c.reshape(_channel_shape(rank, 1, lo_c.size)),
                    hi_c.reshape(_channel_shape(rank, 1, hi_c.size)),
                )
            else:
                lo, hi = stats.tensor_range(t)
            params = params_for_range(fmt, lo, hi, weight=False)
            producer = model.find_producer(t)
            layer = producer.name if producer is not None and producer.name else t
            name = _node_name(model, f"{t}_act_quant")
            out = insert_quant(model, t, params, name)
            self.quantizers.append(QuantizedTensor(name, t, out, layer, False, params))


def _node_name(model: ModelWrapper, base: str) -> str:
    """``base``, or ``base_<k>`` if a node of that name exists."""
    used = {n.name for n in model.graph.node}
    if base not in used:
        return base
    k = 1
    while f"{base}_{k}" in used:
        k += 1
    return f"{base}_{k}"


def _set_metadata(model: ModelWrapper, record: dict[str, object]) -> None:
    value = json.dumps(record, sort_keys=True)
    for kv in model.model.metadata_props:
        if kv.key == QUANT_METADATA_KEY:
            kv.value = value
            return
    kv = model.model.metadata_props.add()
    kv.key, kv.value = QUANT_METADATA_KEY, value


def quantized_tensors(model: ModelWrapper) -> list[QuantizedTensor]:
    """Every ``Quant`` node with constant parameters in a QONNX model, graph order."""
    out = []
    for node in model.graph.node:
        if node.op_type != "Quant":
            continue
        consts = [model.get_initializer(t) for t in node.input[1:4]]
        if any(c is None for c in consts):
            continue
        scale, zeropt, bits = (np.asarray(c, np.float32) for c in consts)
        signed = bool(model.get_nodeattr(node, "signed", 1))
        narrow = bool(model.get_nodeattr(node, "narrow", 0))
        params = QuantParams(scale, zeropt, int(bits.reshape(-1)[0]), signed, narrow)
        is_weight = model.get_initializer(node.input[0]) is not None
        if is_weight:
            readers = model.find_consumers(node.output[0])
            layer = readers[0].name if readers and readers[0].name else node.output[0]
        else:
            producer = model.find_producer(node.input[0])
            layer = producer.name if producer is not None and producer.name else node.input[0]
        out.append(QuantizedTensor(node.name, node.input[0], node.output[0], layer, is_weight, params))
    return out
