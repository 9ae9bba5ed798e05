"""Op type -> RTL builder (a constant table local to the RTL backend)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

from .layer import RtlLayer
from .mlp import dwc_rtl, fifo_rtl, labelselect_rtl, mvau_rtl, thresholding_rtl

__all__ = ["RTL_BUILDERS", "RtlBuilder"]

#: A per-op RTL builder: (model, node, layer) -> RtlLayer.
RtlBuilder = Callable[[ModelWrapper, onnx.NodeProto, HWLayer], RtlLayer]

RTL_BUILDERS: Mapping[str, RtlBuilder] = MappingProxyType(
    {
        "MVAU": mvau_rtl,
        "Thresholding": thresholding_rtl,
        "LabelSelect": labelselect_rtl,
        "StreamingDataWidthConverter": dwc_rtl,
        "StreamingFIFO": fifo_rtl,
    }
)
