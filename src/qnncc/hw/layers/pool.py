"""Pool: a reduction over the windows of a depthwise sliding window generator (FINN ``Pool``).

Semantics (FINN ``Pool`` with ``Function = "MaxPool"``): the input
``[N, OH, OW, K*C]`` (``OutImgDims = [OH, OW]``, ``KernelSize = [kh, kw]``,
``K = kh*kw``, ``Channels = C``) is the output of a
:class:`~.convolutioninputgenerator.ConvolutionInputGenerator` with
``depthwise = 1``, each pixel's window in Im2Col ``(i, j, c)`` order; the
output ``[N, OH, OW, C]`` holds the maximum of each channel over the ``K``
window positions. With an :class:`~.fmpadding.FMPadding` in front this is
any ONNX ``MaxPool`` (overlapping windows, strides, padding) on data whose
datatype minimum is the padding value (FINN pads max pools with the
datatype's minimum; qnncc's FMPadding pads zeros, so unsigned data).

Folding: ``PE`` channels per word on both streams (``PE`` divides ``C``);
the input arrives as ``K`` groups of ``C/PE`` words per pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.sim.patterns import Program, program_from_runs

from ._util import PassThroughType, pair, parse_datatype, positive, stream_attributes
from .base import divisors
from .finn_plus import Pool as FinnPlusPool

#: Reductions with a HW implementation; finn-plus's ``AvgPool``, ``AccPool`` and ``QuantAvgPool``
#: execute with finn-plus semantics (:class:`.finn_plus.Pool`) but have no HLS code yet.
FUNCTIONS = frozenset({"MaxPool"})
FINN_FUNCTIONS = frozenset({"MaxPool", "AvgPool", "AccPool", "QuantAvgPool"})


def window_max(x: np.ndarray, positions: int, channels: int) -> np.ndarray:
    """Maximum over the window positions of ``x [..., positions * channels]`` in ``(position, c)`` order.

    Returns:
        ``[..., channels]``.
    """
    return x.reshape(*x.shape[:-1], positions, channels).max(axis=-2)


class Pool(PassThroughType):
    """Window reduction; input ``[N, OH, OW, kh*kw*C]``, output ``[N, OH, OW, C]``."""

    datatype_attr = "InputDataType"

    op_type = "Pool"
    folding_attrs = ("PE",)
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"InputDataType": AttrSpec("s", required=True), "OutputDataType": AttrSpec("s", default="")},
        Channels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        KernelSize=AttrSpec("ints", required=True),
        Function=AttrSpec("s", default="MaxPool", allowed=FINN_FUNCTIONS),
        OutImgDims=AttrSpec("ints", required=True),
        BatchSize=AttrSpec("i", default=1),
        AccumBits=AttrSpec("i", default=0),
        Size=AttrSpec("i", default=1),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    def is_max(self) -> bool:
        """Whether the reduction is ``MaxPool`` (the one with a HW implementation)."""
        return self.attrs["Function"] == "MaxPool"

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        if not self.is_max() and self.attrs["OutputDataType"]:
            return parse_datatype(self, "OutputDataType")
        return self.input_datatype()

    def positions(self) -> int:
        """Window positions ``kh * kw``."""
        kh, kw = pair(self, "KernelSize")
        return kh * kw

    @override
    def validate(self) -> None:
        positive(self, "Channels", "BatchSize")
        pair(self, "OutImgDims")
        self.positions()
        dt = parse_datatype(self, "InputDataType")
        if self.is_max() and self.attrs["OutputDataType"] and parse_datatype(self, "OutputDataType") != dt:
            raise UnsupportedOpError(f"{self.describe()}: a max pool's OutputDataType must equal InputDataType")
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"PE": divisors(int(self.attrs["Channels"]))}

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "OutImgDims"), self.positions() * int(self.attrs["Channels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "OutImgDims"), int(self.attrs["Channels"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"])

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not self.is_max():
            return FinnPlusPool(self.node).execute(inputs)
        x = np.asarray(inputs[0])
        self.check_nhwc_input(x)
        return [window_max(x, self.positions(), int(self.attrs["Channels"]))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """``Reshape [N, OH, OW, K, C]`` then ``ReduceMax`` over the window axis (finn-plus's lowering otherwise)."""
        if not self.is_max():
            FinnPlusPool(self.node).lower(ctx)
            return
        k, c = self.positions(), int(self.attrs["Channels"])
        shaped = ctx.op("Reshape", [self.node.input[0], ctx.const([0, 0, 0, k, c], np.int64, "window_shape")])
        if ctx.opset >= 18:
            ctx.op("ReduceMax", [shaped, ctx.const([3], np.int64, "axes")], self.node.output[0], keepdims=0)
        else:
            ctx.op("ReduceMax", [shaped], self.node.output[0], axes=[3], keepdims=0)


def pool_program(layer: HWLayer, lat: int) -> Program:
    """Pool (MaxPool): K*C/PE reads per output pixel, the last C/PE of them with a write (``window_max``)."""
    _, oh, ow, c = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["KernelSize"])
    cf = c // int(layer.attrs["PE"])
    per_pixel = [(1, 0, (kh * kw - 1) * cf), (1, 1, cf)] if kh * kw > 1 else [(1, 1, cf)]
    return program_from_runs(per_pixel, 1, 1, lat, repeat=oh * ow)


def estimate_pool(a: Attrs) -> LayerEstimate:
    """Pool (FINN ``Pool_Batch``): max/average/accumulate over depthwise SWG windows.

    Cycles: ``(Channels * K_h*K_w / PE) * OH * OW * BatchSize`` (FINN
    ``pool.py`` ``get_exp_cycles``). FINN has no resource estimate; qnncc's
    model: per PE lane a comparator and mux (MaxPool, ``2 * bits`` LUTs) or
    an adder (``acc`` LUTs) and an ``acc``-bit register, ``acc = AccumBits``
    or ``in_bits + ceil(log2(K_h*K_w))``.
    """
    ch, pe = a.get_int("Channels"), a.get_int("PE", 1)
    a.divides("PE", pe, "Channels", ch)
    k_prod = prod(a.get_ints("KernelSize"))
    odims = prod(a.get_ints("OutImgDims"))
    batch = a.get_int("BatchSize", 1)
    func = a.get_str("Function", choices=("MaxPool", "AvgPool", "AccPool", "QuantAvgPool"))
    in_name = "inputDataType" if a.has("inputDataType") else "InputDataType"
    in_bits = a.get_dtype(in_name).bitwidth()
    cycles = (ch * k_prod // pe) * odims * batch
    if func == "MaxPool":
        lane_lut, acc = 2 * in_bits, in_bits
    else:
        acc = a.get_int("AccumBits", 0, minimum=0) or in_bits + ceil_log2(k_prod)
        lane_lut = acc
    modules = [
        ModuleEstimate("reduce", cycles=cycles, lut=pe * lane_lut, ff=pe * acc),
        ModuleEstimate("control", cycles=cycles, lut=2 * ceil_log2(k_prod * ch // pe), ff=ceil_log2(k_prod * ch // pe)),
    ]
    return layer_from_modules(cycles, modules)


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    Pool,
    lambda a, be, sp, part: estimate_pool(a),
    pool_program,
    2,
    (f"{TRANSFORMS_HW}:InferPool",),
    f"{CODEGEN_HLS}.pool:pool_code",
    "pool.hpp",
    rtl=f"{CODEGEN_RTL}.pool:pool_rtl",
    rtl_core="qnncc_pool.v",
    no_fit="no Yosys measurements of qnncc_pool yet: the fitted model keeps FINN's formula",
)
