"""Per-op HLS builders: HW node -> :class:`~qnncc.codegen.hls.layer_code.LayerCode`.

Each builder is the ``hls`` facet of its layer's descriptor in :mod:`qnncc.hw.registry`;
:func:`layer_builders` is the table derived from it (adding a layer type means adding a builder
module here and naming it in the layer's descriptor).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

from qnncc.codegen.hls.layers._common import LayerBuilder
from qnncc.hw.registry import LAYERS

__all__ = ["LayerBuilder", "layer_builders"]


@functools.cache
def layer_builders() -> Mapping[str, LayerBuilder]:
    """HW op type -> HLS code builder, from the registry (read-only)."""
    return MappingProxyType({d.op_type: d.hls_builder() for d in LAYERS})
