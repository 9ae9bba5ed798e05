"""StreamingDataWidthConverter: regroup a stream into wider or narrower words (FINN name).

Semantics (FINN ``StreamingDataWidthConverter``): the identity on the data.
The input ``[..., C]`` (``in_shape``) arrives in words of ``inWidth`` bits,
i.e. ``inWidth / bits(dataType)`` elements, and leaves in words of
``outWidth`` bits; ``out_shape`` is the consumer's shape (same number of
elements; the output is the input reshaped to it, batch kept).

Legal widths: multiples of the element width whose element counts divide the
last dimension of their shape. qnncc's ``hls`` implementation
(``hls_templates/include/qnncc/dwc.hpp``) converts between any two such
widths (finn-hlslib's needs one to be a multiple of the other).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext

from ._util import PassThroughType, parse_datatype, stream_attributes
from .base import divisors


class StreamingDataWidthConverter(PassThroughType):
    """Width converter; input ``in_shape``, output ``out_shape`` (same values)."""

    datatype_attr = "dataType"

    op_type = "StreamingDataWidthConverter"
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"dataType": AttrSpec("s", required=True)},
        in_shape=AttrSpec("ints", required=True),
        out_shape=AttrSpec("ints", required=True),
        inWidth=AttrSpec("i", required=True),
        outWidth=AttrSpec("i", required=True),
        impl_style=AttrSpec("s", default="hls", allowed=frozenset({"hls", "vivado", "rtl"})),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    def _shape(self, name: str) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self.attrs[name])
        if not shape or min(shape) < 1:
            raise UnsupportedOpError(f"{self.describe()}: {name}={list(shape)} is not a shape")
        return shape

    @override
    def validate(self) -> None:
        parse_datatype(self, "dataType")
        ishape, oshape = self._shape("in_shape"), self._shape("out_shape")
        if math.prod(ishape) != math.prod(oshape):
            raise UnsupportedOpError(f"{self.describe()}: in_shape {list(ishape)} and out_shape {list(oshape)} differ")
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        """Words of any divisor of the elements per frame (words of several vectors: ``MMV > 1`` neighbours)."""
        bits = self.input_datatype().bitwidth()
        return {
            "inWidth": [d * bits for d in divisors(math.prod(self._shape("in_shape")[1:]))],
            "outWidth": [d * bits for d in divisors(math.prod(self._shape("out_shape")[1:]))],
        }

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape("in_shape")

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape("out_shape")

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["inWidth"]) // self.input_datatype().bitwidth()

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["outWidth"]) // self.output_datatype().bitwidth()

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        tail = self._shape("out_shape")[1:]
        if x.ndim == 0 or x.size != x.shape[0] * math.prod(tail):
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)} does not fit {list(tail)}")
        return [x.reshape(x.shape[0], *tail).copy()]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, out = self.node.input[0], self.node.output[0]
        if self._shape("in_shape") == self._shape("out_shape"):
            ctx.op("Identity", [x], out)
        else:
            ctx.op("Reshape", [x, ctx.const([-1, *self._shape("out_shape")[1:]], np.int64, "shape")], out)
