"""FMPadding: constant padding of a feature map stream (FINN ``FMPadding``).

Semantics (FINN): ``x [N, H, W, C]`` with ``ImgDim = [H, W]`` and
``NumChannels = C`` becomes ``[N, H + top + bottom, W + left + right, C]``,
the input surrounded by ``PadValue``, ``Padding = [top, left, bottom, right]``
(FINN's ``[H_begin, W_begin, H_end, W_end]``). The datatype is unchanged
and must hold ``PadValue``. ``PadValue`` (default 0, finn-hlslib's zero
padding) is a qnncc extension: a padded max pool of a signed input pads with
the datatype's minimum (FINN's ``MaxPool`` padding with the minimum value).
``numInputVectors`` is FINN's batch size (an int).

Folding: ``SIMD`` channels per word (``SIMD`` divides ``C``). With
``SIMD = C``, ``MMV = m > 1`` pixels per word on both streams (:mod:`.mmv`;
``m`` divides ``H*W`` and the padded width), ``OH*OW/m`` cycles per frame:
the multi-pixel input of a stem convolution on few channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext

from ._util import PassThroughType, pair, parse_datatype, positive, stream_attributes
from .base import divisors
from .mmv import mmv_conflict, mmv_options


class FMPadding(PassThroughType):
    """Constant (default zero) padding; input ``x [N, H, W, C]``, output ``[N, H+top+bottom, W+left+right, C]``."""

    op_type = "FMPadding"
    folding_attrs = ("SIMD",)
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"inputDataType": AttrSpec("s", required=True)},
        ImgDim=AttrSpec("ints", required=True),
        Padding=AttrSpec("ints", required=True),
        NumChannels=AttrSpec("i", required=True),
        SIMD=AttrSpec("i", default=1),
        numInputVectors=AttrSpec("i", default=1),
        PadValue=AttrSpec("i", default=0),
        MMV=AttrSpec("i", default=1),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    def padding(self) -> tuple[int, int, int, int]:
        """``(top, left, bottom, right)``."""
        pads = [int(p) for p in self.attrs["Padding"]]
        if len(pads) != 4 or min(pads) < 0:
            raise UnsupportedOpError(f"{self.describe()}: Padding={pads} must be 4 non-negative ints [t, l, b, r]")
        return pads[0], pads[1], pads[2], pads[3]

    def pad_value(self) -> int:
        """The value of the padded pixels (``PadValue``)."""
        return int(self.attrs["PadValue"])

    @override
    def validate(self) -> None:
        positive(self, "NumChannels", "numInputVectors")
        pair(self, "ImgDim")
        self.padding()
        value = self.pad_value()
        if not parse_datatype(self, "inputDataType").allowed(value):
            what = "the zero padding" if value == 0 else f"the padding value {value}"
            raise UnsupportedOpError(f"{self.describe()}: {self.attrs['inputDataType']} cannot hold {what}")
        reason = self.mmv_conflict()
        if reason:
            raise UnsupportedOpError(f"{self.describe()}: {reason}")
        super().validate()

    def mmv_conflict(self) -> str:
        """Why ``MMV`` is not possible ("" if it is): :func:`.mmv.mmv_conflict` and the padded width."""
        _, h, w, c = self.normal_input_shape()
        ow = self.normal_output_shape()[2]
        mmv = int(self.attrs["MMV"])
        if mmv > 1 and ow % mmv:
            return f"MMV={mmv} must divide the padded width {ow}"
        return mmv_conflict(self.attrs, {"SIMD": c}, h * w, (self.instream_width(), self.outstream_width()))

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"SIMD": divisors(int(self.attrs["NumChannels"]))}

    @override
    def throughput_options(self) -> dict[str, list[int | str]]:
        """``MMV`` values dividing the pixels and the padded width."""
        _, h, w, _ = self.normal_input_shape()
        mmv = [m for m in mmv_options(h * w) if self.normal_output_shape()[2] % m == 0]
        return {"MMV": list(mmv)} if len(mmv) > 1 else {}

    @property
    def mmv(self) -> int:
        """Pixels per word (``MMV``)."""
        return int(self.attrs["MMV"])

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * self.mmv

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * self.mmv

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (int(self.attrs["numInputVectors"]), *pair(self, "ImgDim"), int(self.attrs["NumChannels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        n, h, w, c = self.normal_input_shape()
        top, left, bottom, right = self.padding()
        return (n, h + top + bottom, w + left + right, c)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        self.check_nhwc_input(x)
        top, left, bottom, right = self.padding()
        pads = ((0, 0), (top, bottom), (left, right), (0, 0))
        return [np.pad(x, pads, constant_values=np.asarray(self.pad_value(), x.dtype))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        top, left, bottom, right = self.padding()
        pads = [0, top, left, 0, 0, bottom, right, 0]
        x, out = self.node.input[0], self.node.output[0]
        if ctx.opset >= 11:
            ctx.op(
                "Pad", [x, ctx.const(pads, np.int64, "pads"), ctx.const(float(self.pad_value()), hint="pad_value")], out
            )
        elif ctx.opset >= 2:
            ctx.op("Pad", [x], out, pads=pads, value=float(self.pad_value()), mode="constant")
        else:
            raise UnsupportedOpError(f"{self.describe()}: lowering needs opset >= 2")
