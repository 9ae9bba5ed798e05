"""HLS builders of the sliding-window family (ConvolutionInputGenerator, FMPadding, pooling, VVAU)."""

from __future__ import annotations

from ._common import LayerBuilder

__all__ = ["BUILDERS"]

#: op type -> builder for this group.
BUILDERS: dict[str, LayerBuilder] = {}
