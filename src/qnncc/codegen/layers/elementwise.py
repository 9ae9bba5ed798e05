"""HLS builders of the elementwise and stream-plumbing layers (AddStreams, DuplicateStreams, ChannelwiseOp, FIFO)."""

from __future__ import annotations

from ._common import LayerBuilder

__all__ = ["BUILDERS"]

#: op type -> builder for this group.
BUILDERS: dict[str, LayerBuilder] = {}
