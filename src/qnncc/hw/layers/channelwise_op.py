"""ChannelwiseOp: one per-channel parameter applied to every element (FINN ``ChannelwiseOp``).

Semantics, for ``x [..., C]`` and parameters ``p [C]`` (``NumChannels = C``),
as finn-hlslib's ``ChannelWiseOperation``, which evaluates ``Func(p[c], x)``:

* ``add``: ``y = x + p[c]``;  ``mul``: ``y = x * p[c]`` (FINN's Python model);
* ``cmp_le``: ``y = 1 if p[c] <= x else 0`` (hlslib ``comp::less_equal(p, x)``);
* ``cmp_ge``: ``y = 1 if p[c] >= x else 0`` (hlslib ``comp::greater_equal(p, x)``).

FINN's Python model implements only ``add`` and ``mul``; the comparisons
follow the HLS argument order, so ``cmp_le`` is true where ``x >= p``.
Datatypes: ``inputDataType``, ``paramDataType``, ``outputDataType`` (FINN).

Folding: ``PE`` channels per word (``PE`` divides ``C``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from onnx import TensorProto
from typing_extensions import override

from qnncc.core.errors import ExecutionError
from qnncc.custom_op.base import AttrSpec, LoweringContext, float_type
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.params import param_memory_hls
from qnncc.hw.sim.patterns import read_write_each_program

from ._util import parse_datatype, positive
from .base import ChannelwiseLayer, hw_attributes

FUNCS = frozenset({"add", "mul", "cmp_le", "cmp_ge"})


class ChannelwiseOp(ChannelwiseLayer):
    """Per-channel add/mul/compare; inputs ``(x [..., C], p [C])``, output ``[..., C]``."""

    op_type = "ChannelwiseOp"
    finn_legacy_names = ("ChannelwiseOp_Batch",)
    finn_impl_styles = ("hls",)
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        Func=AttrSpec("s", default="cmp_le", allowed=FUNCS),
        PE=AttrSpec("i", default=1),
        NumChannels=AttrSpec("i", required=True),
        paramDataType=AttrSpec("s", required=True),
        numInputVectors=AttrSpec("ints", default=[1]),
        ram_style=AttrSpec("s", default="distributed", allowed=frozenset({"distributed", "block"})),
    )
    num_inputs = (2,)
    num_outputs = (1,)

    @override
    def validate(self) -> None:
        positive(self, "NumChannels")
        for name in ("inputDataType", "paramDataType", "outputDataType"):
            parse_datatype(self, name)
        super().validate()

    def _params(self, value: np.ndarray) -> np.ndarray:
        channels = int(self.attrs["NumChannels"])
        if value.size != channels:
            raise ExecutionError(f"{self.describe()}: {value.size} parameters for {channels} channels")
        return np.asarray(value, float_type(value)).reshape(channels)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        ft = float_type(*inputs)
        x, p = np.asarray(inputs[0], ft), self._params(np.asarray(inputs[1], ft))
        func = self.attrs["Func"]
        if func == "add":
            return [x + p]
        if func == "mul":
            return [x * p]
        hit = (p <= x) if func == "cmp_le" else (p >= x)
        return [hit.astype(ft)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, out = self.node.input[0], self.node.output[0]
        p = self._params(ctx.require_const(self, 1, "parameters"))
        func = self.attrs["Func"]
        if func in ("add", "mul"):
            ctx.op(func.capitalize(), [x, ctx.const(p, hint="params")], out)
            return
        if func == "cmp_le":  # p <= x  <=>  x >= p
            hit = ctx.greater_equal(x, ctx.const(p, hint="params"))
        else:  # p >= x  <=>  -x >= -p
            hit = ctx.greater_equal(ctx.op("Neg", [x]), ctx.const(-p, hint="params"))
        ctx.op("Cast", [hit], out, to=TensorProto.FLOAT)


def estimate_channelwise(a: Attrs) -> LayerEstimate:
    """ChannelwiseOp: per-channel ``add``/``mul``/``cmp_le``/``cmp_ge`` with a parameter.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN
    ``channelwise_op.py`` ``get_exp_cycles``). Resources: FINN
    ``channelwise_op_hls.py`` (same model as HLS thresholding, see
    :func:`param_memory_hls`).
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    a.get_str("Func", "cmp_le", choices=("cmp_le", "cmp_ge", "add", "mul"))
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    idt, odt = a.get_dtype("inputDataType"), a.get_dtype("outputDataType")
    a.get_dtype("paramDataType")
    control = ModuleEstimate("control", cycles=cycles, ff=pe * (idt.bitwidth() + odt.bitwidth()) + ceil_log2(fold))
    return layer_from_modules(cycles, [control, *param_memory_hls(a, pe, fold, idt.bitwidth(), cycles)])


def channelwise_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_channelwise`` (adders or multipliers, LUT-held parameters) for the fitted model."""
    c, pe = int(a["NumChannels"]), int(a["PE"])
    ib, pb = fit.bits(a["inputDataType"]), fit.bits(a["paramDataType"])
    mul = a.get("Func", "add") == "mul"
    return {
        "const": 1.0,
        "add": 0.0 if mul else float(pe * (max(ib, pb) + 1)),
        "mul": float(pe * ib * pb) if mul else 0.0,
        "pmem_lut": fit.lutmem(pe * pb, c // pe) if fit.distributed(a, "distributed") else 0.0,
        "out": float(pe * fit.bits(a["outputDataType"])),
    }


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    ChannelwiseOp,
    lambda a, be, sp, part: estimate_channelwise(a),
    read_write_each_program,
    2,
    (f"{TRANSFORMS_HW}:InferChannelwiseLinearLayer",),
    f"{CODEGEN_HLS}.channelwise_op:channelwise_code",
    "channelwise.hpp",
    rtl=f"{CODEGEN_RTL}.channelwise_op:channelwise_rtl",
    rtl_core="qnncc_channelwise.v",
    fit_features=channelwise_fit_features,
)
