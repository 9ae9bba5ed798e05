"""FoldQuantWeights: quantized constant weights become integer initializers.

Pattern: ``Quant(W, s, z, b)`` or ``BipolarQuant(W, s)`` whose inputs are all
constants. Rewrite:

* consumed as the weight of one ``MatMul`` (input 1) or ``Conv`` (input 1),
  with zero-point 0 and a scale that is per output channel (or scalar): the
  consumer takes the integer weights ``q = round(clip(W/s))`` (annotated
  ``INTn``/``UINTn``/``BIPOLAR``) and a ``Mul`` by ``s`` (reshaped to the
  consumer's output channel axis) follows the consumer. A constant ``Conv``
  bias ``B`` moves behind that ``Mul`` as an ``Add`` (``conv(x, q*s) + B =
  conv(x, q) * s + B``; a non-constant bias keeps the float weights). Exact in
  real arithmetic (``x @ (q*s) = (x @ q) * s`` per output channel); in float32
  it differs only in rounding order.
* otherwise the quantizer is folded into its float output, which is exact.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from qnncc.transforms._graph import bypass
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.quant import Quant

from .gemm import transpose_constant_path

QUANTIZERS = ("Quant", "BipolarQuant")


class FoldQuantWeights(Transformation):
    """Fold weight quantizers into integer initializers plus a scale ``Mul`` (QONNX/FINN name).

    A 2-D ``Transpose`` between the quantizer and its consumer (TorchScript
    exports write ``Quant(W) -> Transpose -> MatMul``) is moved into the
    quantizer's constant inputs first; the quantizer is elementwise, so this
    is exact.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for tr in model.get_nodes_by_op_type("Transpose"):
            producer = model.find_producer(tr.input[0])
            perm = model.get_nodeattr(tr, "perm", [1, 0])
            if producer is None or producer.op_type not in QUANTIZERS or list(perm) != [1, 0]:
                continue
            if transpose_constant_path(model, tr.input[0]):
                bypass(model, tr, tr.input[0])
                changed = True
        for node in list(model.graph.node):
            if node.op_type not in QUANTIZERS or not node.input:
                continue
            values = [model.get_initializer(t) for t in node.input if t]
            if any(v is None for v in values):
                continue
            _fold(model, node, [v for v in values if v is not None])
            changed = True
        return model, changed


def _integer_weights(
    node: onnx.NodeProto, values: list[np.ndarray]
) -> tuple[np.ndarray, DataType, np.ndarray, np.ndarray]:
    """Integer grid ``q``, its datatype, the scale and the zero-point of a weight quantizer."""
    op = get_custom_op(node)
    scale = values[1].astype(np.float32)
    if node.op_type == "BipolarQuant":
        q = np.where(values[0] >= 0, np.float32(1), np.float32(-1))
        return q, DataType["BIPOLAR"], scale, np.zeros((), np.float32)
    assert isinstance(op, Quant)
    zeropt = values[2].astype(np.float32)
    bits = int(np.asarray(values[3]).reshape(-1)[0])
    signed, narrow = bool(op.attrs["signed"]), bool(op.attrs["narrow"])
    fake = op.execute(values)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.round(fake / scale + zeropt).astype(np.float32)
    if bits == 1 and signed:
        return q, DataType["BIPOLAR"], scale, zeropt
    name = f"{'INT' if signed else 'UINT'}{bits}"
    dt = DataType["TERNARY"] if (signed and narrow and bits == 2) else DataType[name]
    return q, dt, scale, zeropt


def _output_channel_scale(consumer: onnx.NodeProto, scale: np.ndarray, wshape: tuple[int, ...]) -> np.ndarray | None:
    """The scale reshaped to broadcast over the consumer's output, if it is per output channel."""
    if scale.size == 1:
        return scale.reshape(())
    if consumer.op_type == "MatMul" and len(wshape) == 2:
        if scale.ndim > 2:
            return None
        full = np.broadcast_to(scale, wshape)
        return np.ascontiguousarray(full[0]) if bool(np.all(full == full[:1, :])) else None
    if consumer.op_type == "Conv" and len(wshape) >= 3:
        if scale.ndim != len(wshape):
            return None
        full = np.broadcast_to(scale, wshape).reshape(wshape[0], -1)
        if np.all(full == full[:, :1]):
            out_rank = len(wshape)
            return np.ascontiguousarray(full[:, 0]).reshape([1, wshape[0]] + [1] * (out_rank - 2))
    return None


def _fold(model: ModelWrapper, node: onnx.NodeProto, values: list[np.ndarray]) -> None:
    out = node.output[0]
    consumers = model.find_consumers(out)
    q, dt, scale, zeropt = _integer_weights(node, values)
    consumer = consumers[0] if len(consumers) == 1 else None
    mul_scale = None
    bias = _conv_bias(model, consumer) if consumer is not None else None
    if (
        consumer is not None
        and consumer.op_type in ("MatMul", "Conv")
        and list(consumer.input).index(out) == 1
        and bool(np.all(zeropt == 0))
        and out not in model.graph_output_names()
        and bias is not False
    ):
        mul_scale = _output_channel_scale(consumer, scale, q.shape)
    model.remove_node(node)
    if mul_scale is None:
        model.set_initializer(out, get_custom_op(node).execute(values)[0].astype(np.float32))
        model.set_tensor_datatype(out, None)
        return
    assert consumer is not None
    model.set_initializer(out, q)
    model.set_tensor_datatype(out, dt)
    if bool(np.all(mul_scale == 1)):
        return
    pre = model.make_new_name(f"{consumer.output[0]}_unscaled")
    post = consumer.output[0]
    consumer.output[0] = pre
    base = consumer.name or consumer.op_type
    scale_name = model.make_new_name(f"{base}_wscale")
    model.set_initializer(scale_name, mul_scale.astype(np.float32))
    idx = model.get_node_index(consumer)
    if bias is None:
        model.graph.node.insert(idx + 1, helper.make_node("Mul", [pre, scale_name], [post], name=f"{base}_wscale"))
        return
    # A Conv bias is added after the scale: conv(x, q*s) + B = conv(x, q) * s + B (not (conv(x, q) + B) * s).
    assert isinstance(bias, np.ndarray)
    scaled = model.make_new_name(f"{post}_scaled")
    bias_name = model.make_new_name(f"{base}_bias")
    model.set_initializer(bias_name, bias.reshape([1, -1] + [1] * (q.ndim - 2)).astype(np.float32))
    del consumer.input[2:]
    model.graph.node.insert(idx + 1, helper.make_node("Mul", [pre, scale_name], [scaled], name=f"{base}_wscale"))
    model.graph.node.insert(idx + 2, helper.make_node("Add", [scaled, bias_name], [post], name=f"{base}_bias"))


def _conv_bias(model: ModelWrapper, consumer: onnx.NodeProto) -> np.ndarray | bool | None:
    """The constant bias of a Conv consumer; None without one, False if it is not a constant."""
    if consumer.op_type != "Conv" or len(consumer.input) < 3 or not consumer.input[2]:
        return None
    value = model.get_initializer(consumer.input[2])
    return False if value is None else value
