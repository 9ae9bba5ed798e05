"""Streaming HW layer ops (FINN names and attributes), one module per layer."""

from collections.abc import Mapping
from types import MappingProxyType

from qnncc.custom_op.partition import HW_DOMAIN

from .addstreams import AddStreams
from .base import HWLayer, divisors
from .channelwise_op import ChannelwiseOp
from .convolutioninputgenerator import ConvolutionInputGenerator
from .duplicatestreams import DuplicateStreams
from .fmpadding import FMPadding
from .globalaccpool import GlobalAccPool
from .labelselect import LabelSelect
from .mvau import MVAU
from .streamingdatawidthconverter import StreamingDataWidthConverter
from .streamingfifo import StreamingFIFO
from .streamingmaxpool import StreamingMaxPool
from .thresholding import Thresholding
from .vectorvectoractivation import VVAU

#: HW layer classes defined here (:func:`qnncc.custom_op.custom_ops` adds them to the op table).
HW_LAYERS: tuple[type[HWLayer], ...] = (
    MVAU,
    Thresholding,
    LabelSelect,
    ConvolutionInputGenerator,
    FMPadding,
    StreamingMaxPool,
    VVAU,
    GlobalAccPool,
    AddStreams,
    DuplicateStreams,
    ChannelwiseOp,
    StreamingDataWidthConverter,
    StreamingFIFO,
)

#: The HW layers by op type: the op library :data:`qnncc.custom_op.HW_OP_LIBRARY` names.
HW_OPS: Mapping[str, type[HWLayer]] = MappingProxyType({cls.op_type: cls for cls in HW_LAYERS})

__all__ = [
    "HW_OPS",
    "HW_DOMAIN",
    "HW_LAYERS",
    "HWLayer",
    "LabelSelect",
    "MVAU",
    "Thresholding",
    "divisors",
    "AddStreams",
    "ChannelwiseOp",
    "ConvolutionInputGenerator",
    "DuplicateStreams",
    "FMPadding",
    "GlobalAccPool",
    "StreamingDataWidthConverter",
    "StreamingFIFO",
    "StreamingMaxPool",
    "VVAU",
]
