"""Streaming HW layer ops (FINN names and attributes), one module per layer."""

from collections.abc import Mapping
from types import MappingProxyType

from qnncc.custom_op.base import CustomOp
from qnncc.custom_op.finn_names import finn_name_table
from qnncc.custom_op.partition import HW_DOMAIN

from .addstreams import AddStreams
from .base import HWLayer, divisors
from .channelwise_op import ChannelwiseOp
from .convolutioninputgenerator import ConvolutionInputGenerator
from .duplicatestreams import DuplicateStreams
from .finn_plus import FINN_PLUS_OPS
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

#: HW layer classes defined here (:func:`qnncc.custom_op.custom_ops` adds them to the op table).
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

#: FINN op type -> ``(qnncc layer op type, impl style)``: the older and specialized FINN names the
#: layers declare (``finn_legacy_names``, ``finn_impl_styles``).
FINN_LAYER_NAMES: Mapping[str, tuple[str, str]] = finn_name_table(HW_LAYERS)

#: qnncc's HW layer wins where finn-plus has an op of the same name (``Pool``: the HW layer runs every
#: finn-plus ``Function`` through finn-plus's semantics and streams ``MaxPool`` in HW).
_BY_NAME: dict[str, type[CustomOp]] = {cls.op_type: cls for cls in (*FINN_PLUS_OPS, *HW_LAYERS)}

#: The HW ops by op type: the op library :data:`qnncc.custom_op.HW_OP_LIBRARY` names. Besides
#: qnncc's layers: FINN's specialized and older names of them (``MVAU_hls``, ``MVAU_rtl``,
#: ``MatrixVectorActivation``, ... see :mod:`qnncc.custom_op.finn_names`) and finn-plus's newer generic ops
#: (:mod:`.finn_plus`, also as ``<op>_hls``/``<op>_rtl``).
HW_OPS: Mapping[str, type[CustomOp]] = MappingProxyType(
    {
        **{finn: _BY_NAME[ours] for finn, (ours, _) in FINN_LAYER_NAMES.items()},
        **{f"{cls.op_type}_{style}": cls for cls in FINN_PLUS_OPS for style in ("hls", "rtl")},
        **_BY_NAME,
    }
)

__all__ = [
    "FINN_LAYER_NAMES",
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
    "Pool",
    "StreamingDataWidthConverter",
    "StreamingFIFO",
    "StreamingMaxPool",
    "VVAU",
]
