"""Pattern helpers shared by the streamline passes (not public API)."""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.multithreshold import channel_axis

from .._graph import bypass

__all__ = ["bypass", "channel_vector", "const_operand", "expand_thresholds", "mt_channel_axis", "sole_consumer"]


def sole_consumer(model: ModelWrapper, tensor: str) -> onnx.NodeProto | None:
    """The only node reading ``tensor``, if it has exactly one and is not a graph output."""
    if tensor in model.graph_output_names():
        return None
    return model.find_consumer(tensor)


def const_operand(model: ModelWrapper, node: onnx.NodeProto) -> tuple[str, np.ndarray] | None:
    """``(dynamic_input, constant)`` of a binary op with exactly one constant operand."""
    if len(node.input) != 2:
        return None
    a, b = node.input
    va, vb = model.get_initializer(a), model.get_initializer(b)
    if vb is not None and va is None:
        return a, vb
    if va is not None and vb is None and node.op_type in ("Add", "Mul"):
        return b, va
    return None


def mt_channel_axis(model: ModelWrapper, mt: onnx.NodeProto) -> tuple[int, list[int]] | None:
    """Channel axis and input shape of a MultiThreshold node, if the shape is known."""
    shape = model.get_tensor_shape(mt.input[0])
    if shape is None:
        return None
    return channel_axis(str(model.get_nodeattr(mt, "data_layout", "")), len(shape)), shape


def channel_vector(value: np.ndarray, shape: list[int], axis: int) -> np.ndarray | None:
    """A constant broadcast against a tensor ``shape`` as one value per channel ``[C]``.

    Returns None if broadcasting would change the tensor's shape or the
    constant varies along a non-channel axis.
    """
    try:
        out_shape = np.broadcast_shapes(value.shape, tuple(shape))
    except ValueError:
        return None
    if out_shape != tuple(shape):
        return None
    full = np.broadcast_to(value, out_shape)
    per = np.moveaxis(full, axis, -1).reshape(-1, shape[axis])
    if not bool(np.all(per == per[:1])):
        return None
    return np.ascontiguousarray(per[0]).astype(np.float32)


def expand_thresholds(thresholds: np.ndarray, channels: int) -> np.ndarray:
    """Thresholds ``[1, B]`` or ``[C, B]`` as ``[C, B]``."""
    return np.ascontiguousarray(np.broadcast_to(thresholds, (channels, thresholds.shape[1]))).astype(np.float32)
