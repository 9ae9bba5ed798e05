"""FINN's ``UpsampleNearestNeighbour``: nearest-neighbour upsampling of an NHWC stream.

Semantics (finn-plus ``src/finn/custom_op/fpgadataflow/upsampler.py``): input
``[N, IFMDim, IFMDim, C]`` (``DimMode`` 0, square 2-D) or ``[N, IFMDim, 1, C]`` (``DimMode``
1, along H), output ``[N, OFMDim, OFMDim or 1, C]``; output row (column) ``o`` is input row
(column) ``floor(o * IFMDim / OFMDim)``.

No folding (FINN): a word is a whole pixel of ``NumChannels`` elements. The hardware
(``qnncc::upsample_nn`` in ``upsample.hpp``) emits one output pixel per cycle and reads an
input pixel at its first use into a one-row buffer: ``OFMDim**2`` (2-D) or ``OFMDim`` (1-D)
cycles per image (FINN ``get_exp_cycles``); it needs ``OFMDim >= IFMDim``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.descriptor import CODEGEN_HLS, FINN_IMPORT, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules
from qnncc.hw.perf.memory import memory_module
from qnncc.hw.sim.patterns import Program, SimulationError, program_from_runs, runs_from_masks

from .base import HWLayer
from .elementwise_binary import NO_RTL_FINN_PLUS, datatype_attr

__all__ = ["UpsampleNearestNeighbour", "source_index"]


def source_index(ifm: int, ofm: int) -> np.ndarray:
    """Input row (column) of each output row (column): ``floor(o * ifm / ofm)``, ``[ofm]`` int64."""
    return (np.arange(ofm, dtype=np.int64) * ifm) // ofm


class UpsampleNearestNeighbour(HWLayer):
    """FINN ``UpsampleNearestNeighbour``: NHWC ``[N, IFMDim, IFMDim or 1, C]`` to ``[N, OFMDim, OFMDim or 1, C]``."""

    op_type = "UpsampleNearestNeighbour"
    finn_impl_styles = ("hls", "rtl")
    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "OFMDim": AttrSpec("i", required=True),
        "IFMDim": AttrSpec("i", required=True),
        "NumChannels": AttrSpec("i", required=True),
        "inputDataType": AttrSpec("s", default="FLOAT32"),
        "DimMode": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        "numInputVectors": AttrSpec("i", default=1),
    }

    @override
    def validate(self) -> None:
        for name in ("OFMDim", "IFMDim", "NumChannels"):
            if int(self.attrs[name]) < 1:
                raise UnsupportedOpError(f"{self.describe()}: {name}={self.attrs[name]} must be >= 1")
        datatype_attr(self, "inputDataType")
        super().validate()

    def _index(self) -> np.ndarray:
        return source_index(int(self.attrs["IFMDim"]), int(self.attrs["OFMDim"]))

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return datatype_attr(self, "inputDataType")

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        return self.input_datatype()

    def _shape(self, dim: int) -> tuple[int, ...]:
        n = int(self.attrs["numInputVectors"])
        return (n, dim, 1 if self.attrs["DimMode"] else dim, int(self.attrs["NumChannels"]))

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape(int(self.attrs["IFMDim"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape(int(self.attrs["OFMDim"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["NumChannels"])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["NumChannels"])

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        if x.ndim != 4 or x.shape[1] != int(self.attrs["IFMDim"]):
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)}, expected NHWC with H = IFMDim")
        y = np.take(x, self._index(), axis=1)
        return [y if self.attrs["DimMode"] else np.take(y, self._index(), axis=2)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        idx = ctx.const(self._index(), np.int64, "idx")
        if self.attrs["DimMode"]:
            ctx.op("Gather", [self.node.input[0], idx], self.node.output[0], axis=1)
            return
        rows = ctx.op("Gather", [self.node.input[0], idx], axis=1)
        ctx.op("Gather", [rows, idx], self.node.output[0], axis=2)

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [self.input_datatype()]


def upsample_reads(ifm: int, ofm: int, one_d: bool) -> np.ndarray:
    """Per output pixel (row-major), whether ``qnncc::upsample_nn`` reads an input pixel (bool, flat).

    It reads at an input pixel's first use: the first output row of its input row and the first
    output column of its input column.
    """
    src = source_index(ifm, ofm)
    first = np.ones(ofm, dtype=bool)
    first[1:] = src[1:] != src[:-1]
    cols = np.ones(1, dtype=bool) if one_d else first
    return (first[:, None] & cols[None, :]).ravel()


def upsample_program(layer: HWLayer, lat: int) -> Program:
    """UpsampleNearestNeighbour: a write per output pixel, a read at each input pixel's first use (``upsample.hpp``).

    Raises:
        SimulationError: for ``OFMDim < IFMDim`` (downsampling has no hardware).
    """
    if int(layer.attrs["OFMDim"]) < int(layer.attrs["IFMDim"]):
        raise SimulationError(f"{layer.describe()}: OFMDim < IFMDim (downsampling) has no hardware pattern")
    reads = upsample_reads(int(layer.attrs["IFMDim"]), int(layer.attrs["OFMDim"]), bool(layer.attrs["DimMode"]))
    r = reads.astype(np.int64)
    return program_from_runs(runs_from_masks(r, np.ones_like(r)), 1, 1, lat)


def estimate_upsample(a: Attrs) -> LayerEstimate:
    """UpsampleNearestNeighbour: nearest-neighbour upsampling ``IFMDim`` -> ``OFMDim``.

    Cycles: ``OFMDim**2 * numInputVectors`` (``DimMode`` 0) or ``OFMDim`` (``DimMode`` 1)
    (FINN ``upsampler.py`` ``get_exp_cycles``). FINN has no resource estimate; qnncc's model of
    ``qnncc::upsample_nn``: a buffer of one input row (``IFMDim`` pixels of ``NumChannels * bits``;
    one pixel in 1-D mode) and the row/column counters.
    """
    ofm, ifm = a.get_int("OFMDim"), a.get_int("IFMDim")
    channels = a.get_int("NumChannels")
    one_d = a.get_int("DimMode", 0, minimum=0) == 1
    cycles = ofm if one_d else ofm * ofm * a.get_int("numInputVectors", 1)
    width = channels * a.get_dtype("inputDataType").bitwidth()
    modules = [
        memory_module("row_buffer", width, 1 if one_d else ifm),
        ModuleEstimate("output", cycles=cycles, ff=width),
        ModuleEstimate("control", cycles=cycles, lut=4 * ceil_log2(ofm) + 4, ff=2 * ceil_log2(ofm)),
    ]
    return layer_from_modules(cycles, modules)


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    UpsampleNearestNeighbour,
    lambda a, be, sp, part: estimate_upsample(a),
    upsample_program,
    2,  # row-buffer or input read, write
    (),
    f"{CODEGEN_HLS}.upsample:upsample_code",
    "upsample.hpp",
    imported_by=FINN_IMPORT,
    no_rtl=NO_RTL_FINN_PLUS,
)
