"""Im2Col: sliding-window patch extraction on NHWC tensors (FINN/QONNX ``Im2Col``).

Semantics (QONNX ``Im2Col``): for ``x`` of shape ``[N, H, W, C]``, padded by
``pad_amount = [top, left, bottom, right]`` with ``pad_value``, the output
``[N, OH, OW, kh*kw*C]`` holds at ``[n, oh, ow]`` the patch

    ``xp[n, oh*sh + i*dh, ow*sw + j*dw, c]`` flattened in ``(i, j, c)`` order

(kernel row, kernel column, channel: finn-hlslib's sliding-window order), with
``OH = floor((H + top + bottom - dh*(kh-1) - 1) / sh) + 1`` and likewise OW.
A ``Conv`` then equals this followed by a ``MatMul`` with the weights
reshaped to ``[kh*kw*C, OC]`` in the same order. ``depthwise`` only marks the
node for HW conversion; it does not change the values.

Note: QONNX's own ``execute_node`` (qonnx 0.4/1.0) scrambles the batch for
``N > 1`` (it reshapes a ``(..., OH*OW*N)`` result as if N came first); qnncc
computes each image independently, which equals QONNX for ``N == 1``.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import onnx
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, CustomOp, LoweringContext
from qnncc.custom_op.maxpool_nhwc import nhwc_pool_stand_in

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper


def conv_output_dim(size: int, kernel: int, stride: int, total_pad: int = 0, dilation: int = 1) -> int:
    """Output size of one spatial axis of a convolution (as QONNX ``compute_conv_output_dim``).

    Raises:
        ValueError: if the dilated kernel does not fit the padded input.
    """
    span = size + total_pad - dilation * (kernel - 1) - 1
    if span < 0 or stride < 1:
        raise ValueError(f"kernel {kernel} (dilation {dilation}) does not fit input {size} padded by {total_pad}")
    return span // stride + 1


def im2col_nhwc(
    x: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    pads: Sequence[int] = (0, 0, 0, 0),
    pad_value: float = 0,
    dilations: Sequence[int] = (1, 1),
) -> np.ndarray:
    """Im2Col of an NHWC array, by strided slicing (one slice per kernel position).

    Args:
        x: ``[N, H, W, C]``.
        kernel: ``[kh, kw]``.
        stride: ``[sh, sw]``.
        pads: ``[top, left, bottom, right]``.
        pad_value: value of the padding.
        dilations: ``[dh, dw]``.

    Returns:
        ``[N, OH, OW, kh*kw*C]``, dtype of ``x``.
    """
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilations
    oh = conv_output_dim(h, kh, sh, pads[0] + pads[2], dh)
    ow = conv_output_dim(w, kw, sw, pads[1] + pads[3], dw)
    xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)), constant_values=pad_value)
    patches = [
        xp[:, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw, :]
        for i in range(kh)
        for j in range(kw)
    ]
    return np.stack(patches, axis=3).reshape(n, oh, ow, kh * kw * c)


def im2col_gather_indices(
    h: int, w: int, kernel: Sequence[int], stride: Sequence[int], pads: Sequence[int], dilations: Sequence[int]
) -> np.ndarray:
    """Indices into the flattened padded image ``[Hp*Wp]``: shape ``[OH*OW, kh*kw]``.

    Row ``oh*OW + ow``, column ``i*kw + j`` holds ``(oh*sh + i*dh) * Wp + ow*sw + j*dw``.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilations
    wp = w + pads[1] + pads[3]
    oh = conv_output_dim(h, kh, sh, pads[0] + pads[2], dh)
    ow = conv_output_dim(w, kw, sw, pads[1] + pads[3], dw)
    rows = (np.arange(oh)[:, None, None, None] * sh + np.arange(kh)[None, None, :, None] * dh) * wp
    cols = np.arange(ow)[None, :, None, None] * sw + np.arange(kw)[None, None, None, :] * dw
    return (rows + cols).reshape(oh * ow, kh * kw).astype(np.int64)


def parse_shape(text: str) -> list[int]:
    """``"(1, 28, 28, 1)"`` or ``"[1, 28, 28, 1]"`` as a list of ints.

    Raises:
        ValueError: if the text is not a tuple/list of integers.
    """
    value = ast.literal_eval(text.strip())
    if not isinstance(value, tuple | list) or not all(isinstance(v, int) for v in value):
        raise ValueError(f"not a shape: {text!r}")
    return [int(v) for v in value]


