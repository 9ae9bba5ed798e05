"""MaxPoolNHWC: ONNX ``MaxPool`` on channels-last tensors (QONNX ``MaxPoolNHWC``).

Semantics: for ``x`` of shape ``[N, H, W, C]`` the output is
``Transpose(MaxPool(Transpose(x, NHWC->NCHW)), NCHW->NHWC)`` with the same
``kernel_shape``, ``strides``, ``pads`` (``[top, left, bottom, right]``) and
``ceil_mode`` as ONNX ``MaxPool``; padded positions never win the maximum.

Output size per spatial axis: ``floor((H + p_begin + p_end - k) / s) + 1``,
or with ``ceil_mode`` the ceiling, minus one when the last window would start
inside the end padding. That last rule is onnxruntime's (and PyTorch's);
QONNX's ``compute_pool_output_dim`` and ONNX shape inference omit it, so they
disagree with onnxruntime in those rare ``ceil_mode`` cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext

if TYPE_CHECKING:
    from qnncc.core.datatype import DataType
    from qnncc.core.model_wrapper import ModelWrapper

NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


def pool_output_dim(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int, ceil_mode: bool) -> int:
    """Output size of one spatial axis of a max pooling (onnxruntime's rule).

    Raises:
        ValueError: if the padded input is smaller than the kernel.
    """
    span = size + pad_begin + pad_end - kernel
    if span < 0 or stride < 1:
        raise ValueError(f"kernel {kernel} does not fit input {size} with pads ({pad_begin}, {pad_end})")
    if not ceil_mode:
        return span // stride + 1
    out = math.ceil(span / stride) + 1
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def maxpool_nhwc(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int], ceil_mode: bool = False
) -> np.ndarray:
    """Max pooling of an NHWC array.

    Args:
        x: input ``[N, H, W, C]``.
        kernel: ``[kh, kw]``.
        strides: ``[sh, sw]``.
        pads: ``[top, left, bottom, right]``.
        ceil_mode: round the output size up (onnxruntime's rule).

    Returns:
        ``[N, OH, OW, C]``, dtype of ``x``.
    """
    _, h, w, _ = x.shape
    (kh, kw), (sh, sw) = kernel, strides
    oh = pool_output_dim(h, kh, sh, pads[0], pads[2], ceil_mode)
    ow = pool_output_dim(w, kw, sw, pads[1], pads[3], ceil_mode)
    bottom = max(0, (oh - 1) * sh + kh - h - pads[0])
    right = max(0, (ow - 1) * sw + kw - w - pads[1])
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = np.pad(x, ((0, 0), (pads[0], bottom), (pads[1], right), (0, 0)), constant_values=fill)
    out = None
    for i in range(kh):
        for j in range(kw):
            window = xp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
            out = window if out is None else np.maximum(out, window)
    assert out is not None
    return np.ascontiguousarray(out)


def nhwc_pool_stand_in(
    node: onnx.NodeProto,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    ceil_mode: int = 0,
    channel_copies: int = 1,
) -> onnx.NodeProto:
    """Standard node whose output shape is that of an NHWC pooling of ``node.input[0]``.

    ``shape_compatible_node`` must return a single standard node and has no
    access to the model, so the input shape is unknown here. This returns an
    ``If`` node whose two (identical) branches compute, from the outer-scope
    input, ``Transpose -> MaxPool -> Transpose [-> Concat of channel_copies]``;
    ONNX shape inference derives the output shape from the branches. The
    condition input is the data tensor itself: the node is only ever shape
    inferred (type checks off), never executed.

    Args:
        node: the custom node (input 0 NHWC, output 0 gets the shape).
        kernel: effective pooling window ``[kh, kw]``.
        strides: ``[sh, sw]``.
        pads: ``[top, left, bottom, right]``.
        ceil_mode: ONNX ``ceil_mode``.
        channel_copies: multiplier of the channel dimension (Im2Col: ``kh*kw``).
    """
    x, y = node.input[0], node.output[0]

    def branch(tag: str) -> onnx.GraphProto:
        pre = f"{y}__shape_{tag}"
        attrs: dict[str, Any] = {"kernel_shape": list(kernel), "strides": list(strides), "pads": list(pads)}
        if ceil_mode:
            attrs["ceil_mode"] = ceil_mode
        nodes = [
            helper.make_node("Transpose", [x], [f"{pre}_t"], perm=NHWC_TO_NCHW),
            helper.make_node("MaxPool", [f"{pre}_t"], [f"{pre}_p"], **attrs),
            helper.make_node("Transpose", [f"{pre}_p"], [f"{pre}_o"], perm=NCHW_TO_NHWC),
        ]
        out = f"{pre}_o"
        if channel_copies > 1:
            nodes.append(helper.make_node("Concat", [out] * channel_copies, [f"{pre}_c"], axis=3))
            out = f"{pre}_c"
        vi = helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)
        return helper.make_graph(nodes, pre, [], [vi])

    return helper.make_node("If", [x], [y], then_branch=branch("then"), else_branch=branch("else"))


class MaxPoolNHWC(CustomOp):
    """QONNX ``MaxPoolNHWC`` node: one NHWC input, one output; ONNX ``MaxPool`` attributes."""

    op_type = "MaxPoolNHWC"
    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "kernel_shape": AttrSpec("ints", required=True),
        "strides": AttrSpec("ints", default=[1, 1]),
        "pads": AttrSpec("ints", default=[0, 0, 0, 0]),
        "ceil_mode": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
    }

    def params(self) -> tuple[list[int], list[int], list[int], int]:
        """``(kernel_shape, strides, pads, ceil_mode)``, validated.

        Raises:
            UnsupportedOpError: if they do not describe a 2-D pooling.
        """
        kernel, strides, pads = (list(self.attrs[k]) for k in ("kernel_shape", "strides", "pads"))
        if len(kernel) != 2 or len(strides) != 2 or len(pads) != 4:
            raise UnsupportedOpError(
                f"{self.describe()}: needs 2-D kernel_shape/strides and 4 pads, got {kernel}, {strides}, {pads}"
            )
        if min(kernel) < 1 or min(strides) < 1 or min(pads) < 0:
            raise UnsupportedOpError(f"{self.describe()}: invalid kernel_shape/strides/pads {kernel}/{strides}/{pads}")
        return kernel, strides, pads, int(self.attrs["ceil_mode"])

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        if x.ndim != 4:
            raise ExecutionError(f"{self.describe()}: input must be NHWC (rank 4), got shape {list(x.shape)}")
        kernel, strides, pads, ceil_mode = self.params()
        try:
            return [maxpool_nhwc(x, kernel, strides, pads, bool(ceil_mode))]
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None

    @override
    def lower(self, ctx: LoweringContext) -> None:
        kernel, strides, pads, ceil_mode = self.params()
        attrs: dict[str, Any] = {"kernel_shape": kernel, "strides": strides, "pads": pads}
        if ceil_mode:
            if ctx.opset < 10:
                raise UnsupportedOpError(f"{self.describe()}: ceil_mode needs opset >= 10 for the fast path")
            attrs["ceil_mode"] = ceil_mode
        nchw = ctx.op("Transpose", [self.node.input[0]], perm=NHWC_TO_NCHW)
        pooled = ctx.op("MaxPool", [nchw], **attrs)
        ctx.op("Transpose", [pooled], self.node.output[0], perm=NCHW_TO_NHWC)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        kernel, strides, pads, ceil_mode = self.params()
        return nhwc_pool_stand_in(self.node, kernel, strides, pads, ceil_mode)

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        return [model.get_tensor_datatype(self.node.input[0])]
