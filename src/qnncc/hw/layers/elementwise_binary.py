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
:mod:`qnncc.codegen.hls.layers.elementwise_binary`; cost model and cycle pattern below.
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
from qnncc.hw.layers.descriptor import CODEGEN_HLS, FINN_IMPORT, Estimator, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.memory import memory_module
from qnncc.hw.sim.patterns import Program, program_from_runs, runs_from_masks

from .base import HWLayer, divisors
from .broadcast import WalkPlan, walk_plan

#: Why finn-plus's generic ops have no RTL builder.
NO_RTL_FINN_PLUS = "finn-plus generic op: the RTL library has no core for it yet; it builds with HLS"


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
    finn_impl_styles = ("hls", "rtl")
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
    attrs = {"op_type": f"Elementwise{name}", "operation": name, "__module__": __name__}
    return type(f"Elementwise{name}", (ElementwiseBinary,), attrs)


ELEMENTWISE_LAYERS: tuple[type[ElementwiseBinary], ...] = tuple(_elementwise_class(n) for n in ELEMENTWISE_OPS)


def elementwise_program(layer: HWLayer, lat: int) -> Program:
    """A write per output word; each streamed operand read as the walk reads it (``elementwise_binary.hpp``).

    A stream of the output's shape is read every iteration, a broadcast one at the first use of
    each of its words (:meth:`.broadcast.Operand.reads`), a constant never.
    """
    if not isinstance(layer, ElementwiseBinary):
        raise UnsupportedOpError(f"{layer.describe()}: not an elementwise layer")
    plan = layer.walk()
    streams = layer.stream_operands()
    rmask = np.zeros(plan.iterations, dtype=np.int64)
    for port, operand in enumerate(streams):
        rmask |= plan.operands[operand].reads(plan.dims).astype(np.int64) << port
    return program_from_runs(runs_from_masks(rmask, np.ones_like(rmask)), len(streams), 1, lat)


#: Operations costing a comparator/gate per input bit (the rest a carry chain of the output's width).
_COMPARE = frozenset(op for op, (_, _, kind) in ELEMENTWISE_OPS.items() if kind in ("compare", "logic"))


def estimate_elementwise(a: Attrs, operation: str) -> LayerEstimate:
    """ElementwiseBinary ``operation`` (``Add``, ``Mul``, ``Greater``, ...) with broadcasting.

    Cycles: ``prod(out_shape[:-1]) * out_shape[-1] / PE`` (finn-plus ``elementwise_binary.py``
    ``get_exp_cycles``; qnncc's loop takes the same). FINN has no resource estimate for it
    (``HWCustomOp``'s default 0); qnncc's model of ``elementwise_binary.hpp``: ``PE`` operators
    (multipliers ``lhs_bits * rhs_bits`` LUTs each, comparisons and logic the wider input's bits,
    the rest a carry chain of the output's width), an output register, and per operand a
    constant table (``lhs_style``/``rhs_style`` ``"const"``) or, for a broadcast stream, a buffer
    of its words (:func:`qnncc.hw.perf.memory.memory_module`).
    """
    out = a.get_ints("out_shape")
    if not out or min(out) < 1:
        raise a.error(f"attribute 'out_shape' must be a non-empty shape of positive sizes, got {list(out)}")
    pe = a.get_int("PE", 1)
    cycles = prod(out[:-1]) * a.divides("PE", pe, "out_shape[-1]", out[-1])
    dts = [a.get_dtype("lhs_dtype"), a.get_dtype("rhs_dtype")]
    obits = a.get_dtype("out_dtype").bitwidth()
    ibits = max(dt.bitwidth() for dt in dts)
    if operation == "Mul":
        per_lane = dts[0].bitwidth() * dts[1].bitwidth()
    else:
        per_lane = ibits if operation in _COMPARE else max(obits, ibits + 1)
    modules = [ModuleEstimate("operators", cycles=cycles, lut=pe * per_lane, ff=pe * obits)]
    for side, dt in zip(("lhs", "rhs"), dts, strict=True):
        shape = tuple(a.get_ints(f"{side}_shape", [1]))
        shape = (1,) * (len(out) - len(shape)) + shape
        elems = 1 if shape[-1] == 1 and out[-1] > 1 else pe
        const = a.get_str(f"{side}_style", "input", choices=("input", "const")) == "const"
        broadcast = any(s == 1 and o > 1 for s, o in zip(shape[1:], out[1:], strict=True))
        if const or broadcast:
            words = prod(shape[1:]) // elems
            modules.append(memory_module(f"{side}_{'table' if const else 'buffer'}", elems * dt.bitwidth(), words))
    modules.append(ModuleEstimate("control", cycles=cycles, lut=4 * ceil_log2(cycles), ff=ceil_log2(cycles)))
    return layer_from_modules(cycles, modules)


def _estimator(operation: str) -> Estimator:
    """The descriptor's estimate of ``Elementwise<operation>``."""
    return lambda a, be, sp, part: estimate_elementwise(a, operation)


#: Every facet of each ``Elementwise<Op>`` layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTORS: tuple[LayerDescriptor, ...] = tuple(
    LayerDescriptor(
        cls,
        _estimator(cls.operation),
        elementwise_program,
        3,  # operand fetch (read, buffer or table), operation, write
        (),
        f"{CODEGEN_HLS}.elementwise_binary:elementwise_code",
        "elementwise_binary.hpp",
        imported_by=FINN_IMPORT,
        no_rtl=NO_RTL_FINN_PLUS,
    )
    for cls in ELEMENTWISE_LAYERS
)
