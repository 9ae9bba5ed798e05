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

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from onnx import helper
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.custom_op.im2col import Im2Col, conv_output_dim, im2col_nhwc
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, EstimateError, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.window import buffer_module, conv_out_dim
from qnncc.hw.sim.patterns import Program, SimulationError, program_from_runs, runs_from_masks

from ._util import BINARY_FLAG, RAM_STYLES, pair, parse_datatype, positive
from .base import HWLayer, divisors, hw_attributes
from .mmv import mmv_options, swg_mmv_conflict


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
    finn_legacy_names = ("ConvolutionInputGenerator1D", "ConvolutionInputGenerator_1D")
    finn_impl_styles = ("hls", "rtl")
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


def swg_buffer_rows(span: int, stride: int, height: int) -> int:
    """Image rows in the window generator's line buffer.

    ``span + stride`` rows (the dilated kernel height plus one stride) let the
    rows of the next output row stream in while the current one is emitted;
    never more than the image has.
    """
    return min(span + stride, height)


def swg_parallel_program(layer: HWLayer, lat: int) -> Program:
    """``swg_parallel``: one input pixel per iteration, a whole window on the pixel that completes it.

    ``MMV > 1`` (``swg_parallel_mmv``): one word of MMV pixels per iteration; the windows completed by
    it are queued and a word of MMV windows is written in each iteration that fills the queue to MMV.
    """
    _, ih, iw, _ = (int(d) for d in layer.normal_input_shape())
    _, oh, ow, _ = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["ConvKernelDim"])
    sh, sw = (int(s) for s in layer.attrs["Stride"])
    mmv = int(layer.attrs.get("MMV", 1))
    h = np.arange(ih)[:, None] - (kh - 1)
    w = np.arange(iw)[None, :] - (kw - 1)
    emit = (h >= 0) & (h % sh == 0) & (h // sh < oh) & (w >= 0) & (w % sw == 0) & (w // sw < ow)
    done = np.cumsum(emit.astype(np.int64).reshape(ih, iw // mmv, mmv).sum(axis=2).ravel())  # windows so far
    wmask = np.diff(done // mmv, prepend=0)  # a write when the queue reaches MMV (at most one per iteration)
    return program_from_runs(runs_from_masks(np.ones_like(wmask), wmask), 1, 1, lat)


def swg_program(layer: HWLayer, lat: int) -> Program:
    """ConvolutionInputGenerator: line-buffer reads interleaved with window writes (``swg.hpp``)."""
    if int(layer.attrs.get("parallel_window", 0)):
        return swg_parallel_program(layer, lat)
    from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows

    _, ih, iw, c = (int(d) for d in layer.normal_input_shape())
    _, oh_n, ow_n, _ = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["ConvKernelDim"])
    sh, _ = (int(s) for s in layer.attrs["Stride"])
    dh, _ = (int(d) for d in layer.attrs["Dilation"])
    cf = c // int(layer.attrs["SIMD"])
    span = dh * (kh - 1) + 1
    rows = swg_buffer_rows(span, sh, ih)
    row_words, emit_words = iw * cf, ow_n * kw * kh * cf
    runs: list[tuple[int, int, int]] = []
    rr = rword = oh = top = emitted = 0
    while rr < ih or oh < oh_n:  # swg.hpp, in chunks between row events
        can_emit = oh < oh_n and rr >= top + span
        can_read = rr < ih and (oh == oh_n or rr < top + rows)
        if not (can_emit or can_read):
            raise SimulationError(f"{layer.describe()}: the window generator loop stalls (rows={rows})")
        k = min(emit_words - emitted if can_emit else emit_words, row_words - rword if can_read else row_words)
        runs.append((int(can_read), int(can_emit), k))
        if can_emit:
            emitted += k
            if emitted == emit_words:
                emitted, oh, top = 0, oh + 1, top + sh
        if can_read:
            rword += k
            if rword == row_words:
                rword, rr = 0, rr + 1
    return program_from_runs(runs, 1, 1, lat)


SWG_CONTROL_LUT = 300  # FINN's constant control overhead of a sliding window generator (LUTs)


def estimate_swg(a: Attrs, *, backend: str = "hls") -> LayerEstimate:
    """ConvolutionInputGenerator (sliding window generator, SWG).

    ``backend == "hls"`` (FINN ``ConvolutionInputGenerator`` /
    ``convolutioninputgenerator_hls.py``, finn-hlslib ``slidingwindow.h``)::

        cycles = IFM_W * K_h * D_h * (C/SIMD)
                 + OFM_H * max(OFM_W * K_w * K_h * C/SIMD, S_w * IFM_W * C/SIMD)

    and ``K_h + S_h`` line buffers of ``IFM_W * C/SIMD`` words of
    ``SIMD * bits``; LUT = 300 + LUTRAM (64 words/LUT). ``backend ==
    "qnncc"`` (qnncc's ``swg.hpp``, same loop): the line buffer has
    :func:`swg_buffer_rows` rows, ``min(span + S_h, IFM_H)``. FINN indexes the
    square-kernel case with ``[0]``; qnncc uses the row-direction values
    (``K_h``, ``S_h``, ``IFM_W``), identical for square windows.

    ``backend == "rtl"`` (FINN ``convolutioninputgenerator_rtl.py``, default
    implementation style): one circular buffer of
    ``((K_h-1)*D_h*IFM_W + (K_w-1)*D_w + 1) * C/SIMD`` words (plus stride
    slack), ``cycles = buffer + OFM_H * max(write, read)`` in 2D and
    ``OFM_W * K_w * C/SIMD + 2`` in 1D (depthwise corrections included);
    ``parallel_window == 1``: ``cycles = input words + 2`` and ``K_h - 1``
    line buffers; LUT = 300 + LUTRAM (38 words/LUT).

    ``parallel_window == 1`` with the HLS backend: qnncc's own parallel window
    generator (:func:`_swg_parallel_hls`).

    Raises:
        EstimateError: for ``parallel_window == 1`` with ``SIMD != IFMChannels``,
            dilation or ``depthwise``.
    """
    k_h, k_w = a.get_ints("ConvKernelDim", length=2)
    ifm_h, ifm_w = a.get_ints("IFMDim", length=2)
    s_h, s_w = a.get_ints("Stride", [1, 1], length=2)
    d_h, d_w = a.get_ints("Dilation", [1, 1], length=2)
    ch, simd = a.get_int("IFMChannels"), a.get_int("SIMD")
    cf = a.divides("SIMD", simd, "IFMChannels", ch)
    if a.has("OFMDim"):
        ofm_h, ofm_w = a.get_ints("OFMDim", length=2)
    else:
        ofm_h, ofm_w = conv_out_dim(a, ifm_h, k_h, s_h, d_h), conv_out_dim(a, ifm_w, k_w, s_w, d_w)
    depthwise = bool(a.get_int("depthwise", 0, minimum=0))
    ram_style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    width = simd * a.get_dtype("inputDataType").bitwidth()
    out_words = ofm_h * ofm_w * k_h * k_w * cf
    parallel = bool(a.get_int("parallel_window", 0, minimum=0))
    if parallel and (cf != 1 or depthwise or (d_h, d_w) != (1, 1)):
        raise EstimateError(f"{a.op_type}: parallel_window=1 needs SIMD = IFMChannels, no dilation, not depthwise")
    mmv = a.get_int("MMV", 1)
    if mmv > 1:
        values = {"MMV": mmv, "parallel_window": int(parallel), "IFMChannels": ch, "SIMD": simd}
        reason = swg_mmv_conflict(values, ifm_w, ofm_h * ofm_w, (mmv * width, mmv * k_h * k_w * width))
        if reason or backend == "rtl":
            raise EstimateError(f"{a.op_type}: {reason or f'MMV={mmv} has no RTL implementation'}")
    if parallel and backend != "rtl":
        return _swg_parallel_hls((k_h, k_w), (ifm_h, ifm_w), ofm_h * ofm_w, width, ram_style, mmv)
    if backend == "rtl":
        cycles, buffer = _swg_rtl(a, (k_h, k_w), (ifm_h, ifm_w), (ofm_h, ofm_w), (s_h, s_w), (d_h, d_w), cf, depthwise)
        depth, count = buffer
        memory = buffer_module("line_buffer", width, depth, count, ram_style, lut_words=38)
    else:
        write_block = ofm_w * k_w * k_h * cf
        read_block = s_w * ifm_w * cf
        cycles = ifm_w * k_h * d_h * cf + ofm_h * max(write_block, read_block)
        rows = k_h + s_h if backend != "qnncc" else swg_buffer_rows(d_h * (k_h - 1) + 1, s_h, ifm_h)
        memory = buffer_module("line_buffer", width, ifm_w * cf, rows, ram_style, lut_words=64)
    control = ModuleEstimate("control", cycles=cycles, lut=SWG_CONTROL_LUT, ff=2 * width + 4 * ceil_log2(out_words))
    window = ModuleEstimate("window_output", cycles=out_words)
    return layer_from_modules(cycles, [control, memory, window])


def _swg_parallel_hls(
    k: tuple[int, int], ifm: tuple[int, int], out_pixels: int, width: int, ram_style: str, mmv: int = 1
) -> LayerEstimate:
    """Parallel-window SWG of qnncc (``swg.hpp`` ``swg_parallel``): one input pixel per cycle.

    ``cycles = IFM_H * IFM_W`` (II=1, one iteration per input pixel, a whole
    window written on the cycle that completes it); ``K_h`` line buffers of
    ``IFM_W`` pixels of ``width = C * bits`` bits and a ``K_h x K_w`` window
    register of ``width``-bit FFs (the output word); LUT = 300 control.
    ``MMV > 1`` (``swg_parallel_mmv``): ``IFM_H * IFM_W / MMV`` cycles, line
    buffers of ``IFM_W / MMV`` words of ``MMV * width`` bits, a
    ``K_h x (K_w + MMV - 1)`` window register and a queue of ``2*MMV - 1`` windows.
    """
    (k_h, k_w), (ifm_h, ifm_w) = k, ifm
    cycles = ifm_h * ifm_w // mmv
    memory = buffer_module("line_buffer", mmv * width, ifm_w // mmv, k_h, ram_style, lut_words=64)
    control = ModuleEstimate("control", cycles=cycles, lut=SWG_CONTROL_LUT, ff=4 * ceil_log2(ifm_h * ifm_w))
    registers = k_h * k_w * width if mmv == 1 else (k_h * (k_w + mmv - 1) + (2 * mmv - 1) * k_h * k_w) * width
    window = ModuleEstimate("window_register", cycles=out_pixels // mmv, ff=registers)
    return layer_from_modules(cycles, [control, memory, window])


def _swg_rtl(
    a: Attrs,
    k: tuple[int, int],
    ifm: tuple[int, int],
    ofm: tuple[int, int],
    stride: tuple[int, int],
    dil: tuple[int, int],
    cf: int,
    depthwise: bool,
) -> tuple[int, tuple[int, int]]:
    """Cycles and ``(buffer depth, buffer count)`` of FINN's RTL SWG."""
    (k_h, k_w), (ifm_h, ifm_w), (ofm_h, ofm_w) = k, ifm, ofm
    (s_h, s_w), (d_h, d_w) = stride, dil
    if a.get_int("parallel_window", 0, minimum=0):
        cycles = ifm_h * ifm_w * cf + 2
        if ifm_h == 1 or ifm_w == 1:
            return cycles, (0, 0)
        kernel_width = (k_w - 1) * d_w + 1
        return cycles, ((ifm_w - kernel_width) + ifm_w * (d_h - 1), k_h - 1)
    min_size = ((k_h - 1) * d_h * ifm_w + (k_w - 1) * d_w + 1) * cf
    depth = min_size + max(0, (s_w - 1 - k_h * k_w) * cf) + max(0, ((s_h - 1) * ifm_w - k_h * k_w) * cf)
    if ifm_h == 1 or ifm_w == 1:  # 1D: normalise to a row [1, W]
        if ifm_w == 1:
            k_w, ofm_w, s_w = k_h, ofm_h, s_h
        cycles = ofm_w * k_w * cf + 2
        if depthwise:
            cycles += cf * (k_w - 1) * (s_w - 1) - (k_w - 1)
        return cycles, (depth, 1)
    longest = max(ofm_w * k_w * k_h * cf, s_w * ifm_w * cf)
    if depthwise:
        longest += ofm_w * (s_w - 1) * (cf - 1)
    cycles = min_size + ofm_h * longest
    if depthwise:
        cycles += (s_h - 1) * ifm_w * cf
    return cycles, (depth, 1)


def swg_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_swg`` (line buffer of K rows, word width, addressing) for the fitted model."""
    c, simd = int(a["IFMChannels"]), int(a["SIMD"])
    kh, kw = (int(v) for v in a["ConvKernelDim"])
    iw = int(a["IFMDim"][1])
    width = simd * fit.bits(a["inputDataType"])
    words = kh * iw * c // simd
    return {
        "const": 1.0,
        "width": float(width),
        "buf_lut": fit.lutmem(width, words) if fit.distributed(a) else 0.0,
        "addr": fit.clog2(words) + fit.clog2(kh * kw * c // simd),
    }


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    ConvolutionInputGenerator,
    lambda a, be, sp, part: estimate_swg(a, backend=be),
    swg_program,
    3,  # address, line-buffer read, write
    (f"{TRANSFORMS_HW}:InferConvInpGen",),
    f"{CODEGEN_HLS}.convolutioninputgenerator:swg_code",
    "swg.hpp",
    rtl=f"{CODEGEN_RTL}.convolutioninputgenerator:swg_rtl",
    rtl_core="qnncc_swg.v",
    fit_features=swg_fit_features,
)
