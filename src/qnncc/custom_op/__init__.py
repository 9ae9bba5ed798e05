"""Custom ops qnncc executes and lowers: FINN/QONNX ops and, later, HW layers.

The op table is a read-only mapping built here; modules that add ops add them
to :data:`CUSTOM_OPS` in this file, so there is no run-time registry to reset.
"""

from __future__ import annotations

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
from qnncc.hw.layers import HW_LAYERS
from qnncc.hw.layers.finn_names import FINN_LAYER_NAMES
from qnncc.hw.layers.finn_plus import FINN_PLUS_OPS

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
_BY_NAME: dict[str, type[CustomOp]] = {cls.op_type: cls for cls in (*_OPS, *HW_LAYERS, *FINN_PLUS_OPS)}
#: Op type -> class, including FINN's specialized and older names of the HW layers
#: (``MVAU_hls``, ``MatrixVectorActivation``, ..., see :mod:`qnncc.hw.layers.finn_names`).
CUSTOM_OPS: Mapping[str, type[CustomOp]] = MappingProxyType(
    {
        **{finn: _BY_NAME[ours] for finn, (ours, _) in FINN_LAYER_NAMES.items()},
        **{f"{cls.op_type}_{style}": cls for cls in FINN_PLUS_OPS for style in ("hls", "rtl")},
        **_BY_NAME,
    }
)


def is_custom_node(node: onnx.NodeProto) -> bool:
    """Whether ``node`` lives in a FINN/QONNX/qnncc custom-op domain."""
    return is_custom_domain(node.domain)


def get_custom_op(node: onnx.NodeProto) -> CustomOp:
    """Instantiate the custom-op wrapper of a node.

    Raises:
        UnsupportedOpError: if the op type is unknown to qnncc.
    """
    cls = CUSTOM_OPS.get(node.op_type)
    if cls is None:
        raise UnsupportedOpError(
            f"custom op {node.op_type!r} (node {node.name or '<unnamed>'!r}, domain {node.domain!r}) is not supported"
        )
    return cls(node)


__all__ = [
    "CUSTOM_DOMAINS",
    "CUSTOM_OPS",
    "AttrSpec",
    "CustomOp",
    "LoweringContext",
    "get_custom_op",
    "is_custom_domain",
    "is_custom_node",
]
