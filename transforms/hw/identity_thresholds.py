"""RemoveIdentityThresholds: delete multi-thresholdings that map every input value to itself.

A ``MultiThreshold`` (or a HW ``Thresholding``) whose input is an integer
datatype and whose thresholds, for every channel, count exactly ``x`` of
them for every value ``x`` of that datatype is the identity: e.g. the
255-step UINT8 -> UINT8 input quantizer a Brevitas CNN keeps after the
input scaling is absorbed (about 4k LUT of comparators in HLS for a no-op).
The check enumerates the whole input range (at most 2**16 values) through
the node's own formula, so the removal is exact by construction; the
differential tests execute the model before and after.
"""

from __future__ import annotations

import numpy as np
import onnx
from typing_extensions import override

from qnncc.core.datatype import DataType, Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.multithreshold import multithreshold

from ..identity import _bypass

__all__ = ["RemoveIdentityThresholds", "is_identity_thresholding"]

#: Largest input range the check enumerates (values).
MAX_VALUES = 1 << 16


class RemoveIdentityThresholds(Transformation):
    """Remove every ``MultiThreshold``/``Thresholding`` that is the identity on its input datatype.

    Consumers read the node's input instead (see
    :class:`~qnncc.transforms.RemoveIdentityOps` for the rewiring of graph
    outputs); ``changed`` reports whether a node was removed.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if is_identity_thresholding(model, node) and _bypass(model, node, node.input[0]):
                changed = True
        return model, changed


def is_identity_thresholding(model: ModelWrapper, node: onnx.NodeProto) -> bool:
    """True if ``node`` is a thresholding whose output equals its input for every input value.

    Only integer (INT/UINT/BINARY) inputs of at most :data:`MAX_VALUES` values
    with constant thresholds qualify; BIPOLAR outputs never do.
    """
    if node.op_type not in ("MultiThreshold", "Thresholding") or len(node.input) < 2:
        return False
    thr = model.get_initializer(node.input[1])
    idt = model.get_tensor_datatype(node.input[0])
    if thr is None or thr.ndim != 2 or idt.kind is not Kind.INT:
        return False
    lo, hi = int(idt.min()), int(idt.max())
    if hi - lo + 1 > MAX_VALUES:
        return False
    values = np.arange(lo, hi + 1, dtype=np.float64)
    probe = np.repeat(values[:, None], thr.shape[0], axis=1)  # [V, C]: every value in every channel
    if node.op_type == "MultiThreshold":
        scale = float(model.get_nodeattr(node, "out_scale", 1.0))
        bias = float(model.get_nodeattr(node, "out_bias", 0.0))
    else:
        if DataType.from_name(str(model.get_nodeattr(node, "outputDataType", "INT32"))).kind is Kind.BIPOLAR:
            return False
        scale, bias = 1.0, float(model.get_nodeattr(node, "ActVal", 0))
    out = multithreshold(probe, np.asarray(thr, np.float64), scale, bias, axis=1)
    return bool(np.array_equal(out, probe))
