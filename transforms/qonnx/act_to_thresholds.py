"""ConvertQuantActToMultiThreshold: activation quantizers become ``MultiThreshold``.

Pattern: ``[Relu ->] Quant(x, s, z, b)`` or ``[Relu ->] BipolarQuant(x, s)``
where ``x`` is not a constant (an activation). Rewrite:
``MultiThreshold(x, T; out_bias = l_0 - z, out_dtype) -> [Mul(s)]`` where the
thresholds ``T[c, k]`` are the smallest float32 inputs at which the
quantizer's integer level reaches ``l_0 + k`` (found by search over float32,
see :mod:`.thresholds`). Exact: the count of crossed thresholds equals the
level for every float32 input, including rounding ties, so the output
``(level - z) * s`` is bit-identical. A ``Relu`` feeding only the quantizer is
absorbed (it is non-decreasing, so the composite stays monotone).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.multithreshold import channel_axis
from qnncc.custom_op.quant import Quant, max_int, min_int, rounding_fn

from .thresholds import exact_thresholds

FINN_DOMAIN = "qonnx.custom_op.general"


class ConvertQuantActToMultiThreshold(Transformation):
    """Activation ``Quant``/``BipolarQuant`` (with an optional ``Relu`` before) to ``MultiThreshold``.

    Raises:
        UnsupportedOpError: if scale/zero-point/bit width are not constants, the
            scale is not positive, or a per-channel scale does not fit axis 1.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type not in ("Quant", "BipolarQuant") or model.is_constant(node.input[0]):
                continue
            if model.find_producer(node.input[0]) is None and node.input[0] not in model.graph_input_names():
                continue
            _convert(model, node)
            changed = True
        return model, changed


def _constants(model: ModelWrapper, node: onnx.NodeProto) -> list[np.ndarray]:
    values = []
    for t in node.input[1:]:
        v = model.get_initializer(t)
        if v is None:
            raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: input {t!r} must be a constant")
        values.append(v.astype(np.float32))
    return values


def _per_channel(value: np.ndarray, channels: int, rank: int, node: onnx.NodeProto, what: str) -> np.ndarray:
    """Flatten a scalar or axis-1 per-channel parameter to ``[channels]``.

    The parameter broadcasts against an input of ``rank`` dimensions (shapes
    align from the right), so ``[C]`` on a 4-D input varies along the last axis,
    not the channels, while ``[C, 1, 1]`` and ``[1, C, 1, 1]`` are per channel.
    """
    if value.size == 1:
        return np.full(channels, value.reshape(-1)[0], dtype=np.float32)
    shape = list(value.shape)
    padded = [1] * (rank - len(shape)) + shape
    if len(padded) != rank or rank < 2 or padded[1] != channels or any(d != 1 for i, d in enumerate(padded) if i != 1):
        raise UnsupportedOpError(
            f"{node.op_type} node {node.name!r}: {what} of shape {shape} is not per channel on axis 1"
        )
    return value.reshape(-1).astype(np.float32)


