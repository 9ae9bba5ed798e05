"""finn-plus's newer generic HW ops: load and execute with FINN's semantics.

* ``Elementwise<Op>`` (``Add``, ``Sub``, ``Mul``, ``Div``, ``And``, ``Or``,
  ``Xor``, ``Equal``, ``Less``, ``LessOrEqual``, ``Greater``,
  ``GreaterOrEqual``, ``BitwiseAnd``, ``BitwiseOr``, ``BitwiseXor``,
  ``Maximum``, ``Minimum``): numpy broadcasting of ``lhs [lhs_shape]`` and
  ``rhs [rhs_shape]`` to ``out_shape``; integer operands are computed in
  int64, the result is a float tensor (logical ops give 0/1). finn-plus
  1.6's Python model of ``ElementwiseMinimum`` computes the maximum; qnncc
  computes the minimum, as its HLS code does.
* ``Squeeze``/``Unsqueeze`` (``axes``, ``inp_shape``, ``out_shape``): shape only.
* ``StreamingConcat``/``StreamingSplit`` (``ChannelsPerStream``): join/split
  the last axis.
* ``UpsampleNearestNeighbour`` (``IFMDim``, ``OFMDim``, ``NumChannels``,
  ``DimMode`` 0: square 2-D, 1: 1-D along H): NHWC nearest-neighbour
  upsampling, output row ``o`` reads input row ``floor(o * IFMDim / OFMDim)``.

Semantics: finn-plus ``src/finn/custom_op/fpgadataflow/{elementwise_binary,
squeeze,unsqueeze,concat,split,upsampler}.py``. These ops have an ``execute``
and a lowering (both back ends); qnncc has no HLS code, perf model or cycle
pattern for them yet, so a model containing them executes but does not build.
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


def _dtype(op: CustomOp, name: str) -> DataType:
    try:
        return DataType.from_name(op.attrs[name])
    except Exception:
        raise UnsupportedOpError(f"{op.describe()}: {name}={op.attrs[name]!r} is not a datatype") from None


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
            np.asarray(v).astype(np.int64) if _dtype(self, n).is_integer() else np.asarray(v, ft)
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
            ints = _dtype(self, "lhs_dtype").is_integer() and _dtype(self, "rhs_dtype").is_integer()
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
        return [_dtype(self, "out_dtype")]


def _elementwise_class(name: str) -> type[ElementwiseBinary]:
    return type(f"Elementwise{name}", (ElementwiseBinary,), {"op_type": f"Elementwise{name}", "operation": name})


ELEMENTWISE_LAYERS: tuple[type[ElementwiseBinary], ...] = tuple(_elementwise_class(n) for n in ELEMENTWISE_OPS)


class _AxesOp(CustomOp):
    """finn-plus ``Squeeze``/``Unsqueeze``: ``axes``, ``inp_shape``, ``out_shape``, ``inp_dtype``/``out_dtype``."""

    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "axes": AttrSpec("ints", default=[]),
        "inp_dtype": AttrSpec("s", default="FLOAT32"),
        "out_dtype": AttrSpec("s", default="FLOAT32"),
        "inp_shape": AttrSpec("ints", default=[]),
        "out_shape": AttrSpec("ints", default=[]),
    }

    def _axes(self, rank: int) -> list[int]:
        return sorted(int(a) % rank for a in self.attrs["axes"])

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, out = self.node.input[0], self.node.output[0]
        rank = ctx.ranks.get(x)
        if rank is None:
            raise UnsupportedOpError(f"{self.describe()}: rank of {x!r} unknown; run InferShapes first")
        axes = self._axes(rank if self.op_type == "Squeeze" else rank + len(self.attrs["axes"]))
        if ctx.opset >= 13:
            ctx.op(self.op_type, [x, ctx.const(axes, np.int64, "axes")], out)
        else:
            ctx.op(self.op_type, [x], out, axes=axes)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        shape = [int(d) for d in self.attrs["out_shape"]]
        if not shape:
            raise UnsupportedOpError(f"{self.describe()}: attribute out_shape is missing")
        return helper.make_node("RandomNormal", [], [self.node.output[0]], shape=shape)

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [_dtype(self, "out_dtype")]


class FinnSqueeze(_AxesOp):
    """finn-plus ``Squeeze``: drop the size-1 ``axes``."""

    op_type = "Squeeze"

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        try:
            return [np.squeeze(x, axis=tuple(self._axes(x.ndim)))]
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None


class FinnUnsqueeze(_AxesOp):
    """finn-plus ``Unsqueeze``: insert size-1 ``axes`` (indices of the output)."""

    op_type = "Unsqueeze"

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        return [np.expand_dims(x, axis=tuple(self._axes(x.ndim + len(self.attrs["axes"]))))]


class StreamingConcat(CustomOp):
    """FINN ``StreamingConcat``: concatenate the inputs' last axes (``ChannelsPerStream`` each)."""

    op_type = "StreamingConcat"
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "SIMD": AttrSpec("i", default=1),
        "ChannelsPerStream": AttrSpec("ints", required=True),
        "inputDataTypes": AttrSpec("strings", default=[]),
        "numInputVectors": AttrSpec("ints", default=[1]),
    }

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        arrays = [np.asarray(v) for v in inputs]
        widths = [a.shape[-1] for a in arrays]
        if widths != [int(c) for c in self.attrs["ChannelsPerStream"]]:
            raise ExecutionError(f"{self.describe()}: input widths {widths} != ChannelsPerStream")
        return [np.concatenate(arrays, axis=-1)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        ctx.op("Concat", list(self.node.input), self.node.output[0], axis=-1)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Concat", list(self.node.input), [self.node.output[0]], axis=-1)

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        types = [model.get_tensor_datatype(t) for t in self.node.input]
        lo, hi = min(min(t.min() for t in types), 0), max(t.max() for t in types)
        return [DataType.smallest_for_range(lo, hi) if all(t.is_integer() for t in types) else DataType["FLOAT32"]]


class StreamingSplit(CustomOp):
    """FINN ``StreamingSplit``: split the last axis into ``ChannelsPerStream`` parts, one output each."""

    op_type = "StreamingSplit"
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "SIMD": AttrSpec("i", default=1),
        "ChannelsPerStream": AttrSpec("ints", required=True),
        "inputDataType": AttrSpec("s", default="FLOAT32"),
        "numInputVectors": AttrSpec("ints", default=[1]),
    }

    def _sizes(self) -> list[int]:
        return [int(c) for c in self.attrs["ChannelsPerStream"]]

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        if x.shape[-1] != sum(self._sizes()):
            raise ExecutionError(f"{self.describe()}: last axis {x.shape[-1]} != sum of ChannelsPerStream")
        return list(np.split(x, np.cumsum(self._sizes())[:-1], axis=-1))

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, sizes = self.node.input[0], self._sizes()
        if ctx.opset >= 13:
            node = helper.make_node("Split", [x, ctx.const(sizes, np.int64, "split")], list(self.node.output), axis=-1)
        else:
            node = helper.make_node("Split", [x], list(self.node.output), axis=-1, split=sizes)
        ctx.nodes.append(node)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        """An ``If`` on the input whose branches make constants of the outputs' shapes (shapes only)."""
        lead = [int(v) for v in self.attrs["numInputVectors"]]

        def branch(tag: str) -> onnx.GraphProto:
            names = [f"{out}__{tag}" for out in self.node.output]
            nodes = [
                helper.make_node("RandomNormal", [], [name], shape=[*lead, size])
                for name, size in zip(names, self._sizes(), strict=True)
            ]
            infos = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names]
            return helper.make_graph(nodes, f"{self.node.output[0]}__split_{tag}", [], infos)

        return helper.make_node(
            "If", [self.node.input[0]], list(self.node.output), then_branch=branch("a"), else_branch=branch("b")
        )

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [_dtype(self, "inputDataType")] * len(self.node.output)


