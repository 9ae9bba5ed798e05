"""ConvolutionInputGenerator: the sliding-window unit (FINN ``ConvolutionInputGenerator``).

Semantics (FINN's Python model of the layer, which runs QONNX ``Im2Col``):
for an already padded input ``x [N, H, W, C]`` (``IFMDim = [H, W]``,
``IFMChannels = C``) the output ``[N, OH, OW, kh*kw*C]`` holds at
``[n, oh, ow]`` the window

    ``x[n, oh*sh + i*dh, ow*sw + j*dw, c]`` in ``(i, j, c)`` order,

``ConvKernelDim = [kh, kw]``, ``Stride = [sh, sw]``, ``Dilation = [dh, dw]``,
``OFMDim = [OH, OW]`` with ``OH = (H - dh*(kh-1) - 1) // sh + 1``. This is
:class:`~qnncc.custom_op.im2col.Im2Col` without padding (an
:class:`~.fmpadding.FMPadding` in front does the padding), and the order a
following MVAU expects for its ``[kh*kw*C, OC]`` weights.

``depthwise = 1`` marks a window generator feeding a VVAU: the values are the
same, but the hardware (finn-hlslib ``ConvolutionInputGenerator_dws``)
streams a window as ``C/SIMD`` groups of ``kh*kw`` words of ``SIMD``
channels. The tensor semantics stays the Im2Col order above, which is what
FINN's VVAU model expects when its producer is the window generator.

Folding: ``SIMD`` channels per word on both streams (``SIMD`` divides ``C``),
``kh*kw*C/SIMD`` output words per output pixel (finn-hlslib ``slidingwindow.h``).
``parallel_window = 1`` (FINN's RTL SWG option) emits each whole window as
one word of ``kh*kw*C`` elements and reads one pixel (``SIMD = C``) per
cycle, so a frame takes about ``H*W`` cycles instead of ``OH*OW*kh*kw``: the
way to stream a wide window over few channels (e.g. a 7x7 stem convolution
on 3 input channels) at one output pixel per cycle. It needs ``SIMD = C``, no
dilation and ``depthwise = 0``. With it, ``MMV = m > 1`` (FINN's ``M`` of the
multi-pixel RTL generator, :mod:`.mmv`) reads ``m`` pixels per word and writes
``m`` whole windows per word, ``H*W/m`` cycles per frame; ``m`` divides ``W``
and ``OH*OW``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from onnx import helper
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.custom_op.im2col import Im2Col, conv_output_dim, im2col_nhwc

from ._util import BINARY_FLAG, RAM_STYLES, pair, parse_datatype, positive
from .base import HWLayer, divisors, hw_attributes
from .mmv import mmv_conflict, mmv_options


def parallel_window_conflict(attrs: dict[str, object], dilation: tuple[int, int]) -> str:
    """Why ``parallel_window = 1`` is not possible with these attributes ("" if it is)."""
    if int(str(attrs["SIMD"])) != int(str(attrs["IFMChannels"])):
        return f"needs SIMD = IFMChannels ({attrs['IFMChannels']}), got SIMD={attrs['SIMD']}"
    if int(str(attrs.get("depthwise", 0))):
        return "is not available for depthwise window generators"
    if dilation != (1, 1):
        return f"needs Dilation [1, 1], got {list(dilation)}"
    return ""


class ConvolutionInputGenerator(HWLayer):
    """Sliding window; input ``x [N, H, W, C]`` (padded), output ``[N, OH, OW, kh*kw*C]``."""

    op_type = "ConvolutionInputGenerator"
    folding_attrs = ("SIMD",)
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        ConvKernelDim=AttrSpec("ints", required=True),
        IFMChannels=AttrSpec("i", required=True),
        IFMDim=AttrSpec("ints", required=True),
        OFMDim=AttrSpec("ints", required=True),
        SIMD=AttrSpec("i", default=1),
        Stride=AttrSpec("ints", default=[1, 1]),
        Dilation=AttrSpec("ints", default=[1, 1]),
        depthwise=AttrSpec("i", default=0, allowed=BINARY_FLAG),
        parallel_window=AttrSpec("i", default=0, allowed=BINARY_FLAG),
        ram_style=AttrSpec("s", default="distributed", allowed=RAM_STYLES),
        MMV=AttrSpec("i", default=1),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    def window(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """``(kernel, stride, dilation)``, each ``(H, W)``."""
        return pair(self, "ConvKernelDim"), pair(self, "Stride"), pair(self, "Dilation")

    @override
    def validate(self) -> None:
        positive(self, "IFMChannels")
        (kh, kw), (sh, sw), (dh, dw) = self.window()
        (h, w), ofm = pair(self, "IFMDim"), pair(self, "OFMDim")
        try:
            expected = (conv_output_dim(h, kh, sh, 0, dh), conv_output_dim(w, kw, sw, 0, dw))
        except ValueError as exc:
            raise UnsupportedOpError(f"{self.describe()}: {exc}") from None
        if ofm != expected:
            raise UnsupportedOpError(f"{self.describe()}: OFMDim={list(ofm)} but the window gives {list(expected)}")
        if parse_datatype(self, "inputDataType") != parse_datatype(self, "outputDataType"):
            raise UnsupportedOpError(f"{self.describe()}: inputDataType and outputDataType must be equal")
        if self.is_parallel():
            reason = parallel_window_conflict(self.attrs, (dh, dw))
            if reason:
                raise UnsupportedOpError(f"{self.describe()}: parallel_window=1 {reason}")
        widths = (self.instream_width(), self.outstream_width())
        reason = swg_mmv_conflict(self.attrs, w, ofm[0] * ofm[1], widths)
        if reason:
            raise UnsupportedOpError(f"{self.describe()}: {reason}")
        super().validate()

    @property
    def mmv(self) -> int:
        """Pixels per input word and windows per output word (``MMV``, parallel window only)."""
        return int(self.attrs["MMV"])

    def is_parallel(self) -> bool:
        """Whether the whole window leaves as one word per output pixel (``parallel_window = 1``)."""
        return bool(int(self.attrs["parallel_window"]))

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"SIMD": divisors(int(self.attrs["IFMChannels"]))}

    @override
    def throughput_options(self) -> dict[str, list[int | str]]:
        """``parallel_window`` 0 and, where the window allows it (with ``SIMD = C``), 1."""
        dilation = pair(self, "Dilation")
        possible = not parallel_window_conflict({**self.attrs, "SIMD": self.attrs["IFMChannels"]}, dilation)
        options: dict[str, list[int | str]] = {"parallel_window": [0, 1] if possible else [0]}
        (_, w), (oh, ow) = pair(self, "IFMDim"), pair(self, "OFMDim")
        mmv = [m for m in mmv_options(oh * ow) if w % m == 0]
        if possible and len(mmv) > 1:
            options["MMV"] = list(mmv)
        return options

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * self.mmv

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        if self.is_parallel():
            (kh, kw), _, _ = self.window()
            return kh * kw * int(self.attrs["IFMChannels"]) * self.mmv
        return int(self.attrs["SIMD"])

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "IFMDim"), int(self.attrs["IFMChannels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        (kh, kw), _, _ = self.window()
        return (1, *pair(self, "OFMDim"), kh * kw * int(self.attrs["IFMChannels"]))

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        self.check_nhwc_input(x)
        kernel, stride, dilation = self.window()
        return [im2col_nhwc(x, kernel, stride, (0, 0, 0, 0), 0, dilation)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """The lowering of an unpadded :class:`Im2Col` with the same window."""
        kernel, stride, dilation = self.window()
        im2col = helper.make_node(
            "Im2Col",
            [self.node.input[0]],
            [self.node.output[0]],
            domain="qnncc",
            stride=list(stride),
            kernel_size=list(kernel),
            dilations=list(dilation),
            pad_amount=[0, 0, 0, 0],
            input_shape=str(self.normal_input_shape()),
            depthwise=int(self.attrs["depthwise"]),
        )
        Im2Col(im2col).lower(ctx)


def swg_mmv_conflict(attrs: Mapping[str, Any], width: int, pixels: int, word_bits: tuple[int, int]) -> str:
    """Why the window generator's ``MMV`` is not possible ("" if it is).

    ``MMV > 1`` needs ``parallel_window = 1`` (hence ``SIMD = C``), ``MMV``
    dividing the image ``width`` and the output ``pixels``, and words within the
    stream limit (:func:`.mmv.mmv_conflict`; ``word_bits`` are the input and
    output word widths with this ``MMV``).
    """
    mmv = int(attrs.get("MMV", 1))
    if mmv > 1 and not int(attrs.get("parallel_window", 0)):
        return f"MMV={mmv} needs parallel_window=1"
    if mmv > 1 and width % mmv:
        return f"MMV={mmv} must divide the image width {width}"
    return mmv_conflict(attrs, {"SIMD": int(attrs["IFMChannels"])}, pixels, word_bits)


def swg_buffer_rows(span: int, stride: int, height: int) -> int:
    """Image rows in the window generator's line buffer.

    ``span + stride`` rows (the dilated kernel height plus one stride) let the
    rows of the next output row stream in while the current one is emitted;
    never more than the image has.
    """
    return min(span + stride, height)
