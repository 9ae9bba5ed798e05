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

``inputOrder = "pe_interleaved"`` (a qnncc attribute the FINN-ONNX import sets, see
:func:`qnncc.custom_op.finn_names.mark_finn_vvau_input_order`) reads the input the way
FINN's Python model of a VVAU does when no window generator feeds it: the window axis
ordered ``[C/PE, kh*kw, PE]``. Such a VVAU executes like FINN; it has no HLS/RTL code
(qnncc's hardware reads the Im2Col order its own window generator writes).
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
from .mvau import MEM_MODES, lower_activation, threshold_activation

#: ``inputOrder`` values: windows in Im2Col order ``(i, j, c)``, or FINN's ``[C/PE, kh*kw, PE]``.
IM2COL, PE_INTERLEAVED = "im2col", "pe_interleaved"


#: Why a VVAU reading FINN's PE-interleaved order has no generated hardware.
INTERLEAVED_NO_HW = (
    "inputOrder='pe_interleaved' (FINN's order of a VVAU fed by no window generator) has no hardware: "
    "qnncc's VVAU reads the Im2Col order of its window generator"
)


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
        inputOrder=AttrSpec("s", default=IM2COL, allowed=frozenset({IM2COL, PE_INTERLEAVED})),
    )
    num_inputs = (2, 3)
    num_outputs = (1,)

    @property
    def has_thresholds(self) -> bool:
        """Whether the layer thresholds its accumulators (``noActivation == 0``)."""
        return not self.attrs["noActivation"]

    def interleaved_input(self) -> bool:
        """Whether the input is in FINN's PE-interleaved window order (``inputOrder``, with ``PE < Channels``)."""
        return self.attrs["inputOrder"] == PE_INTERLEAVED and int(self.attrs["PE"]) < int(self.attrs["Channels"])

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

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        """PE divides Channels, SIMD divides ``kh*kw``; an input in FINN's PE-interleaved order fixes PE (its order)."""
        pe = divisors(int(self.attrs["Channels"]))
        if self.attrs["inputOrder"] == PE_INTERLEAVED and self.attrs["PE"] in pe:
            pe = [int(self.attrs["PE"])]
        return {"PE": pe, "SIMD": divisors(self.kernel_size())}

    @override
    def throughput_options(self) -> dict[str, list[int | str]]:
        """``resType`` lut or dsp for wide multipliers (:func:`.base.dsp_options`)."""
        weights = parse_datatype(self, "weightDataType").bitwidth()
        return dsp_options(weights, parse_datatype(self, "inputDataType").bitwidth())

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "Dim"), self.kernel_size() * int(self.attrs["Channels"]))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return (1, *pair(self, "Dim"), int(self.attrs["Channels"]))

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["SIMD"]) * int(self.attrs["PE"])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"])

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
        lead = x.shape[:-1]
        if self.interleaved_input():  # [C/PE, k, PE] -> [k, C/PE, PE]
            pe = int(self.attrs["PE"])
            x = x.reshape(*lead, channels // pe, k, pe).swapaxes(-2, -3)
        windows = x.astype(np.float64).reshape(*lead, k, channels)
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
        x = self.node.input[0]
        if self.interleaved_input():
            pe = int(self.attrs["PE"])
            split = ctx.op("Reshape", [x, ctx.const([-1, oh, ow, channels // pe, k, pe], np.int64, "shape")])
            x = ctx.op("Transpose", [split], perm=[0, 1, 2, 4, 3, 5])
        windows = ctx.op("Reshape", [x, ctx.const([-1, oh, ow, k, channels], np.int64, "shape")])
        products = ctx.op("Mul", [windows, ctx.const(w, hint="weights")])
        acc = self.node.output[0] if not self.has_thresholds else ctx.fresh("acc")
        ctx.reduce_sum(products, 3, acc)
        if self.has_thresholds:
            lower_activation(self, ctx, acc, 4, 2)
