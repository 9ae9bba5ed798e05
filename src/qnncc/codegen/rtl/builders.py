"""Op type -> RTL builder (a constant table local to the RTL backend)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

from .elementwise import add_streams_rtl, channelwise_rtl, duplicate_streams_rtl
from .layer import RtlLayer
from .mlp import dwc_rtl, fifo_rtl, labelselect_rtl, mvau_rtl, thresholding_rtl
from .sliding import fmpadding_rtl, global_acc_pool_rtl, maxpool_rtl, swg_rtl, vvau_rtl

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
        "ConvolutionInputGenerator": swg_rtl,
        "FMPadding": fmpadding_rtl,
        "StreamingMaxPool": maxpool_rtl,
        "GlobalAccPool": global_acc_pool_rtl,
        "VVAU": vvau_rtl,
        "AddStreams": add_streams_rtl,
        "DuplicateStreams": duplicate_streams_rtl,
        "ChannelwiseOp": channelwise_rtl,
    }
)
