"""Cost terms shared by the sliding-window and pooling layers: output sizes and line buffers."""

from __future__ import annotations

import math

from qnncc.custom_op.im2col import conv_output_dim
from qnncc.custom_op.maxpool_nhwc import pool_output_dim

from .estimate import Attrs, ModuleEstimate
from .memory import MEM_PRIMITIVES, bram18_line_buffer, uram_blocks

__all__ = ["BRAM_OR_LUTRAM", "buffer_module", "conv_out_dim", "pool_out_dim"]

#: Primitives HLS infers for plain arrays (URAM only on request).
BRAM_OR_LUTRAM = {k: v for k, v in MEM_PRIMITIVES.items() if not k.startswith("URAM")}


def conv_out_dim(a: Attrs, ifm: int, k: int, stride: int, dilation: int = 1) -> int:
    """Output size of an unpadded convolution window (the ops' own rule, ``conv_output_dim``).

    Raises:
        EstimateError: naming the op if the window does not fit the input.
    """
    try:
        return conv_output_dim(ifm, k, stride, 0, dilation)
    except ValueError as err:
        raise a.error(str(err)) from None


def pool_out_dim(a: Attrs, ifm: int, k: int, stride: int, ceil_mode: bool) -> int:
    """Output size of an unpadded pooling window (the ops' own rule, ``pool_output_dim``).

    Raises:
        EstimateError: naming the op if the window does not fit the input.
    """
    try:
        return pool_output_dim(ifm, k, stride, 0, 0, ceil_mode)
    except ValueError as err:
        raise a.error(str(err)) from None


def buffer_module(name: str, width: int, depth: int, count: int, ram_style: str, lut_words: int) -> ModuleEstimate:
    """A line buffer of ``count`` memories, ``width`` bits x ``depth`` words, by ``ram_style``.

    ``block``/``auto``: :func:`bram18_line_buffer`; ``distributed``:
    ``width * ceil(depth / lut_words)`` LUTs; ``ultra``: :func:`uram_blocks`.
    """
    if ram_style == "distributed":
        return ModuleEstimate(name, lut=count * width * math.ceil(depth / lut_words))
    if ram_style == "ultra":
        return ModuleEstimate(name, uram=count * uram_blocks(width, depth))
    return ModuleEstimate(name, bram_18k=count * bram18_line_buffer(width, depth))
