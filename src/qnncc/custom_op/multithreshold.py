"""MultiThreshold: FINN's successive-thresholding activation.

Semantics (FINN/QONNX ``MultiThreshold``; Umuroglu & Jahre 2017, "Streamlined
Deployment for Quantized Neural Networks"): for an input ``x`` whose channel
axis is given by the data layout and thresholds ``T`` of shape ``[C, B]``
(or ``[1, B]`` shared by all channels),

    ``y[..., c, ...] = out_scale * sum_b [x[..., c, ...] >= T[c, b]] + out_bias``.
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
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper

#: Layout assumed from the rank when the node has no ``data_layout`` (as QONNX).
DEFAULT_LAYOUT_BY_RANK = {2: "NC", 3: "NWC", 4: "NCHW"}


def channel_axis(layout: str, rank: int) -> int:
    """Index of the channel axis for a data layout string and tensor rank.

    Args:
        layout: e.g. ``"NCHW"``, ``"NHWC"``, ``"NC"``; empty to guess from rank.
        rank: number of dimensions of the input.
    """
    layout = layout or DEFAULT_LAYOUT_BY_RANK.get(rank, "")
    return layout.index("C") if "C" in layout else 1


def multithreshold(
    x: np.ndarray, thresholds: np.ndarray, out_scale: float = 1.0, out_bias: float = 0.0, axis: int = 1
) -> np.ndarray:
    """Count thresholds crossed per element, then scale and bias.

    Args:
        x: input of any rank >= 2; ``axis`` is its channel axis (size C).
        thresholds: ``[C, B]`` or ``[1, B]``.
        out_scale: multiplier applied to the count.
        out_bias: offset added after scaling.
        axis: channel axis of ``x``.

    Returns:
        Array shaped like ``x``, dtype of ``x``.

    Raises:
        ValueError: if the threshold rows match neither C nor 1.
    """
    channels = x.shape[axis]
    if thresholds.ndim != 2 or thresholds.shape[0] not in (1, channels):
        raise ValueError(f"thresholds of shape {list(thresholds.shape)} do not fit {channels} channels")
    moved = np.moveaxis(x, axis, -1)[..., np.newaxis]
    counts = np.count_nonzero(moved >= thresholds, axis=-1).astype(x.dtype)
    counts = np.moveaxis(counts, -1, axis)
    return (out_scale * counts + out_bias).astype(x.dtype)


class MultiThreshold(CustomOp):
    """FINN ``MultiThreshold`` node: inputs ``(x, thresholds)``, one output."""

    op_type = "MultiThreshold"
    num_inputs = (2,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "out_dtype": AttrSpec("s", required=True),
        "out_scale": AttrSpec("f", default=1.0),
        "out_bias": AttrSpec("f", default=0.0),
        "data_layout": AttrSpec("s", default=""),
    }

    def _axis(self, rank: int) -> int:
        axis = channel_axis(self.attrs["data_layout"], rank)
        if not 0 <= axis < rank:
            raise ExecutionError(
                f"{self.describe()}: data_layout {self.attrs['data_layout']!r} does not fit an input of rank {rank}"
            )
        return axis

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, thr = inputs[0], inputs[1]
        try:
            y = multithreshold(x, thr, self.attrs["out_scale"], self.attrs["out_bias"], self._axis(x.ndim))
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None
        return [y]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x_name = self.node.input[0]
        thr = ctx.require_const(self, 1, "thresholds").astype(ctx.float_dtype)
        if thr.ndim != 2:
            raise ExecutionError(f"{self.describe()}: thresholds must be [C, B], got shape {list(thr.shape)}")
        rank = ctx.ranks.get(x_name)
        if rank is None:
            raise ExecutionError(f"{self.describe()}: rank of input {x_name!r} unknown; run InferShapes first")
        axis = self._axis(rank)
        # thresholds [C, B] -> [B, 1.., C at axis+1, 1..]: broadcast against x [..]
        shape = [thr.shape[1]] + [1] * rank
        shape[1 + axis] = thr.shape[0]
        t_b = ctx.const(np.ascontiguousarray(thr.T).reshape(shape), hint="thr")
        hits = ctx.cast_float(ctx.greater_equal(x_name, t_b))
        scale, bias = float(self.attrs["out_scale"]), float(self.attrs["out_bias"])
        out = self.node.output[0]
        if scale == 1.0 and bias == 0.0:
            ctx.reduce_sum(hits, 0, out)
            return
        y = ctx.reduce_sum(hits, 0)
        if scale != 1.0:
            y = ctx.op("Mul", [y, ctx.const(scale)], None if bias != 0.0 else out)
        if bias != 0.0:
            ctx.op("Add", [y, ctx.const(bias)], out)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Relu", [self.node.input[0]], [self.node.output[0]])

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        scale, bias = float(self.attrs["out_scale"]), float(self.attrs["out_bias"])
        if not (scale.is_integer() and bias.is_integer()):
            return [DataType["FLOAT32"]]
        return [DataType.from_name(self.attrs["out_dtype"])]
