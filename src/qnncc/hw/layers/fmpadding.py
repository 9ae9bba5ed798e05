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
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.sim.patterns import Program, program_from_runs, runs_from_masks

from ._util import PassThroughType, pair, parse_datatype, positive, stream_attributes
from .base import divisors
from .mmv import mmv_conflict, mmv_options


class FMPadding(PassThroughType):
    """Constant (default zero) padding; input ``x [N, H, W, C]``, output ``[N, H+top+bottom, W+left+right, C]``."""

    op_type = "FMPadding"
    finn_legacy_names = ("FMPadding_Batch", "FMPadding_Pixel")
    finn_impl_styles = ("hls", "rtl")
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


def fmpadding_program(layer: HWLayer, lat: int) -> Program:
    """FMPadding: a write per output pixel word, a read only for the interior ones (``fmpadding.hpp``).

    ``MMV > 1`` (``fmpadding_mmv``): a write per output word of MMV pixels, a read whenever the queue
    holds fewer input pixels than the word's interior ones.
    """
    _, h, w, c = (int(d) for d in layer.normal_input_shape())
    top, left, bottom, right = (int(p) for p in layer.attrs["Padding"])
    inside = np.zeros((top + h + bottom, left + w + right), dtype=np.int64)
    inside[top : top + h, left : left + w] = 1
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:
        need = inside.reshape(-1, mmv).sum(axis=1)
        reads = np.zeros_like(need)
        held = 0
        for i, n in enumerate(need.tolist()):  # fmpadding_mmv's queue
            if held < n:
                reads[i], held = 1, held + mmv
            held -= n
        return program_from_runs(runs_from_masks(reads, np.ones_like(reads)), 1, 1, lat)
    cf = c // layer.input_elems_per_word()
    r = np.repeat(inside.ravel(), cf)
    return program_from_runs(runs_from_masks(r, np.ones_like(r)), 1, 1, lat)  # one image per call, as the template


def estimate_fmpadding(a: Attrs) -> LayerEstimate:
    """FMPadding: zero padding of a feature map.

    Cycles: ``(C/SIMD) * batch * (H + pad_t + pad_b) * (W + pad_l + pad_r)``
    (FINN ``fmpadding.py`` ``get_exp_cycles``; ``numInputVectors`` is the batch).
    FINN has no resource estimate; qnncc's model: one LUT per output bit for
    the zero mux (``SIMD * bits``) plus row/column/channel counters.
    ``MMV > 1`` (``SIMD = C``, qnncc's ``fmpadding_mmv``): ``MMV`` pixels per
    cycle, ``batch * H_out * W_out / MMV`` cycles; the mux is ``MMV`` pixels
    wide and a queue of ``2*MMV - 1`` pixels (FFs and a LUT mux per bit) realigns
    the input words.

    Raises:
        EstimateError: for ``MMV > 1`` with ``SIMD != C``, or not dividing ``H*W`` and ``W_out``.
    """
    img_h, img_w = a.get_ints("ImgDim", length=2)
    pad = a.get_ints("Padding", length=4)
    ch, simd = a.get_int("NumChannels"), a.get_int("SIMD")
    cf = a.divides("SIMD", simd, "NumChannels", ch)
    batch = prod(a.get_ints("numInputVectors", [1]))
    odim_h, odim_w = img_h + pad[0] + pad[2], img_w + pad[1] + pad[3]
    mmv = a.get_int("MMV", 1)
    width = simd * a.get_dtype("inputDataType").bitwidth()
    reason = "" if odim_w % mmv == 0 else f"MMV={mmv} must divide the padded width {odim_w}"
    values = {"MMV": mmv, "SIMD": simd}
    reason = reason or mmv_conflict(values, {"SIMD": ch}, img_h * img_w, (mmv * width, mmv * width))
    if reason:
        raise a.error(reason)
    cycles = cf * batch * odim_h * odim_w // mmv
    counters = ceil_log2(odim_h) + ceil_log2(odim_w) + ceil_log2(cf)
    modules = [
        ModuleEstimate("zero_mux", cycles=cycles, lut=mmv * width, ff=mmv * width),
        ModuleEstimate("control", cycles=cycles, lut=2 * counters, ff=counters),
    ]
    if mmv > 1:
        queue = (2 * mmv - 1) * width
        modules.append(ModuleEstimate("pixel_queue", cycles=cycles, lut=queue, ff=queue))
    return layer_from_modules(cycles, modules)


def fmpadding_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_fmpadding`` (the word width) for the fitted resource model."""
    return {"const": 1.0, "width": float(int(a["SIMD"]) * fit.bits(a["inputDataType"]))}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    FMPadding,
    lambda a, be, sp, part: estimate_fmpadding(a),
    fmpadding_program,
    1,
    (),
    f"{CODEGEN_HLS}.fmpadding:fmpadding_code",
    "fmpadding.hpp",
    inserted_by=f"{TRANSFORMS_HW}:InferConvInpGen",
    rtl=f"{CODEGEN_RTL}.fmpadding:fmpadding_rtl",
    rtl_core="qnncc_fmpadding.v",
    fit_features=fmpadding_fit_features,
)
