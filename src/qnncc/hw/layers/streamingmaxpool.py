"""StreamingMaxPool: max pooling with stride equal to the window (FINN ``StreamingMaxPool``).

Semantics (FINN, which runs ONNX ``MaxPool`` with ``strides = kernel_shape``):
for ``x [N, H, W, C]`` (``ImgDim = [H, W]``, ``NumChannels = C``) and
``PoolDim = [kh, kw]`` the output ``[N, OH, OW, C]`` holds the maximum of
each non-overlapping ``kh x kw`` window, ``OH = H // kh`` (rounded up with
``CeilMode = 1``, the partial last window then taking the maximum of the
pixels it covers), i.e. :func:`qnncc.custom_op.maxpool_nhwc.maxpool_nhwc`
with ``strides = kernel`` and no padding.

Unlike finn-hlslib's ``StreamingMaxPool`` (2-D pooling needs ``H % kh == 0``
and ``W % kw == 0``), qnncc's implementation (``pool.hpp``) pools any image
size: floor mode drops the rows/columns past the last whole window, ceil
mode keeps a partial last window. ``dataType`` is the datatype of both streams.

Folding: a 1-D pooling reads ``PE`` channels per word; the 2-D hlslib
kernel reads all ``C`` channels of a pixel per word (``PE`` is then unused).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from onnx import helper
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.custom_op.maxpool_nhwc import MaxPoolNHWC, maxpool_nhwc, pool_output_dim

from ._util import BINARY_FLAG, PassThroughType, pair, parse_datatype, positive, stream_attributes
from .base import divisors


class StreamingMaxPool(PassThroughType):
    """Max pooling, stride = window; input ``x [N, H, W, C]``, output ``[N, OH, OW, C]``."""

    datatype_attr = "dataType"

    op_type = "StreamingMaxPool"
    folding_attrs = ("PE",)
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"dataType": AttrSpec("s", required=True)},
        ImgDim=AttrSpec("ints", required=True),
        PoolDim=AttrSpec("ints", required=True),
        NumChannels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        CeilMode=AttrSpec("i", default=0, allowed=BINARY_FLAG),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    def is_1d(self) -> bool:
        """Whether the pooling runs along one axis only (``H = kh = 1`` or ``W = kw = 1``)."""
        (h, w), (kh, kw) = pair(self, "ImgDim"), pair(self, "PoolDim")
        return (w == 1 and kw == 1) if w == 1 else (h == 1 and kh == 1)

    @override
    def validate(self) -> None:
        positive(self, "NumChannels")
        (h, w), (kh, kw) = pair(self, "ImgDim"), pair(self, "PoolDim")
        parse_datatype(self, "dataType")
        if kh > h or kw > w:
            raise UnsupportedOpError(f"{self.describe()}: PoolDim {[kh, kw]} larger than ImgDim {[h, w]}")
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"PE": divisors(int(self.attrs["NumChannels"]))}

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "ImgDim"), int(self.attrs["NumChannels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        (h, w), (kh, kw) = pair(self, "ImgDim"), pair(self, "PoolDim")
        ceil = bool(self.attrs["CeilMode"])
        oh, ow = pool_output_dim(h, kh, kh, 0, 0, ceil), pool_output_dim(w, kw, kw, 0, 0, ceil)
        return (1, oh, ow, int(self.attrs["NumChannels"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"]) if self.is_1d() else int(self.attrs["NumChannels"])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return self.input_elems_per_word()

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        self.check_nhwc_input(x)
        kernel = pair(self, "PoolDim")
        return [maxpool_nhwc(x, kernel, kernel, (0, 0, 0, 0), bool(self.attrs["CeilMode"]))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """The lowering of a :class:`MaxPoolNHWC` with ``strides = kernel_shape``."""
        kernel = list(pair(self, "PoolDim"))
        pool = helper.make_node(
            "MaxPoolNHWC",
            [self.node.input[0]],
            [self.node.output[0]],
            domain="qnncc",
            kernel_shape=kernel,
            strides=kernel,
            pads=[0, 0, 0, 0],
            ceil_mode=int(self.attrs["CeilMode"]),
        )
        MaxPoolNHWC(pool).lower(ctx)
