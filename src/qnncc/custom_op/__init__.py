"""Custom ops qnncc executes and lowers: FINN/QONNX ops here, HW layers from their op library.

The op table (:func:`custom_ops`) is read-only: the ops of this floor (:data:`BASE_OPS`,
listed in this file) plus the HW layers of the op library :data:`HW_OP_LIBRARY` names; there
is no run-time registry to reset.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from types import MappingProxyType

import onnx

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import CUSTOM_DOMAINS, AttrSpec, CustomOp, LoweringContext, is_custom_domain
from qnncc.custom_op.im2col import Im2Col
from qnncc.custom_op.maxpool_nhwc import MaxPoolNHWC
from qnncc.custom_op.multithreshold import MultiThreshold
from qnncc.custom_op.partition import StreamingDataflowPartition
from qnncc.custom_op.quant import BipolarQuant, Quant, Trunc
from qnncc.custom_op.quantavgpool import QuantAvgPool2d
from qnncc.custom_op.xnorpopcount import XnorPopcountMatMul

_OPS: tuple[type[CustomOp], ...] = (
    MultiThreshold,
    Quant,
    BipolarQuant,
    Trunc,
    XnorPopcountMatMul,
    Im2Col,
    MaxPoolNHWC,
    StreamingDataflowPartition,
    QuantAvgPool2d,
)
#: The FINN/QONNX custom ops defined on this floor, by op type.
BASE_OPS: Mapping[str, type[CustomOp]] = MappingProxyType({cls.op_type: cls for cls in _OPS})

#: Module holding the HW layers' op table (``HW_OPS``), found when first needed, the way QONNX's
#: ``getCustomOp`` finds an op library from its domain: the op floor needs no import of the HW
#: floor above it (see docs/design.md, "Floors").
HW_OP_LIBRARY = "qnncc.hw.layers"


@functools.cache
def custom_ops() -> Mapping[str, type[CustomOp]]:
    """Every custom op qnncc knows, by op type: :data:`BASE_OPS` plus the HW layers."""
    library = importlib.import_module(HW_OP_LIBRARY)
    return MappingProxyType({**BASE_OPS, **library.HW_OPS})


def __getattr__(name: str) -> object:
    # ``CUSTOM_OPS`` (every op, HW layers included) stays importable under its old name.
    if name == "CUSTOM_OPS":
        return custom_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_custom_node(node: onnx.NodeProto) -> bool:
    """Whether ``node`` lives in a FINN/QONNX/qnncc custom-op domain."""
    return is_custom_domain(node.domain)


def get_custom_op(node: onnx.NodeProto) -> CustomOp:
    """Instantiate the custom-op wrapper of a node.

    Raises:
        UnsupportedOpError: if the op type is unknown to qnncc.
    """
    cls = BASE_OPS.get(node.op_type) or custom_ops().get(node.op_type)
    if cls is None:
        raise UnsupportedOpError(
            f"custom op {node.op_type!r} (node {node.name or '<unnamed>'!r}, domain {node.domain!r}) is not supported"
        )
    return cls(node)


__all__ = [
    "CUSTOM_DOMAINS",
    "BASE_OPS",
    "CUSTOM_OPS",
    "HW_OP_LIBRARY",
    "AttrSpec",
    "CustomOp",
    "LoweringContext",
    "custom_ops",
    "get_custom_op",
    "is_custom_domain",
    "is_custom_node",
]
