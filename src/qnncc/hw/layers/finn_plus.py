"""finn-plus's newer generic HW ops: load and execute with FINN's semantics.

* ``Elementwise<Op>``: see :mod:`.elementwise_binary`.
* ``Squeeze``/``Unsqueeze`` (``axes``, ``inp_shape``, ``out_shape``): shape only.
* ``StreamingConcat``/``StreamingSplit`` (``ChannelsPerStream``): join/split
  the last axis.
* ``Pool`` (``Function`` MaxPool/AvgPool/AccPool/QuantAvgPool over Im2Col windows).
* ``UpsampleNearestNeighbour`` (``IFMDim``, ``OFMDim``, ``NumChannels``,
  ``DimMode`` 0: square 2-D, 1: 1-D along H): NHWC nearest-neighbour
  upsampling, output row ``o`` reads input row ``floor(o * IFMDim / OFMDim)``.

Semantics: finn-plus ``src/finn/custom_op/fpgadataflow/{elementwise_binary,
squeeze,unsqueeze,concat,split,upsampler,pool}.py``. These ops have an ``execute``
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

from .elementwise_binary import ELEMENTWISE_LAYERS, datatype_attr


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
        return [datatype_attr(self, "out_dtype")]


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
        return [datatype_attr(self, "inputDataType")] * len(self.node.output)


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
        return [datatype_attr(self, "inputDataType")]


class Pool(CustomOp):
    """finn-plus ``Pool``: ``MaxPool``/``AvgPool``/``AccPool``/``QuantAvgPool`` over the windows of a depthwise SWG.

    Input ``[BatchSize, *OutImgDims, prod(KernelSize) * Channels]`` read as
    ``[..., k, Channels]`` (Im2Col order), output ``[BatchSize, *OutImgDims, Channels]``;
    ``QuantAvgPool`` shifts the window sum right by
    ``max(0, bitlen((2**ibits - 1) * k) - obits)`` (finn-plus ``pool.py``).
    """

    op_type = "Pool"
    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "Channels": AttrSpec("i", required=True),
        "PE": AttrSpec("i", default=1),
        "KernelSize": AttrSpec("ints", required=True),
        "Function": AttrSpec("s", required=True, allowed=frozenset({"MaxPool", "AvgPool", "AccPool", "QuantAvgPool"})),
        "OutImgDims": AttrSpec("ints", required=True),
        "InputDataType": AttrSpec("s", required=True),
        "OutputDataType": AttrSpec("s", required=True),
        "AccumBits": AttrSpec("i", default=0),
        "Size": AttrSpec("i", default=1),
        "BatchSize": AttrSpec("i", default=1),
    }

    def _k(self) -> int:
        return int(np.prod([int(v) for v in self.attrs["KernelSize"]]))

    def _shift(self) -> int:
        ibits = datatype_attr(self, "InputDataType").bitwidth()
        obits = datatype_attr(self, "OutputDataType").bitwidth()
        return max(int((2**ibits - 1) * self._k()).bit_length() - obits, 0)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        ft = float_type(x)
        channels, k = int(self.attrs["Channels"]), self._k()
        if x.shape[-1] != k * channels:
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)}, last axis must be {k}*{channels}")
        windows = x.reshape(*x.shape[:-1], k, channels)
        func = self.attrs["Function"]
        if func == "MaxPool":
            return [windows.max(axis=-2).astype(ft)]
        if func == "AvgPool":
            return [windows.astype(np.float64).mean(axis=-2).astype(ft)]
        sums = windows.astype(np.int64).sum(axis=-2)
        return [(sums if func == "AccPool" else sums >> self._shift()).astype(ft)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        channels, k = int(self.attrs["Channels"]), self._k()
        dims = [int(v) for v in self.attrs["OutImgDims"]]
        shape = ctx.const([-1, *dims, k, channels], np.int64, "shape")
        windows = ctx.op("Reshape", [self.node.input[0], shape])
        axis, out, func = len(dims) + 1, self.node.output[0], self.attrs["Function"]
        if func in ("AccPool", "QuantAvgPool"):
            if func == "AccPool":
                ctx.reduce_sum(windows, axis, out)
                return
            sums = ctx.reduce_sum(windows, axis)
            ctx.op("Floor", [ctx.op("Div", [sums, ctx.const(float(2 ** self._shift()))])], out)
            return
        op = "ReduceMax" if func == "MaxPool" else "ReduceMean"
        if ctx.opset >= 18:
            ctx.op(op, [windows, ctx.const([axis], np.int64, "axes")], out, keepdims=0)
        else:
            ctx.op(op, [windows], out, axes=[axis], keepdims=0)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        shape = [int(self.attrs["BatchSize"]), *[int(v) for v in self.attrs["OutImgDims"]], int(self.attrs["Channels"])]
        return helper.make_node("RandomNormal", [], [self.node.output[0]], shape=shape)

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [datatype_attr(self, "OutputDataType")]


#: finn-plus generic ops qnncc executes (not yet HW layers with code generation).
FINN_PLUS_OPS: tuple[type[CustomOp], ...] = (
    *ELEMENTWISE_LAYERS,
    FinnSqueeze,
    FinnUnsqueeze,
    StreamingConcat,
    StreamingSplit,
    UpsampleNearestNeighbour,
    Pool,
)
