"""Per-op HLS builders: HW node -> :class:`~qnncc.codegen.layer_code.LayerCode`.

:data:`LAYER_BUILDERS` maps a HW op type to its builder (a constant table:
adding a layer type means adding a builder module and its entry in one of
the group tables merged here).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._common import LayerBuilder
from .dwc import dwc_code
from .elementwise import BUILDERS as ELEMENTWISE_BUILDERS
from .labelselect import labelselect_code
from .mvau import mvau_code
from .sliding import BUILDERS as SLIDING_BUILDERS
from .thresholding import thresholding_code

__all__ = ["LAYER_BUILDERS", "LayerBuilder"]

LAYER_BUILDERS: Mapping[str, LayerBuilder] = MappingProxyType(
    {
        "MVAU": mvau_code,
        "Thresholding": thresholding_code,
        "LabelSelect": labelselect_code,
        "StreamingDataWidthConverter": dwc_code,
        **SLIDING_BUILDERS,
        **ELEMENTWISE_BUILDERS,
    }
)
