"""VVAU: the vector-vector-activation unit of depthwise convolutions (FINN ``VVAU``).

Semantics (FINN ``VectorVectorActivation``): the input ``x [N, OH, OW, kh*kw*C]``
holds windows in Im2Col order ``(i, j, c)`` (from a depthwise
:class:`~.convolutioninputgenerator.ConvolutionInputGenerator`), the weights
``W [C, 1, kh, kw]`` are the depthwise convolution's (``Kernel = [kh, kw]``,
``Channels = C``, ``Dim = [OH, OW]``), and

    ``acc[n, oh, ow, c] = sum_{i,j} x[n, oh, ow, (i*kw + j)*C + c] * W[c, 0, i, j]``,

optionally thresholded per channel as in the MVAU (thresholds ``[C, steps]``,
``y = count + ActVal``, or ``2*count - 1`` for a BIPOLAR output). This equals
the block-sparse ``MatMul`` that ``LowerConvsToMatMul`` emits for a depthwise
convolution. Unlike FINN's Python model, BIPOLAR inputs and weights are
multiplied as ±1 values (no XNOR-popcount form).

Folding: ``PE`` channels and ``SIMD`` kernel positions per cycle (``PE``
divides ``C``, ``SIMD`` divides ``kh*kw``); the input word carries
``SIMD*PE`` values, the output word ``PE``; one output pixel takes
``(C/PE)*(kh*kw/SIMD)`` cycles. In hardware the window generator
interleaves channels by PE; the tensor order here is the Im2Col order.
With ``SIMD = kh*kw`` and ``PE = C``, ``MMV`` pixels per cycle (:mod:`.mmv`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext, float_type

from ._util import BINARY_FLAG, RAM_STYLES, pair, parse_datatype, positive
from .base import HWLayer, divisors, dsp_options, hw_attributes
from .mmv import mmv_conflict, mmv_options
from .mvau import MEM_MODES, lower_activation, threshold_activation


class VVAU(HWLayer):
    """Depthwise MAC; inputs ``(x [N, OH, OW, kh*kw*C], W [C, 1, kh, kw], [T [C, steps]])``."""

    op_type = "VVAU"
    folding_attrs = ("PE", "SIMD")
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        PE=AttrSpec("i", default=1),
        SIMD=AttrSpec("i", default=1),
        Dim=AttrSpec("ints", required=True),
        Channels=AttrSpec("i", required=True),
        Kernel=AttrSpec("ints", required=True),
        resType=AttrSpec("s", default="auto", allowed=frozenset({"auto", "lut", "dsp"})),
        ActVal=AttrSpec("i", default=0),
        weightDataType=AttrSpec("s", required=True),
        accDataType=AttrSpec("s", default="INT32"),
        noActivation=AttrSpec("i", default=0, allowed=BINARY_FLAG),
        mem_mode=AttrSpec("s", default="internal_decoupled", allowed=MEM_MODES),
        ram_style=AttrSpec("s", default="auto", allowed=RAM_STYLES),
        runtime_writeable_weights=AttrSpec("i", default=0, allowed=BINARY_FLAG),
        MMV=AttrSpec("i", default=1),
    )
    num_inputs = (2, 3)
    num_outputs = (1,)

    @property
    def has_thresholds(self) -> bool:
        """Whether the layer thresholds its accumulators (``noActivation == 0``)."""
        return not self.attrs["noActivation"]

    def kernel_size(self) -> int:
        """``kh * kw``."""
        kh, kw = pair(self, "Kernel")
        return kh * kw

    @override
    def validate(self) -> None:
        positive(self, "Channels")
        pair(self, "Dim")
        self.kernel_size()
        for name in ("inputDataType", "weightDataType", "outputDataType", "accDataType"):
            parse_datatype(self, name)
        if len(self.node.input) != (3 if self.has_thresholds else 2):
            raise UnsupportedOpError(
                f"{self.describe()}: noActivation={self.attrs['noActivation']} needs "
                f"{2 if self.attrs['noActivation'] else 3} inputs, got {len(self.node.input)}"
            )
        super().validate()
        maxed = {"SIMD": self.kernel_size(), "PE": int(self.attrs["Channels"])}
        reason = mmv_conflict(self.attrs, maxed, self.pixels(), (self.instream_width(), self.outstream_width()))
        if reason:
            raise UnsupportedOpError(f"{self.describe()}: {reason}")

    @property
    def mmv(self) -> int:
        """Pixels per cycle (``MMV``, :mod:`.mmv`)."""
        return int(self.attrs["MMV"])

    def pixels(self) -> int:
        """Output pixels per frame, ``OH * OW``."""
        oh, ow = pair(self, "Dim")
        return oh * ow

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"PE": divisors(int(self.attrs["Channels"])), "SIMD": divisors(self.kernel_size())}

    @override
    def throughput_options(self) -> dict[str, list[int | str]]:
        """``resType`` lut or dsp for wide multipliers (:func:`.base.dsp_options`), and ``MMV``."""
        weights = parse_datatype(self, "weightDataType").bitwidth()
        options = dsp_options(weights, parse_datatype(self, "inputDataType").bitwidth())
        mmv = mmv_options(self.pixels())
        return {**options, "MMV": list(mmv)} if len(mmv) > 1 else options

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "Dim"), self.kernel_size() * int(self.attrs["Channels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "Dim"), int(self.attrs["Channels"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * int(self.attrs["PE"]) * self.mmv

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"]) * self.mmv

    def _kernel_by_channel(self, w: np.ndarray) -> np.ndarray:
        """Weights ``[C, 1, kh, kw]`` as ``[kh*kw, C]`` (row ``i*kw + j``)."""
        channels, k = int(self.attrs["Channels"]), self.kernel_size()
        if w.size != channels * k:
            shape = list(w.shape)
            raise ExecutionError(f"{self.describe()}: weights of shape {shape}, expected [{channels}, 1, kh, kw]")
        return np.ascontiguousarray(w.reshape(channels, k).T)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        ft = float_type(*inputs)
        x = np.asarray(inputs[0], ft)
        channels, k = int(self.attrs["Channels"]), self.kernel_size()
        if x.ndim != 4 or x.shape[-1] != k * channels:
            shape = list(x.shape)
            raise ExecutionError(f"{self.describe()}: input of shape {shape}, expected [N, OH, OW, {k}*{channels}]")
        w = self._kernel_by_channel(np.asarray(inputs[1], np.float64))
        windows = x.astype(np.float64).reshape(*x.shape[:-1], k, channels)
        acc = np.sum(windows * w, axis=-2).astype(ft)
        if not self.has_thresholds:
            return [acc]
        return [threshold_activation(self, acc, inputs[2])]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """``Reshape`` to ``[N, OH, OW, kh*kw, C]``, ``Mul`` by the ``[kh*kw, C]`` weights, ``ReduceSum``.

        Float32 sums, equal to :meth:`execute` for integer values whose partial
        sums stay below ``2**24`` in magnitude; beyond, the executors run the
        whole model in float64 (:mod:`qnncc.execution.precision`).
        """
        channels, k = int(self.attrs["Channels"]), self.kernel_size()
        oh, ow = pair(self, "Dim")
        w = self._kernel_by_channel(ctx.require_const(self, 1, "weights"))
        windows = ctx.op("Reshape", [self.node.input[0], ctx.const([-1, oh, ow, k, channels], np.int64, "shape")])
        products = ctx.op("Mul", [windows, ctx.const(w, hint="weights")])
        acc = self.node.output[0] if not self.has_thresholds else ctx.fresh("acc")
        ctx.reduce_sum(products, 3, acc)
        if self.has_thresholds:
            lower_activation(self, ctx, acc, 4, 2)
