"""Streaming HW layer ops (FINN names and attributes), one module per layer."""

from .base import HW_DOMAIN, HWLayer, divisors
from .labelselect import LabelSelect
from .mvau import MVAU
from .thresholding import Thresholding

#: HW layer classes defined here, by op type (added to qnncc.custom_op.CUSTOM_OPS).
HW_LAYERS: tuple[type[HWLayer], ...] = (MVAU, Thresholding, LabelSelect)

__all__ = ["HW_DOMAIN", "HW_LAYERS", "HWLayer", "LabelSelect", "MVAU", "Thresholding", "divisors"]
