"""Per-op HLS builders: HW node -> :class:`~qnncc.codegen.hls.layer_code.LayerCode`.

:data:`LAYER_BUILDERS` maps a HW op type to its builder (a constant table:
adding a layer type means adding a builder module and its entry in one of
the group tables merged here).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from qnncc.codegen.hls.layers._common import LayerBuilder
from qnncc.codegen.hls.layers.dwc import dwc_code
from qnncc.codegen.hls.layers.elementwise import BUILDERS as ELEMENTWISE_BUILDERS
from qnncc.codegen.hls.layers.labelselect import labelselect_code
from qnncc.codegen.hls.layers.mvau import mvau_code
from qnncc.codegen.hls.layers.sliding import BUILDERS as SLIDING_BUILDERS
from qnncc.codegen.hls.layers.thresholding import thresholding_code

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
