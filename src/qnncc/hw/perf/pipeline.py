"""Pipeline depth of qnncc's HLS layer loops: the per-frame drain of the hardware qnncc emits.

Every layer top of qnncc's library runs one ``#pragma HLS PIPELINE II=1``
loop per frame and returns (``hls_templates/include/qnncc/*.hpp``), so
each frame costs the loop's iterations plus one pipeline drain: the
cycles from an iteration's issue to its writes. These depths are *assumed*
typical Vitis HLS pipeline depths of the loop bodies (read, compute,
write), not measured from HLS reports; the cycle-level simulator
(:mod:`qnncc.hw.sim`) uses the same table as its default latencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEFAULT_PIPELINE_DEPTH", "PIPELINE_DEPTH", "pipeline_depth"]

#: Depth of ops not in :data:`PIPELINE_DEPTH`.
DEFAULT_PIPELINE_DEPTH = 2

#: Assumed pipeline depth (cycles from an iteration's issue to its writes) by op type.
PIPELINE_DEPTH: Mapping[str, int] = MappingProxyType(
    {
        "MVAU": 5,  # input buffer, weight read, dot product / popcount, accumulate, activation + write
        "VVAU": 5,
        "Thresholding": 3,  # read, compare with all thresholds and count, write
        "ConvolutionInputGenerator": 3,  # address, line-buffer read, write
        "ChannelwiseOp": 2,
        "AddStreams": 2,
        "DuplicateStreams": 1,
        "StreamingDataWidthConverter": 1,
        "FMPadding": 1,
        "StreamingMaxPool": 2,
        "GlobalAccPool": 2,
        "LabelSelect": 2,
    }
)


def pipeline_depth(op_type: str) -> int:
    """Pipeline depth (cycles) of the HLS loop of ``op_type`` (:data:`DEFAULT_PIPELINE_DEPTH` if not listed)."""
    return PIPELINE_DEPTH.get(op_type, DEFAULT_PIPELINE_DEPTH)
