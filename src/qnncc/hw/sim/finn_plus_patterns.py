"""Cycle patterns of finn-plus's generic HW ops (see :mod:`.patterns` for the :class:`~.patterns.Program` model).

Sources, loop by loop:

* ``elementwise_binary.hpp``: one iteration per output word, each writes; a streamed operand
  of the output's shape is read every iteration, a broadcast one at the first use of each of
  its words (:meth:`qnncc.hw.layers.broadcast.Operand.reads`), a constant never.
* ``reshape.hpp`` ``stream_copy`` (Squeeze/Unsqueeze/Reshape): a word in and out per iteration.
* ``reshape.hpp`` ``concat_part``/``split_part``: per vector, the words of each part in turn,
  one read and one write per iteration.
* ``upsample.hpp``: one iteration per output pixel, each writes; it reads an input pixel at its
  first use (first output row of its input row and first output column of its input column).
"""

from __future__ import annotations

import math

import numpy as np

from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.concat_split import StreamingConcat, StreamingSplit
from qnncc.hw.layers.elementwise_binary import ElementwiseBinary
from qnncc.hw.layers.upsample import UpsampleNearestNeighbour, source_index

from .patterns import Program, SimulationError, _from_masks, _program

__all__ = ["concat_program", "elementwise_program", "split_program", "stream_shape_program", "upsample_program"]


def _expect(layer: HWLayer, cls: type[HWLayer]) -> None:
    if not isinstance(layer, cls):
        raise SimulationError(f"{layer.describe()}: expected a {cls.__name__}")


def elementwise_program(layer: HWLayer, lat: int) -> Program:
    """ElementwiseBinary: a write per output word, reads per streamed operand as the walk reads them."""
    _expect(layer, ElementwiseBinary)
    assert isinstance(layer, ElementwiseBinary)
    plan = layer.walk()
    streams = layer.stream_operands()
    rmask = np.zeros(plan.iterations, dtype=np.int64)
    for port, operand in enumerate(streams):
        rmask |= plan.operands[operand].reads(plan.dims).astype(np.int64) << port
    return _program(_from_masks(rmask, np.ones_like(rmask)), len(streams), 1, lat)


def stream_shape_program(layer: HWLayer, lat: int) -> Program:
    """Squeeze/Unsqueeze/Reshape: one word in and one out per iteration."""
    words = math.prod(layer.normal_input_shape()[1:]) // layer.input_elems_per_word()
    return _program([(1, 1, words)], 1, 1, lat)


def concat_program(layer: HWLayer, lat: int) -> Program:
    """StreamingConcat: per vector, ``ChannelsPerStream[i] / SIMD`` iterations reading input ``i``, each writing."""
    _expect(layer, StreamingConcat)
    assert isinstance(layer, StreamingConcat)
    simd = int(layer.attrs["SIMD"])
    runs = [(1 << i, 1, size // simd) for i, size in enumerate(layer.sizes())]
    vectors = math.prod(layer.normal_output_shape()[1:-1])
    return _program(runs, len(runs), 1, lat, repeat=vectors)


def split_program(layer: HWLayer, lat: int) -> Program:
    """StreamingSplit: per vector, ``ChannelsPerStream[j] / SIMD`` iterations writing output ``j``, each reading."""
    _expect(layer, StreamingSplit)
    assert isinstance(layer, StreamingSplit)
    simd = int(layer.attrs["SIMD"])
    runs = [(1, 1 << j, size // simd) for j, size in enumerate(layer.sizes())]
    vectors = math.prod(layer.normal_input_shape()[1:-1])
    return _program(runs, 1, len(runs), lat, repeat=vectors)


def upsample_reads(ifm: int, ofm: int, one_d: bool) -> np.ndarray:
    """Per output pixel (row-major), whether ``qnncc::upsample_nn`` reads an input pixel (bool, flat)."""
    src = source_index(ifm, ofm)
    first = np.ones(ofm, dtype=bool)
    first[1:] = src[1:] != src[:-1]
    cols = np.ones(1, dtype=bool) if one_d else first
    return (first[:, None] & cols[None, :]).ravel()


def upsample_program(layer: HWLayer, lat: int) -> Program:
    """UpsampleNearestNeighbour: a write per output pixel, a read at each input pixel's first use."""
    _expect(layer, UpsampleNearestNeighbour)
    if int(layer.attrs["OFMDim"]) < int(layer.attrs["IFMDim"]):
        raise SimulationError(f"{layer.describe()}: OFMDim < IFMDim (downsampling) has no hardware pattern")
    reads = upsample_reads(int(layer.attrs["IFMDim"]), int(layer.attrs["OFMDim"]), bool(layer.attrs["DimMode"]))
    r = reads.astype(np.int64)
    return _program(_from_masks(r, np.ones_like(r)), 1, 1, lat)
