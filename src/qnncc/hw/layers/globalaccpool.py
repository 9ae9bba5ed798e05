"""GlobalAccPool: per-channel sum over the whole feature map (FINN ``GlobalAccPool``).

Semantics (FINN): ``x [N, H, W, C]`` (``numInputVectors = [N, H, W]``,
``NumChannels = C``) becomes ``y[n, 0, 0, c] = sum_{h,w} x[n, h, w, c]``,
shape ``[N, 1, 1, C]``. A global average pool is this layer followed by a
``Mul`` by ``1/(H*W)``, which streamlining absorbs into the next thresholds.

Output datatype: the smallest integer type holding ``[H*W*min, H*W*max]`` of
the input type. (FINN derives it from one extreme only, ``H*W*min`` for
signed inputs, which is one value short for symmetric types such as
BIPOLAR; the range here is always sufficient.)

Folding: ``PE`` channels per word (``PE`` divides ``C``); ``H*W*C/PE`` input
words per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext, float_type
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import EMITTED, Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.memory import best_primitive
from qnncc.hw.perf.window import BRAM_OR_LUTRAM
from qnncc.hw.sim.patterns import Program, program_from_runs

from ._util import parse_datatype, positive, stream_attributes
from .base import ChannelwiseLayer, vectors


class GlobalAccPool(ChannelwiseLayer):
    """Sum over H and W; input ``x [N, H, W, C]``, output ``[N, 1, 1, C]``."""

    op_type = "GlobalAccPool"
    finn_legacy_names = ("GlobalAccPool_Batch",)
    finn_impl_styles = ("hls",)
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"inputDataType": AttrSpec("s", required=True)},
        NumChannels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        numInputVectors=AttrSpec("ints", required=True),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    @override
    def validate(self) -> None:
        positive(self, "NumChannels")
        vecs = vectors(self.attrs)
        if len(vecs) != 3 or min(vecs) < 1:
            raise UnsupportedOpError(f"{self.describe()}: numInputVectors={vecs} must be [N, H, W]")
        if not parse_datatype(self, "inputDataType").is_integer():
            raise UnsupportedOpError(f"{self.describe()}: inputDataType must be an integer type")
        super().validate()

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return DataType.from_name(self.attrs["inputDataType"])

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        idt = self.input_datatype()
        _, h, w = vectors(self.attrs)
        return DataType.smallest_for_range(h * w * idt.min(), h * w * idt.max())

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (vectors(self.attrs)[0], 1, 1, int(self.attrs["NumChannels"]))

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        self.check_nhwc_input(x)
        return [np.sum(x.astype(np.float64), axis=(1, 2), keepdims=True).astype(float_type(x))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """``ReduceSum`` over axes 1 and 2 (float32: exact while sums stay below ``2**24``)."""
        x, out = self.node.input[0], self.node.output[0]
        if ctx.opset >= 13:
            ctx.op("ReduceSum", [x, ctx.const([1, 2], np.int64, "axes")], out, keepdims=1)
        else:
            ctx.op("ReduceSum", [x], out, axes=[1, 2], keepdims=1)


def global_acc_pool_program(layer: HWLayer, lat: int) -> Program:
    """GlobalAccPool: H*W reads per channel fold, one write per fold at the end of the frame."""
    _, h, w, c = (int(d) for d in layer.normal_input_shape())
    cf = c // int(layer.attrs["PE"])
    return program_from_runs([(1, 0, (h * w - 1) * cf), (1, 1, cf)], 1, 1, lat)


def estimate_global_acc_pool(a: Attrs, *, emitted: bool = False) -> LayerEstimate:
    """GlobalAccPool: sum over all pixels per channel.

    Cycles: ``prod(numInputVectors) * C/PE + C/PE`` (FINN ``globalaccpool.py``
    ``get_exp_cycles``: read every input word, then emit the sums). FINN has
    no resource estimate; qnncc's model: ``PE`` adders of ``acc`` bits and a
    ``C/PE``-deep, ``PE * acc``-bit accumulator memory (least wasteful
    BRAM18/LUTRAM), ``acc = in_bits + ceil(log2(pixels))``. ``emitted``
    (qnncc's ``pool.hpp``): the sums leave with the last pixel's words, so
    ``prod(numInputVectors) * C/PE`` cycles.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    folds = a.divides("PE", pe, "NumChannels", ch)
    vecs = a.get_ints("numInputVectors", [1])
    cycles = prod(vecs) * folds + (0 if emitted else folds)
    pixels = prod(vecs[1:]) if len(vecs) > 1 else 1
    acc = a.get_dtype("inputDataType").bitwidth() + ceil_log2(pixels)
    kind, count, _ = best_primitive(pe * acc, folds, BRAM_OR_LUTRAM)
    modules = [
        ModuleEstimate("adders", cycles=cycles, lut=pe * acc, ff=pe * acc),
        ModuleEstimate(
            "accumulator_memory", lut=count if kind == "LUTRAM" else 0, bram_18k=count if kind == "BRAM18" else 0
        ),
    ]
    return layer_from_modules(cycles, modules)


def gap_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_gap`` (accumulators, LUT-held sums) for the fitted resource model."""
    c, pe = int(a["NumChannels"]), int(a["PE"])
    acc = fit.bits(a["inputDataType"]) + fit.clog2(fit.vectors(a))
    return {"const": 1.0, "acc": float(pe * acc), "buf_lut": fit.lutmem(pe * acc, c // pe)}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    GlobalAccPool,
    lambda a, be, sp, part: estimate_global_acc_pool(a, emitted=be == EMITTED),
    global_acc_pool_program,
    2,
    (f"{TRANSFORMS_HW}:InferGlobalAccPoolLayer",),
    f"{CODEGEN_HLS}.globalaccpool:global_acc_pool_code",
    "pool.hpp",
    rtl=f"{CODEGEN_RTL}.globalaccpool:global_acc_pool_rtl",
    rtl_core="qnncc_gap.v",
    fit_features=gap_fit_features,
)
