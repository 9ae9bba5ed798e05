"""finn-plus's elementwise binary HW ops (``ElementwiseAdd``, ``ElementwiseGreater``, ...).

Semantics (finn-plus ``src/finn/custom_op/fpgadataflow/elementwise_binary.py``):
numpy broadcasting of ``lhs [lhs_shape]`` and ``rhs [rhs_shape]`` to
``out_shape``; integer operands are computed in int64, the result is a float
tensor (logical and comparison ops give 0/1). finn-plus 1.6's Python model of
``ElementwiseMinimum`` computes the maximum; qnncc computes the minimum, as
its HLS code does. No HLS code, perf model or cycle pattern in qnncc yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext, float_type


def datatype_attr(op: CustomOp, name: str) -> DataType:
    """Datatype named by attribute ``name`` of ``op``.

    Raises:
        UnsupportedOpError: naming the node and the attribute.
    """
    try:
        return DataType.from_name(op.attrs[name])
    except Exception:
        raise UnsupportedOpError(f"{op.describe()}: {name}={op.attrs[name]!r} is not a datatype") from None


#: Elementwise op name -> (numpy function, ONNX op, kind: "arith", "logic", "compare" or "bitwise").
ELEMENTWISE_OPS: dict[str, tuple[Any, str, str]] = {
    "Add": (np.add, "Add", "arith"),
    "Sub": (np.subtract, "Sub", "arith"),
    "Mul": (np.multiply, "Mul", "arith"),
    "Div": (np.divide, "Div", "arith"),
    "Maximum": (np.maximum, "Max", "arith"),
    "Minimum": (np.minimum, "Min", "arith"),
    "And": (np.logical_and, "And", "logic"),
    "Or": (np.logical_or, "Or", "logic"),
    "Xor": (np.logical_xor, "Xor", "logic"),
    "Equal": (np.equal, "Equal", "compare"),
    "Less": (np.less, "Less", "compare"),
    "LessOrEqual": (np.less_equal, "LessOrEqual", "compare"),
    "Greater": (np.greater, "Greater", "compare"),
    "GreaterOrEqual": (np.greater_equal, "GreaterOrEqual", "compare"),
    "BitwiseAnd": (np.bitwise_and, "BitwiseAnd", "bitwise"),
    "BitwiseOr": (np.bitwise_or, "BitwiseOr", "bitwise"),
    "BitwiseXor": (np.bitwise_xor, "BitwiseXor", "bitwise"),
}


class ElementwiseBinary(CustomOp):
    """finn-plus ``Elementwise<Op>``: inputs ``(lhs, rhs)``, one broadcast output."""

    operation: ClassVar[str] = ""
    num_inputs = (2,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "lhs_dtype": AttrSpec("s", required=True),
        "rhs_dtype": AttrSpec("s", required=True),
        "out_dtype": AttrSpec("s", required=True),
        "lhs_shape": AttrSpec("ints", default=[1]),
        "rhs_shape": AttrSpec("ints", default=[1]),
        "out_shape": AttrSpec("ints", default=[1]),
        "PE": AttrSpec("i", default=1),
    }

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        func, _, kind = ELEMENTWISE_OPS[self.operation]
        ft = float_type(*inputs)
        lhs, rhs = (
            np.asarray(v).astype(np.int64) if datatype_attr(self, n).is_integer() else np.asarray(v, ft)
            for v, n in zip(inputs, ("lhs_dtype", "rhs_dtype"), strict=True)
        )
        if kind == "bitwise" and not (lhs.dtype.kind == "i" and rhs.dtype.kind == "i"):
            raise ExecutionError(f"{self.describe()}: bitwise operations need integer datatypes")
        try:
            out = func(lhs, rhs)
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None
        return [np.asarray(out).astype(ft)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        _, onnx_op, kind = ELEMENTWISE_OPS[self.operation]
        lhs, rhs = self.node.input[0], self.node.input[1]
        out = self.node.output[0]
        float_to = TensorProto.DOUBLE if ctx.float_dtype == np.float64 else TensorProto.FLOAT
        if kind == "arith":
            ints = datatype_attr(self, "lhs_dtype").is_integer() and datatype_attr(self, "rhs_dtype").is_integer()
            if onnx_op == "Div" and ints:  # int64 true division, as numpy
                lhs, rhs = (ctx.op("Cast", [t], to=TensorProto.DOUBLE) for t in (lhs, rhs))
                ctx.op("Cast", [ctx.op("Div", [lhs, rhs])], out, to=float_to)
                return
            ctx.op(onnx_op, [lhs, rhs], out)
            return
        if kind == "logic":
            lhs, rhs = (ctx.op("Cast", [t], to=TensorProto.BOOL) for t in (lhs, rhs))
        elif kind == "bitwise":
            if ctx.opset < 18:
                raise UnsupportedOpError(f"{self.describe()}: the fast path needs opset >= 18 for {onnx_op}")
            lhs, rhs = (ctx.op("Cast", [t], to=TensorProto.INT64) for t in (lhs, rhs))
        if onnx_op in ("LessOrEqual", "GreaterOrEqual") and ctx.opset < 12:
            strict = ctx.op("Greater" if onnx_op == "LessOrEqual" else "Less", [lhs, rhs])
            result = ctx.op("Not", [strict])
        else:
            result = ctx.op(onnx_op, [lhs, rhs])
        ctx.op("Cast", [result], out, to=float_to)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Add", list(self.node.input), [self.node.output[0]])

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [datatype_attr(self, "out_dtype")]


def _elementwise_class(name: str) -> type[ElementwiseBinary]:
    return type(f"Elementwise{name}", (ElementwiseBinary,), {"op_type": f"Elementwise{name}", "operation": name})


ELEMENTWISE_LAYERS: tuple[type[ElementwiseBinary], ...] = tuple(_elementwise_class(n) for n in ELEMENTWISE_OPS)
