"""Streaming HW layer ops (FINN names and attributes), one module per layer."""

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
from .pool import Pool
from .streamingdatawidthconverter import StreamingDataWidthConverter
from .streamingfifo import StreamingFIFO
from .streamingmaxpool import StreamingMaxPool
from .thresholding import Thresholding
from .vectorvectoractivation import VVAU

#: HW layer classes defined here, by op type (added to qnncc.custom_op.CUSTOM_OPS).
HW_LAYERS: tuple[type[HWLayer], ...] = (
    MVAU,
    Thresholding,
    LabelSelect,
    ConvolutionInputGenerator,
    FMPadding,
    StreamingMaxPool,
    Pool,
    VVAU,
    GlobalAccPool,
    AddStreams,
    DuplicateStreams,
    ChannelwiseOp,
    StreamingDataWidthConverter,
    StreamingFIFO,
)

__all__ = [
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
    "Pool",
    "StreamingDataWidthConverter",
    "StreamingFIFO",
    "StreamingMaxPool",
    "VVAU",
]