def _convert(model: ModelWrapper, node: onnx.NodeProto) -> None:
    consts = _constants(model, node)
    source = node.input[0]
    producer = model.find_producer(source)
    relu = producer is not None and producer.op_type == "Relu" and len(model.find_consumers(source)) == 1
    if relu:
        assert producer is not None
        source = producer.input[0]
    scale_raw = consts[0]
    shape = model.get_tensor_shape(node.input[0])
    per_channel = scale_raw.size > 1 or (node.op_type == "Quant" and consts[1].size > 1)
    channels = (shape[1] if shape and len(shape) > 1 else 0) if per_channel else 1
    if per_channel and channels == 0:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: per-channel scale needs a known input shape")
    rank = len(shape) if shape else 0
    scale = _per_channel(scale_raw, channels, rank, node, "scale")
    if np.any(scale <= 0):
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: scale must be positive")
    if node.op_type == "BipolarQuant":
        zeropt = np.zeros(channels, np.float32)
        levels = np.array([-1.0, 1.0])

        def level(x: np.ndarray, c: np.ndarray) -> np.ndarray:
            x = np.maximum(x, np.float32(0)) if relu else x
            return np.where(x >= 0, 1.0, -1.0)

        out_dt = DataType.from_name("BIPOLAR")
    else:
        op = get_custom_op(node)
        assert isinstance(op, Quant)
        zeropt = _per_channel(consts[1], channels, rank, node, "zero-point")
        bits = int(consts[2].reshape(-1)[0])
        signed, narrow = bool(op.attrs["signed"]), bool(op.attrs["narrow"])
        rnd = rounding_fn(op.attrs["rounding_mode"])
        if bits == 1 and signed:
            levels = np.array([-1.0, 1.0])
        else:
            levels = np.arange(min_int(signed, narrow, bits), max_int(signed, narrow, bits) + 1, dtype=np.float64)
        lo, hi = np.float32(levels[0]), np.float32(levels[-1])

        def level(x: np.ndarray, c: np.ndarray) -> np.ndarray:
            x = np.maximum(x, np.float32(0)) if relu else x
            y = x / scale[c] + zeropt[c]
            if bits == 1 and signed:
                return np.where(y >= 0, 1.0, -1.0)
            return rnd(np.minimum(np.maximum(y, lo), hi)).astype(np.float64)

        zp_int = zeropt if bool(np.all(zeropt == np.round(zeropt))) else None
        span = (
            levels[0] - (zp_int.max() if zp_int is not None else 0),
            levels[-1] - (zp_int.min() if zp_int is not None else 0),
        )
        bipolar = bits == 1 and signed and bool(np.all(zeropt == 0))  # else the levels are -1 - z, 1 - z
        out_dt = DataType.from_name("BIPOLAR") if bipolar else DataType.smallest_for_range(*span)
    step = float(levels[1] - levels[0])
    thresholds = exact_thresholds(level, levels[1:], channels)
    if bool(np.any(zeropt != zeropt[0])):
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: per-channel zero-points are not supported")
    out_bias = float(levels[0] - zeropt[0])
    base = node.name or node.op_type
    thr_name = model.make_new_name(f"{base}_thresholds")
    model.set_initializer(thr_name, thresholds)
    out = node.output[0]
    needs_mul = not bool(np.all(scale == 1))
    mt_out = model.make_new_name(f"{base}_levels") if needs_mul else out
    mt = helper.make_node(
        "MultiThreshold",
        [source, thr_name],
        [mt_out],
        name=f"{base}_MultiThreshold",
        domain=FINN_DOMAIN,
        out_dtype=out_dt.name,
        out_scale=step,
        out_bias=out_bias,
    )
    if channels > 1 and channel_axis("", rank) != 1:  # e.g. rank 3 defaults to NWC: say the channels are on axis 1
        model.set_nodeattr(mt, "data_layout", "NC" + "DHW"[3 - (rank - 2) :])
    new_nodes = [mt]
    if needs_mul:
        mul_value = scale.reshape([1, channels] + [1] * (rank - 2)) if channels > 1 else np.asarray(scale[0])
        scale_name = model.make_new_name(f"{base}_scale")
        model.set_initializer(scale_name, mul_value.astype(np.float32))
        new_nodes.append(helper.make_node("Mul", [mt_out, scale_name], [out], name=f"{base}_scale"))
    # a fractional zero-point gives fractional levels - z: no integer datatype
    model.set_tensor_datatype(mt_out, out_dt if out_bias.is_integer() else None)
    if needs_mul:
        model.set_tensor_datatype(out, None)
    if relu:
        assert producer is not None
        model.remove_node(producer)
    idx = model.get_node_index(node)
    model.remove_node(node)
    for k, new in enumerate(new_nodes):
        model.graph.node.insert(idx + k, new)
    if not any(imp.domain == FINN_DOMAIN for imp in model.model.opset_import):
        model.model.opset_import.add(domain=FINN_DOMAIN, version=1)
