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
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import EMITTED, Attrs, LayerEstimate, ModuleEstimate, layer_from_modules
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.memory import best_primitive
from qnncc.hw.perf.window import BRAM_OR_LUTRAM, pool_out_dim
from qnncc.hw.sim.patterns import Program, program_from_runs, runs_from_masks

from ._util import BINARY_FLAG, PassThroughType, pair, parse_datatype, positive, stream_attributes
from .base import divisors


class StreamingMaxPool(PassThroughType):
    """Max pooling, stride = window; input ``x [N, H, W, C]``, output ``[N, OH, OW, C]``."""

    datatype_attr = "dataType"

    op_type = "StreamingMaxPool"
    finn_legacy_names = ("StreamingMaxPool_Batch",)
    finn_impl_styles = ("hls",)
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


def maxpool_program(layer: HWLayer, lat: int) -> Program:
    """StreamingMaxPool: a read per input word, a write when a pooling window row closes (``pool.hpp``)."""
    _, ih, iw, c = (int(d) for d in layer.normal_input_shape())
    _, oh, ow, _ = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["PoolDim"])
    cf = c // layer.input_elems_per_word()
    h = np.arange(ih)[:, None]
    w = np.arange(iw)[None, :]
    last = ((h % kh == kh - 1) | (h == ih - 1)) & ((w % kw == kw - 1) | (w == iw - 1))
    last &= (h // kh < oh) & (w // kw < ow)
    wmask = np.repeat(last.astype(np.int64).ravel(), cf)
    return program_from_runs(runs_from_masks(np.ones_like(wmask), wmask), 1, 1, lat)


def estimate_streaming_maxpool(a: Attrs, *, emitted: bool = False) -> LayerEstimate:
    """StreamingMaxPool: non-overlapping max pooling (stride = kernel).

    Cycles (FINN ``streamingmaxpool.py`` ``get_exp_cycles``): 1D (``[1, W]``
    or ``[H, 1]``): ``OFM * (C/PE) * (K + 1)``; 2D: ``IFM_H * IFM_W * (1 +
    1/(K_h*K_w))`` (FINN writes the square case ``IFM_W**2``). FINN has no
    resource estimate; qnncc's model: a comparator and a mux per lane bit
    (lanes = C in 2D, PE in 1D) and a running-max buffer of ``OFM_W`` (2D) or
    ``C/PE`` (1D) words, in the least wasteful BRAM18/LUTRAM primitive.

    ``emitted`` (qnncc's ``pool.hpp``, 1D and 2D alike): one input word of
    ``L`` channels per iteration (``L = PE`` in 1D, ``C`` in 2D as the
    layer's stream), ``IFM_H * IFM_W * C/L`` cycles; ``L`` lanes and a
    buffer of ``OFM_W * C/L`` words (a register when it is one word).
    """
    ifm = list(a.get_ints("ImgDim", length=2))
    k = list(a.get_ints("PoolDim", length=2))
    ch = a.get_int("NumChannels")
    dtype = a.get_dtype("inputDataType") if a.has("inputDataType") else a.get_dtype("dataType")
    ceil_mode = bool(a.get_int("CeilMode", 0, minimum=0))
    if emitted:
        one_d = (ifm[0] == 1 and k[0] == 1) or (ifm[1] == 1 and k[1] == 1)
        lanes = a.get_int("PE", 1) if one_d else ch  # 2D: a word holds every channel (the layer's stream)
        nf = a.divides("PE", lanes, "NumChannels", ch)
        cycles = ifm[0] * ifm[1] * nf
        depth = pool_out_dim(a, ifm[1], k[1], k[1], ceil_mode) * nf
        width = lanes * dtype.bitwidth()
        kind, count, _ = best_primitive(width, depth, BRAM_OR_LUTRAM) if depth > 1 else ("REG", 0, 0)
        buffer = ModuleEstimate(
            "max_buffer",
            lut=count if kind == "LUTRAM" else 0,
            ff=width if kind == "REG" else 0,
            bram_18k=count if kind == "BRAM18" else 0,
        )
        return layer_from_modules(
            cycles, [ModuleEstimate("comparators", cycles=cycles, lut=2 * width, ff=width), buffer]
        )
    if ifm[1] == 1:
        ifm, k = ifm[::-1], k[::-1]
    if ifm[0] == 1 and k[0] == 1:
        pe = a.get_int("PE", 1)
        nf = a.divides("PE", pe, "NumChannels", ch)
        ofm = pool_out_dim(a, ifm[1], k[1], k[1], ceil_mode)
        cycles, lanes, depth = ofm * nf * (k[1] + 1), pe, nf
    else:
        cycles = int(ifm[0] * ifm[1] * (1 + 1 / (k[0] * k[1])))
        lanes, depth = ch, pool_out_dim(a, ifm[1], k[1], k[1], ceil_mode)
    width = lanes * dtype.bitwidth()
    kind, count, _ = best_primitive(width, depth, BRAM_OR_LUTRAM)
    buffer = ModuleEstimate(
        "max_buffer", lut=count if kind == "LUTRAM" else 0, bram_18k=count if kind == "BRAM18" else 0
    )
    modules = [ModuleEstimate("comparators", cycles=cycles, lut=2 * width, ff=width), buffer]
    return layer_from_modules(cycles, modules)


def maxpool_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_maxpool`` (word width, LUT-held row of running maxima) for the fitted model."""
    c, pe = int(a["NumChannels"]), int(a["PE"])
    w = int(a["ImgDim"][1]) // int(a["PoolDim"][1])
    width = pe * fit.bits(a["dataType"])
    return {"const": 1.0, "width": float(width), "buf_lut": fit.lutmem(width, w * c // pe)}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    StreamingMaxPool,
    lambda a, be, sp, part: estimate_streaming_maxpool(a, emitted=be == EMITTED),
    maxpool_program,
    2,
    (f"{TRANSFORMS_HW}:InferStreamingMaxPool",),
    f"{CODEGEN_HLS}.streamingmaxpool:maxpool_code",
    "pool.hpp",
    rtl=f"{CODEGEN_RTL}.streamingmaxpool:maxpool_rtl",
    rtl_core="qnncc_maxpool.v",
    fit_features=maxpool_fit_features,
)
