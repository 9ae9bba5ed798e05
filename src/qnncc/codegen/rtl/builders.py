"""Op type -> RTL builder, derived from the HW layer registry (the ``rtl`` facet of each descriptor)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType

import onnx

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.registry import LAYERS

from .layer import RtlLayer

__all__ = ["RtlBuilder", "rtl_builders"]

#: A per-op RTL builder: (model, node, layer) -> RtlLayer.
RtlBuilder = Callable[[ModelWrapper, onnx.NodeProto, HWLayer], RtlLayer]


@functools.cache
def rtl_builders() -> Mapping[str, RtlBuilder]:
    """HW op type -> RTL builder, from the ``rtl`` facet of each descriptor in :mod:`qnncc.hw.registry`."""
    return MappingProxyType({d.op_type: d.rtl_builder() for d in LAYERS if d.rtl})