class UpsampleNearestNeighbour(CustomOp):
    """FINN ``UpsampleNearestNeighbour``: NHWC ``[N, IFMDim, IFMDim or 1, C]`` to ``[N, OFMDim, OFMDim or 1, C]``."""

    op_type = "UpsampleNearestNeighbour"
    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "OFMDim": AttrSpec("i", required=True),
        "IFMDim": AttrSpec("i", required=True),
        "NumChannels": AttrSpec("i", required=True),
        "inputDataType": AttrSpec("s", default="FLOAT32"),
        "DimMode": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        "numInputVectors": AttrSpec("i", default=1),
    }

    def _index(self) -> np.ndarray:
        ifm, ofm = int(self.attrs["IFMDim"]), int(self.attrs["OFMDim"])
        return (np.arange(ofm) * ifm) // ofm

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        if x.ndim != 4 or x.shape[1] != int(self.attrs["IFMDim"]):
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)}, expected NHWC with H = IFMDim")
        y = np.take(x, self._index(), axis=1)
        return [y if self.attrs["DimMode"] else np.take(y, self._index(), axis=2)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        idx = ctx.const(self._index(), np.int64, "idx")
        if self.attrs["DimMode"]:
            ctx.op("Gather", [self.node.input[0], idx], self.node.output[0], axis=1)
            return
        rows = ctx.op("Gather", [self.node.input[0], idx], axis=1)
        ctx.op("Gather", [rows, idx], self.node.output[0], axis=2)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        ofm = int(self.attrs["OFMDim"])
        shape = [int(self.attrs["numInputVectors"]), ofm, 1 if self.attrs["DimMode"] else ofm]
        return helper.make_node(
            "RandomNormal", [], [self.node.output[0]], shape=[*shape, int(self.attrs["NumChannels"])]
        )

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [_dtype(self, "inputDataType")]


#: finn-plus generic ops qnncc executes (not yet HW layers with code generation).
FINN_PLUS_OPS: tuple[type[CustomOp], ...] = (
    *ELEMENTWISE_LAYERS,
    FinnSqueeze,
    FinnUnsqueeze,
    StreamingConcat,
    StreamingSplit,
    UpsampleNearestNeighbour,
)
