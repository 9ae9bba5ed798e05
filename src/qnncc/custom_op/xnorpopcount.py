"""XnorPopcountMatMul: binary matrix product counting agreeing bits.

For binary operands ``a [.., M, K]`` and ``b [K, N]`` with values in {0, 1}
(0 encoding -1), the output is ``popcount(xnor(a, b))`` per dot product, which
equals ``(bipolar(a) @ bipolar(b) + K) / 2`` (FINN/QONNX ``XnorPopcountMatMul``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError
from qnncc.custom_op.base import CustomOp, LoweringContext, float_type

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper


def xnor_popcount_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Popcount of XNOR between rows of ``a`` ``[.., M, K]`` and columns of ``b`` ``[K, N]``.

    Raises:
        ValueError: if the inner dimensions differ.
    """
    k = a.shape[-1]
    if b.shape[0] != k:
        raise ValueError(f"inner dimensions differ: {a.shape[-1]} vs {b.shape[0]}")
    ft = float_type(a, b)
    bip = np.matmul(2 * a.astype(np.float64) - 1, 2 * b.astype(np.float64) - 1)
    return ((bip + k) * 0.5).astype(ft)


class XnorPopcountMatMul(CustomOp):
    """FINN ``XnorPopcountMatMul`` node: inputs ``(a, b)``, binary {0,1} values."""

    op_type = "XnorPopcountMatMul"
    num_inputs = (2,)
    num_outputs = (1,)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        try:
            ft = float_type(*inputs)
            return [xnor_popcount_matmul(np.asarray(inputs[0], ft), np.asarray(inputs[1], ft))]
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None

    @override
    def lower(self, ctx: LoweringContext) -> None:
        a, b = self.node.input[:2]
        two, one = ctx.const(2.0), ctx.const(1.0)
        bip_a = ctx.op("Sub", [ctx.op("Mul", [a, two]), one])
        bip_b = ctx.op("Sub", [ctx.op("Mul", [b, two]), one])
        weights = ctx.constants.get(b)
        prod = ctx.op("MatMul", [bip_a, bip_b])
        if weights is None:
            shape_b = ctx.op("Shape", [b])
            k_t = ctx.cast_float(ctx.op("Gather", [shape_b, ctx.const(0, np.int64)], axis=0))
        else:
            k_t = ctx.const(float(weights.shape[0]))
        ctx.op("Mul", [ctx.op("Add", [prod, k_t]), ctx.const(0.5)], self.node.output[0])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("MatMul", list(self.node.input[:2]), [self.node.output[0]])

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        shape = model.get_tensor_shape(self.node.input[1])
        if shape is None:
            return [DataType["FLOAT32"]]
        return [DataType.smallest_for_range(0, shape[0])]