class Im2Col(CustomOp):
    """FINN/QONNX ``Im2Col`` node: one NHWC input, one output."""

    op_type = "Im2Col"
    num_inputs = (1,)
    num_outputs = (1,)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "stride": AttrSpec("ints", required=True),
        "kernel_size": AttrSpec("ints", required=True),
        "input_shape": AttrSpec("s", required=True),
        "pad_amount": AttrSpec("ints", default=[0, 0, 0, 0]),
        "pad_value": AttrSpec("i", default=0),
        "depthwise": AttrSpec("i", default=0, allowed=frozenset({0, 1})),
        "dilations": AttrSpec("ints", default=[1, 1]),
    }

    def params(self) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        """``(input_shape, kernel, stride, pads, dilations)``, validated.

        Raises:
            UnsupportedOpError: if an attribute is malformed.
        """
        try:
            ishape = parse_shape(self.attrs["input_shape"])
        except (ValueError, SyntaxError, TypeError):
            raise UnsupportedOpError(f"{self.describe()}: bad input_shape {self.attrs['input_shape']!r}") from None
        kernel, stride = list(self.attrs["kernel_size"]), list(self.attrs["stride"])
        pads, dil = list(self.attrs["pad_amount"]), list(self.attrs["dilations"])
        if len(ishape) != 4 or len(kernel) != 2 or len(stride) != 2 or len(pads) != 4 or len(dil) != 2:
            raise UnsupportedOpError(
                f"{self.describe()}: needs a 4-D NHWC input_shape, 2-D kernel_size/stride/dilations and 4 "
                f"pad_amount values, got {ishape}, {kernel}, {stride}, {dil}, {pads}"
            )
        if min(kernel) < 1 or min(stride) < 1 or min(dil) < 1 or min(pads) < 0:
            raise UnsupportedOpError(f"{self.describe()}: invalid kernel/stride/dilations/pads")
        return ishape, kernel, stride, pads, dil

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        ishape, kernel, stride, pads, dil = self.params()
        if x.ndim != 4 or list(x.shape[1:]) != ishape[1:]:
            raise ExecutionError(
                f"{self.describe()}: input of shape {list(x.shape)} does not match input_shape {ishape}"
            )
        try:
            return [im2col_nhwc(x, kernel, stride, pads, self.attrs["pad_value"], dil)]
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None

    @override
    def lower(self, ctx: LoweringContext) -> None:
        """Pad, flatten the image to ``[N, Hp*Wp, C]``, Gather constant indices, reshape.

        Pure data movement, so exactly equal to :meth:`execute`.
        """
        (_, h, w, c), kernel, stride, pads, dil = self.params()
        if ctx.opset < 5:
            raise UnsupportedOpError(f"{self.describe()}: lowering needs opset >= 5")
        try:
            idx = im2col_gather_indices(h, w, kernel, stride, pads, dil)
        except ValueError as exc:
            raise UnsupportedOpError(f"{self.describe()}: {exc}") from None
        oh = conv_output_dim(h, kernel[0], stride[0], pads[0] + pads[2], dil[0])
        ow = conv_output_dim(w, kernel[1], stride[1], pads[1] + pads[3], dil[1])
        x = self.node.input[0]
        if any(pads):
            onnx_pads = [0, pads[0], pads[1], 0, 0, pads[2], pads[3], 0]
            value = float(self.attrs["pad_value"])
            if ctx.opset >= 11:
                x = ctx.op("Pad", [x, ctx.const(onnx_pads, np.int64, "pads"), ctx.const(value, hint="pad_value")])
            else:
                x = ctx.op("Pad", [x], pads=onnx_pads, value=value, mode="constant")
        hp, wp = h + pads[0] + pads[2], w + pads[1] + pads[3]
        flat = ctx.op("Reshape", [x, ctx.const([-1, hp * wp, c], np.int64, "shape")])
        patches = ctx.op("Gather", [flat, ctx.const(idx, np.int64, "idx")], axis=1)
        out_shape = ctx.const([-1, oh, ow, kernel[0] * kernel[1] * c], np.int64, "shape")
        ctx.op("Reshape", [patches, out_shape], self.node.output[0])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        _, kernel, stride, pads, dil = self.params()
        # a pooling window of the dilated kernel's extent has the same output size
        extent = [(k - 1) * d + 1 for k, d in zip(kernel, dil, strict=True)]
        return nhwc_pool_stand_in(self.node, extent, stride, pads, channel_copies=kernel[0] * kernel[1])

    @override
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        """The input's datatype; widened to hold ``pad_value`` if padding adds a value it lacks."""
        dt = model.get_tensor_datatype(self.node.input[0])
        pad_value = self.attrs["pad_value"]
        if not any(self.attrs["pad_amount"]) or dt.allowed(pad_value) or not dt.is_integer():
            return [dt]
        lo, hi = min(dt.min(), pad_value), max(dt.max(), pad_value)
        return [DataType["TERNARY"] if (lo, hi) == (-1, 1) else DataType.smallest_for_range(lo, hi)]
