"""finn-plus's elementwise binary HW ops (``ElementwiseAdd``, ``ElementwiseGreater``, ...).

Semantics (finn-plus ``src/finn/custom_op/fpgadataflow/elementwise_binary.py``):
numpy broadcasting of ``lhs [lhs_shape]`` and ``rhs [rhs_shape]`` to
``out_shape``; integer operands are computed in int64, the result is a float
tensor (logical and comparison ops give 0/1). finn-plus 1.6's Python model of
``ElementwiseMinimum`` computes the maximum; qnncc computes the minimum, as
its HLS code does.

A HW layer (FINN's folding): ``PE`` elements of the output's last axis per
word (``PE`` divides ``out_shape[-1]``); an operand whose last axis is
broadcast (size 1) streams one element per word. Shapes of lower rank are
read left-padded with 1s (numpy broadcasting). An operand is a stream, or a constant
(an initializer) when its ``lhs_style``/``rhs_style`` is ``"const"`` (FINN's convention; the
FINN-ONNX import sets it from the graph); the stream methods (``input_datatype(i)``, ...) count
the streamed operands only, as the code generator's ports do. HLS code:
:mod:`qnncc.codegen.hls.layers.finn_plus`, cost model :mod:`qnncc.hw.perf.finn_plus`.
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

from .base import HWLayer, divisors
from .broadcast import WalkPlan, walk_plan


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


class ElementwiseBinary(HWLayer):
    """finn-plus ``Elementwise<Op>``: inputs ``(lhs, rhs)``, one broadcast output ``out_shape``."""

    operation: ClassVar[str] = ""
    folding_attrs = ("PE",)
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
        "lhs_style": AttrSpec("s", default="input", allowed=frozenset({"input", "const"})),
        "rhs_style": AttrSpec("s", default="input", allowed=frozenset({"input", "const"})),
        "ram_style": AttrSpec("s", default="auto"),
    }

    def _shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in self.attrs[name])

    @override
    def validate(self) -> None:
        for name in ("lhs_dtype", "rhs_dtype", "out_dtype"):
            datatype_attr(self, name)
        out, lhs, rhs = (self._shape(n) for n in ("out_shape", "lhs_shape", "rhs_shape"))
        try:
            broadcast = tuple(int(d) for d in np.broadcast_shapes(lhs, rhs))
        except ValueError:
            broadcast = ()
        if broadcast != out:
            raise UnsupportedOpError(
                f"{self.describe()}: lhs_shape {list(lhs)} and rhs_shape {list(rhs)} do not broadcast to "
                f"out_shape {list(out)}"
            )
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"PE": divisors(self._shape("out_shape")[-1])}

    def const_operands(self) -> tuple[bool, bool]:
        """Whether ``lhs``/``rhs`` is a constant (FINN's ``lhs_style``/``rhs_style`` ``"const"``), else a stream."""
        return (self.attrs["lhs_style"] == "const", self.attrs["rhs_style"] == "const")

    def stream_operands(self) -> list[int]:
        """Operand indices (0 lhs, 1 rhs) of the streamed inputs, in port order."""
        return [i for i, const in enumerate(self.const_operands()) if not const]

    def _operand(self, stream: int) -> int:
        """Operand of stream input ``stream`` (the stream methods below count streamed inputs only)."""
        streams = self.stream_operands()
        return streams[stream] if stream < len(streams) else stream

    def operand_shape(self, operand: int) -> tuple[int, ...]:
        """Shape of operand ``operand`` (0 lhs, 1 rhs) left-padded with 1s to the output's rank."""
        shape = self._shape(("lhs_shape", "rhs_shape")[operand])
        return (1,) * (len(self._shape("out_shape")) - len(shape)) + shape

    def operand_datatype(self, operand: int) -> DataType:
        """Datatype of operand ``operand`` (0 lhs, 1 rhs)."""
        return datatype_attr(self, ("lhs_dtype", "rhs_dtype")[operand])

    def walk(self) -> WalkPlan:
        """How the hardware walks the output and the operands (:mod:`.broadcast`).

        Raises:
            UnsupportedOpError: naming the node, for broadcasting the hardware does not walk.
        """
        try:
            return walk_plan(
                self._shape("out_shape"),
                (self.operand_shape(0), self.operand_shape(1)),
                int(self.attrs["PE"]),
                self.const_operands(),
            )
        except UnsupportedOpError as err:
            raise UnsupportedOpError(f"{self.describe()}: {err}") from None

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return self.operand_datatype(self._operand(index))

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        return datatype_attr(self, "out_dtype")

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        """Shape of stream input ``index``, left-padded with 1s to the output's rank."""
        return self.operand_shape(self._operand(index))

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape("out_shape")

    def broadcasts_last_axis(self, operand: int) -> bool:
        """Whether operand ``operand`` has a size-1 last axis the output repeats (one element per word)."""
        return self.operand_shape(operand)[-1] == 1 and self._shape("out_shape")[-1] > 1

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return 1 if self.broadcasts_last_axis(self._operand(index)) else int(self.attrs["PE"])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["PE"])

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
