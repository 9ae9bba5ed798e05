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

from .base import HWLayer
from .elementwise_binary import datatype_attr

__all__ = ["UpsampleNearestNeighbour", "source_index"]


def source_index(ifm: int, ofm: int) -> np.ndarray:
    """Input row (column) of each output row (column): ``floor(o * ifm / ofm)``, ``[ofm]`` int64."""
    return (np.arange(ofm, dtype=np.int64) * ifm) // ofm


class UpsampleNearestNeighbour(HWLayer):
    """FINN ``UpsampleNearestNeighbour``: NHWC ``[N, IFMDim, IFMDim or 1, C]`` to ``[N, OFMDim, OFMDim or 1, C]``."""

    op_type = "UpsampleNearestNeighbour"
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
