"""finn-plus's newer generic HW ops, executed with FINN's semantics.

* ``Elementwise<Op>``: :mod:`.elementwise_binary`.
* ``Squeeze``/``Unsqueeze``/``Reshape``: :mod:`.stream_shape`.
* ``StreamingConcat``/``StreamingSplit``: :mod:`.concat_split`.
* ``UpsampleNearestNeighbour``: :mod:`.upsample`.
* ``Pool`` (``Function`` MaxPool/AvgPool/AccPool/QuantAvgPool over Im2Col windows): here;
  qnncc's HW layer :class:`qnncc.hw.layers.pool.Pool` runs it (HLS code for ``MaxPool``).

All but ``Pool`` are qnncc HW layers (:data:`FINN_PLUS_LAYERS`): HLS code, cost model and cycle
pattern (descriptors in :mod:`qnncc.hw.registry`). Semantics: finn-plus
``src/finn/custom_op/fpgadataflow/{elementwise_binary,squeeze,unsqueeze,reshape,concat,split,
upsampler,pool}.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext, float_type

from .base import HWLayer
from .concat_split import StreamingConcat, StreamingSplit
from .elementwise_binary import ELEMENTWISE_LAYERS, datatype_attr
from .stream_shape import FinnReshape, FinnSqueeze, FinnUnsqueeze
from .upsample import UpsampleNearestNeighbour


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


#: The finn-plus generic ops that are qnncc HW layers (descriptors in :mod:`qnncc.hw.registry`).
FINN_PLUS_LAYERS: tuple[type[HWLayer], ...] = (
    *ELEMENTWISE_LAYERS,
    FinnSqueeze,
    FinnUnsqueeze,
    FinnReshape,
    StreamingConcat,
    StreamingSplit,
    UpsampleNearestNeighbour,
)

#: finn-plus generic ops (``Pool`` here is finn-plus's semantics; qnncc's HW layer ``Pool`` wins by name).
FINN_PLUS_OPS: tuple[type[CustomOp], ...] = (
    *ELEMENTWISE_LAYERS,
    FinnSqueeze,
    FinnUnsqueeze,
    FinnReshape,
    StreamingConcat,
    StreamingSplit,
    UpsampleNearestNeighbour,
    Pool,
)
