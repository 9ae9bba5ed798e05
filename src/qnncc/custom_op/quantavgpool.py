"""QuantAvgPool2d: Brevitas' quantized average pooling (QONNX ``QuantAvgPool2d``).

Semantics (QONNX ``custom_op/general/quantavgpool2d.py``): the sum of each
``kernel x kernel`` window (stride ``stride``, no padding) of an integer
input, shifted right (floor) by ``max(0, bitlen((2**ibits - 1) * kernel**2) - obits)``
bits — the truncation Brevitas' ``QuantAvgPool2d`` applies to the window sum.
``data_layout`` is ``NCHW`` (default) or ``NHWC``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext, float_type
from qnncc.custom_op.maxpool_nhwc import nhwc_pool_stand_in

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper


def avgpool_shift(ibits: int, obits: int, kernel: int) -> int:
    """Right shift of the window sum: accumulator bits minus output bits, at least 0 (QONNX ``get_shifts``)."""
    acc_bits = int((2**ibits - 1) * kernel * kernel).bit_length()
    return max(acc_bits - obits, 0)


class QuantAvgPool2d(CustomOp):
    """QONNX ``QuantAvgPool2d``: one input ``[N, C, H, W]`` (or NHWC), one output."""

    op_type = "QuantAvgPool2d"
    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "stride": AttrSpec("i", required=True),
        "kernel": AttrSpec("i", required=True),
        "ibits": AttrSpec("i", required=True),
        "obits": AttrSpec("i", required=True),
        "signed": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        "data_layout": AttrSpec("s", default="NCHW", allowed=frozenset({"NCHW", "NHWC"})),
    }

    def _shift(self) -> int:
        return avgpool_shift(int(self.attrs["ibits"]), int(self.attrs["obits"]), int(self.attrs["kernel"]))

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        if x.ndim != 4:
            raise ExecutionError(f"{self.describe()}: input of rank {x.ndim}, expected 4")
        nchw = x if self.attrs["data_layout"] == "NCHW" else x.transpose(0, 3, 1, 2)
        k, s = int(self.attrs["kernel"]), int(self.attrs["stride"])
        oh, ow = (nchw.shape[2] - k) // s + 1, (nchw.shape[3] - k) // s + 1
        windows = np.lib.stride_tricks.sliding_window_view(nchw.astype(np.int64), (k, k), axis=(2, 3))
        sums = windows[:, :, : (oh - 1) * s + 1 : s, : (ow - 1) * s + 1 : s].sum(axis=(-2, -1))
        y = np.floor_divide(sums, 2 ** self._shift())
        y = y if self.attrs["data_layout"] == "NCHW" else y.transpose(0, 2, 3, 1)
        return [y.astype(float_type(x))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """``AveragePool`` times ``kernel**2``, rounded (the exact window sum), divided by ``2**shift``, floored."""
        k, s = int(self.attrs["kernel"]), int(self.attrs["stride"])
        x = self.node.input[0]
        nhwc = self.attrs["data_layout"] == "NHWC"
        if nhwc:
            x = ctx.op("Transpose", [x], perm=[0, 3, 1, 2])
        avg = ctx.op("AveragePool", [x], kernel_shape=[k, k], strides=[s, s])
        sums = ctx.op("Round", [ctx.op("Mul", [avg, ctx.const(float(k * k))])])
        y = ctx.op("Floor", [ctx.op("Div", [sums, ctx.const(float(2 ** self._shift()))])])
        if nhwc:
            ctx.op("Transpose", [y], self.node.output[0], perm=[0, 2, 3, 1])
        else:
            ctx.op("Identity", [y], self.node.output[0])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        k, s = int(self.attrs["kernel"]), int(self.attrs["stride"])
        if self.attrs["data_layout"] == "NHWC":
            return nhwc_pool_stand_in(self.node, [k, k], [s, s], [0, 0, 0, 0])
        return helper.make_node(
            "AveragePool", [self.node.input[0]], [self.node.output[0]], kernel_shape=[k, k], strides=[s, s]
        )

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        bits = int(self.attrs["obits"])
        return [DataType.from_name(f"{'INT' if self.attrs['signed'] else 'UINT'}{bits}")]
