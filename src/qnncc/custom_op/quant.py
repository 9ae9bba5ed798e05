"""QONNX quantizers: ``Quant`` (IntQuant), ``BipolarQuant`` and ``Trunc``.

Semantics follow the QONNX operator specification (Pappalardo et al., "QONNX:
Representing Arbitrary-Precision Quantized Neural Networks", 2022, and
qonnx ``docs/qonnx-custom-ops``): ``Quant`` computes
``y = (round(clamp(x / scale + zeropt, min, max)) - zeropt) * scale``;
with ``bitwidth == 1`` and ``signed`` it is a sign function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import MAX_INT_BITS, DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext, float_type

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper

ROUNDING_MODES = frozenset(
    {"ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "ROUND_TO_ZERO", "HALF_UP", "HALF_DOWN"}
)


def min_int(signed: bool, narrow: bool, bits: int) -> int:
    """Smallest integer of a ``bits``-wide (narrow-range) signed/unsigned type."""
    if not signed:
        return 0
    return -(2 ** (bits - 1)) + (1 if narrow else 0)


def max_int(signed: bool, narrow: bool, bits: int) -> int:
    """Largest integer of a ``bits``-wide (narrow-range) signed/unsigned type."""
    if signed:
        return 2 ** (bits - 1) - 1
    return 2**bits - (2 if narrow else 1)


def rounding_fn(mode: str) -> Callable[[np.ndarray], np.ndarray]:
    """Numpy function for a QONNX rounding mode (ROUND = half to even).

    Raises:
        ValueError: for an unknown mode.
    """
    mode = mode.upper()
    table: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "ROUND": np.round,
        "HALF_EVEN": np.round,
        "CEIL": np.ceil,
        "FLOOR": np.floor,
        "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),
        "DOWN": lambda v: np.sign(v) * np.floor(np.abs(v)),
        "ROUND_TO_ZERO": lambda v: np.sign(v) * np.floor(np.abs(v)),
        "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)),
        "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - np.float32(0.5)),
    }
    if mode not in table:
        raise ValueError(f"unknown rounding mode {mode!r}")
    return table[mode]


def int_quant(
    x: np.ndarray, scale: np.ndarray, zeropt: np.ndarray, bits: int, signed: bool, narrow: bool, mode: str
) -> np.ndarray:
    """QONNX ``Quant`` in float32 arithmetic (broadcasting scale/zeropt).

    Returns:
        The fake-quantized tensor, shape of the broadcast inputs.
    """
    y = x / scale + zeropt
    if bits == 1 and signed:
        y = np.where(y >= 0, np.float32(1), np.float32(-1)).astype(y.dtype)
    else:
        y = np.minimum(
            np.maximum(y, np.float32(min_int(signed, narrow, bits))), np.float32(max_int(signed, narrow, bits))
        )
        y = rounding_fn(mode)(y)
    return ((y - zeropt) * scale).astype(x.dtype)


def _scalar_int(op: CustomOp, value: np.ndarray, what: str) -> int:
    arr = np.asarray(value)
    if arr.size != 1:
        raise UnsupportedOpError(f"{op.describe()}: {what} must be one integer, got shape {list(arr.shape)}")
    v = float(arr.reshape(-1)[0])
    if not (np.isfinite(v) and v == int(v)):
        raise UnsupportedOpError(f"{op.describe()}: {what} must be one integer, got {v}")
    return int(v)


def _bit_width(op: CustomOp, value: np.ndarray, what: str) -> int:
    bits = _scalar_int(op, value, what)
    if not 1 <= bits <= MAX_INT_BITS:
        raise UnsupportedOpError(f"{op.describe()}: {what} must be 1..{MAX_INT_BITS}, got {bits}")
    return bits


def _f32(arr: np.ndarray) -> np.ndarray:
    """``arr`` as float32, or float64 if it is float64 (wide execution, see :func:`float_type`)."""
    return np.asarray(arr, dtype=float_type(arr))


class Quant(CustomOp):
    """QONNX ``Quant``: inputs ``(x, scale, zeropt, bitwidth)``."""

    op_type = "Quant"
    num_inputs = (4,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "signed": AttrSpec("i", default=1, allowed=frozenset({0, 1})),
        "narrow": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        "rounding_mode": AttrSpec("s", default="ROUND"),
    }

    def _bits(self, bw: np.ndarray) -> int:
        return _bit_width(self, bw, "bitwidth")

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, scale, zeropt, bw = (_f32(a) for a in inputs[:4])
        try:
            y = int_quant(
                x,
                scale,
                zeropt,
                self._bits(bw),
                bool(self.attrs["signed"]),
                bool(self.attrs["narrow"]),
                self.attrs["rounding_mode"],
            )
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None
        return [y]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, scale, zeropt = self.node.input[:3]
        bits = self._bits(ctx.require_const(self, 3, "bitwidth"))
        signed, narrow = bool(self.attrs["signed"]), bool(self.attrs["narrow"])
        y = ctx.op("Add", [ctx.op("Div", [x, scale]), zeropt])
        if bits == 1 and signed:
            y = ctx.op("Where", [ctx.greater_equal(y, ctx.const(0.0)), ctx.const(1.0), ctx.const(-1.0)])
        else:
            y = ctx.op("Max", [y, ctx.const(min_int(signed, narrow, bits))])
            y = ctx.op("Min", [y, ctx.const(max_int(signed, narrow, bits))])
            y = ctx.round_mode(y, self.attrs["rounding_mode"], self)
        ctx.op("Mul", [ctx.op("Sub", [y, zeropt]), scale], self.node.output[0])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Identity", [self.node.input[0]], [self.node.output[0]])

    def integer_datatype(self, model: ModelWrapper) -> DataType | None:
        """Datatype of the integer grid ``round(x/scale + zeropt)``, if constant."""
        bw = model.get_initializer(self.node.input[3])
        if bw is None:
            return None
        bits = self._bits(bw)
        if bits == 1 and self.attrs["signed"]:
            return DataType["BIPOLAR"]
        return DataType.from_name(f"{'INT' if self.attrs['signed'] else 'UINT'}{bits}")

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        scale = model.get_initializer(self.node.input[1])
        zeropt = model.get_initializer(self.node.input[2])
        unit = scale is not None and zeropt is not None and bool(np.all(scale == 1) and np.all(zeropt == 0))
        dt = self.integer_datatype(model) if unit else None
        return [dt or DataType["FLOAT32"]]


class BipolarQuant(CustomOp):
    """QONNX ``BipolarQuant``: inputs ``(x, scale)``; ``y = (x >= 0 ? 1 : -1) * scale``."""

    op_type = "BipolarQuant"
    num_inputs = (2,)
    num_outputs = (1,)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, scale = _f32(inputs[0]), _f32(inputs[1])
        return [(np.where(x >= 0, 1.0, -1.0) * scale).astype(float_type(x, scale))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, scale = self.node.input[:2]
        sign = ctx.op("Where", [ctx.greater_equal(x, ctx.const(0.0)), ctx.const(1.0), ctx.const(-1.0)])
        ctx.op("Mul", [sign, scale], self.node.output[0])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Identity", [self.node.input[0]], [self.node.output[0]])

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        scale = model.get_initializer(self.node.input[1])
        unit = scale is not None and bool(np.all(scale == 1))
        return [DataType["BIPOLAR"] if unit else DataType["FLOAT32"]]


class Trunc(CustomOp):
    """QONNX ``Trunc`` (v1 or v2, chosen by the number of inputs).

    v1 inputs are ``(x, scale, zeropt, in_bits, out_bits)``, v2 inputs
    ``(x, scale, zeropt, in_bits, out_scale, out_bits)``.

    v1: ``y = (mode(round(x/scale + zeropt) / 2**(in_bits - out_bits)) - zeropt) * scale``.
    v2: the divisor is ``2**round(log2(out_scale/scale))``, the result is
    clamped to the output range and rescaled by ``out_scale``.
    """

    op_type = "Trunc"
    num_inputs = (5, 6)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "rounding_mode": AttrSpec("s", default="FLOOR"),
        "signed": AttrSpec("i", default=1, allowed=frozenset({0, 1})),
        "narrow": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
    }

    @property
    def is_v2(self) -> bool:
        """Whether the node uses the 6-input Trunc v2 form."""
        return len(self.node.input) >= 6

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, scale, zeropt = (_f32(a) for a in inputs[:3])
        try:
            rnd = rounding_fn(self.attrs["rounding_mode"])
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None
        y = np.round(x / scale + zeropt)
        if not self.is_v2:
            div = np.float32(2.0) ** (_f32(inputs[3]) - _f32(inputs[4]))
            y = rnd(y / div)
            return [((y - zeropt) * scale).astype(float_type(x, scale))]
        out_scale, n_out = _f32(inputs[4]), _bit_width(self, inputs[5], "output_bit_width")
        div = np.float32(2.0) ** np.round(np.log2(out_scale / scale))
        signed, narrow = bool(self.attrs["signed"]), bool(self.attrs["narrow"])
        lo, hi = np.float32(min_int(signed, narrow, n_out)), np.float32(max_int(signed, narrow, n_out))
        y = np.clip(y / div, lo, hi)
        y = rnd(y)
        return [((y - zeropt / div) * out_scale).astype(float_type(x, scale))]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, scale, zeropt = self.node.input[:3]
        y = ctx.round_mode(ctx.op("Add", [ctx.op("Div", [x, scale]), zeropt]), "ROUND", self)
        if not self.is_v2:
            in_bw = _f32(ctx.require_const(self, 3, "input_bit_width"))
            out_bw = _f32(ctx.require_const(self, 4, "output_bit_width"))
            div = ctx.const(np.float32(2.0) ** (in_bw - out_bw))
            y = ctx.round_mode(ctx.op("Div", [y, div]), self.attrs["rounding_mode"], self)
            ctx.op("Mul", [ctx.op("Sub", [y, zeropt]), scale], self.node.output[0])
            return
        out_scale = self.node.input[4]
        n_out = _bit_width(self, ctx.require_const(self, 5, "output_bit_width"), "output_bit_width")
        signed, narrow = bool(self.attrs["signed"]), bool(self.attrs["narrow"])
        log2 = ctx.op("Div", [ctx.op("Log", [ctx.op("Div", [out_scale, scale])]), ctx.const(np.log(2.0))])
        div = ctx.op("Pow", [ctx.const(2.0), ctx.round_mode(log2, "ROUND", self)])
        y = ctx.op("Max", [ctx.op("Div", [y, div]), ctx.const(min_int(signed, narrow, n_out))])
        y = ctx.op("Min", [y, ctx.const(max_int(signed, narrow, n_out))])
        y = ctx.round_mode(y, self.attrs["rounding_mode"], self)
        ctx.op("Mul", [ctx.op("Sub", [y, ctx.op("Div", [zeropt, div])]), out_scale], self.node.output[0])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Identity", [self.node.input[0]], [self.node.output[0]])

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        return [DataType["FLOAT32"]]
