"""ConvertTruncAvgPoolToMultiThreshold: Brevitas' truncating average pool as integer thresholds.

Brevitas exports ``TruncAvgPool2d`` as ``AveragePool -> Mul(k*k) -> Trunc``
(FINN converts the pattern to ``QuantAvgPool2d``, see qonnx's
``AvgPoolAndTruncToQuantAvgPool``). A ``Trunc`` (v1) with zero point 0 and
scale ``s`` computes ``s * mode(round(t / s) / 2**(in_bits - out_bits))``, a
non-decreasing step function of its input ``t``; it does not clamp, so it
equals a ``MultiThreshold`` followed by ``Mul(s)`` on every input whose range
is known. The range comes from the ``Quant`` that feeds the pool: averages
stay within ``[min, max]`` of their inputs, and a positive ``Mul`` scales the
range. After streamlining, the pool becomes ``GlobalAccPool`` and the
thresholds a ``Thresholding`` layer, so the pool runs in HW.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.quant import Quant, max_int, min_int, rounding_fn

from .thresholds import exact_thresholds

FINN_DOMAIN = "qonnx.custom_op.general"


def _const(model: ModelWrapper, name: str) -> np.ndarray | None:
    value = model.get_initializer(name)
    return None if value is None else np.asarray(value, dtype=np.float32)


def _no_padding(model: ModelWrapper, pool: onnx.NodeProto) -> bool:
    pads = model.get_nodeattr(pool, "pads", []) or []
    auto_pad = model.get_nodeattr(pool, "auto_pad", "NOTSET")
    return not any(pads) and auto_pad in ("NOTSET", "VALID", "") and not model.get_nodeattr(pool, "ceil_mode", 0)


def quant_range(model: ModelWrapper, tensor: str) -> tuple[float, float] | None:
    """``[lo, hi]`` of the values of ``tensor`` if a zero-point-0 ``Quant`` writes it, else None."""
    quant = model.find_producer(tensor)
    if quant is None or quant.op_type != "Quant":
        return None
    op = get_custom_op(quant)
    assert isinstance(op, Quant)
    scale, zeropt, bits = (_const(model, t) for t in quant.input[1:4])
    if scale is None or zeropt is None or bits is None or np.any(zeropt != 0) or np.any(scale <= 0) or bits.size != 1:
        return None
    signed, narrow, width = bool(op.attrs["signed"]), bool(op.attrs["narrow"]), int(bits.reshape(-1)[0])
    top = float(np.max(scale))
    return min_int(signed, narrow, width) * top, max_int(signed, narrow, width) * top


def trunc_pool_range(model: ModelWrapper, trunc: onnx.NodeProto) -> tuple[float, float] | None:
    """Range of the ``Trunc``'s input for ``Quant [-> AveragePool] [-> Mul(c > 0)] -> Trunc``, else None.

    The optional steps cover tidied graphs (a 1x1 pool's ``Mul(1)`` removed); every
    intermediate tensor must be private to the chain.
    """
    tensor, factor = str(trunc.input[0]), 1.0
    node = model.find_producer(tensor)
    if node is not None and node.op_type == "Mul" and len(model.find_consumers(tensor)) == 1:
        consts = [_const(model, t) for t in node.input]
        k = 0 if consts[0] is None else 1  # the data input
        value = consts[1 - k]
        if value is None or value.size != 1 or not float(value.reshape(-1)[0]) > 0:
            return None
        factor, tensor = float(value.reshape(-1)[0]), str(node.input[k])
        node = model.find_producer(tensor)
    if node is not None and node.op_type in ("AveragePool", "GlobalAveragePool"):
        if not _no_padding(model, node) or len(model.find_consumers(tensor)) != 1:
            return None
        tensor = str(node.input[0])
    span = quant_range(model, tensor)
    return None if span is None else (span[0] * factor, span[1] * factor)


def trunc_level(t: np.ndarray, scale: np.float32, shift: int, mode: str) -> np.ndarray:
    """``mode(round(t / scale) / 2**shift)`` in float32, as ``Trunc`` (v1, zero point 0) computes it."""
    y = np.round(np.asarray(t, np.float32) / scale + np.float32(0))
    return rounding_fn(mode)(y / np.float32(2.0) ** np.float32(shift)).astype(np.float64)


class ConvertTruncAvgPoolToMultiThreshold(Transformation):
    """``Trunc`` after a truncating average pool to ``MultiThreshold -> Mul(s)`` (bit-exact).

    Pattern: ``Quant(q, s_q, 0, b) [-> AveragePool|GlobalAveragePool (no padding)]
    [-> Mul(c > 0)] -> Trunc(t, s, 0, in_bits, out_bits)`` (v1, scalar ``s``).

    Rewrite: the ``Trunc`` becomes ``MultiThreshold(t, T; out_bias = L_min)
    -> Mul(s)``; the thresholds ``T`` are the smallest float32 inputs at which
    :func:`trunc_level` reaches each level ``L_min + 1 .. L_max`` (binary
    search over float32, :func:`.thresholds.exact_thresholds`), where
    ``[L_min, L_max]`` covers every level an input in the ``Quant``'s range
    scaled by ``c`` can reach (with a relative margin of 1e-5 for float rounding).

    Exactness: for every input the ``Quant`` can produce, the count of crossed
    thresholds plus ``L_min`` equals the ``Trunc``'s level, ties included, and
    ``level * s`` is the same float32 product: bit-identical.
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for node in list(model.graph.node):
            if node.op_type == "Trunc" and len(node.input) == 5:
                changed |= _convert(model, node)
        return model, changed


def _convert(model: ModelWrapper, trunc: onnx.NodeProto) -> bool:
    scale, zeropt, in_bits, out_bits = (_const(model, t) for t in trunc.input[1:5])
    if scale is None or zeropt is None or in_bits is None or out_bits is None:
        return False
    if scale.size != 1 or not float(scale.reshape(-1)[0]) > 0 or np.any(zeropt != 0):
        return False
    span = trunc_pool_range(model, trunc)
    if span is None:
        return False
    s = np.float32(scale.reshape(-1)[0])
    shift = int(in_bits.reshape(-1)[0]) - int(out_bits.reshape(-1)[0])
    mode = str(model.get_nodeattr(trunc, "rounding_mode", "FLOOR"))
    if not all(math.isfinite(v) for v in span):
        return False
    slack = 1e-5 * max(abs(span[0]), abs(span[1]))  # float rounding of the average and the Mul
    ends = trunc_level(np.array([span[0] - slack, span[1] + slack]), s, shift, mode)
    lo, hi = int(ends[0]), int(ends[1])
    levels = np.arange(lo, hi + 1, dtype=np.float64)
    if levels.size > 2**16:
        return False
    thresholds = exact_thresholds(lambda x, c: trunc_level(x, s, shift, mode), levels[1:], 1)
    base = trunc.name or "Trunc"
    thr, mt_out = model.make_new_name(f"{base}_thresholds"), model.make_new_name(f"{base}_levels")
    s_name = model.make_new_name(f"{base}_scale")
    model.set_initializer(thr, thresholds)
    model.set_initializer(s_name, np.asarray(s, np.float32))
    out_dt = DataType.smallest_for_range(lo, hi)
    mt = helper.make_node(
        "MultiThreshold", [trunc.input[0], thr], [mt_out], name=f"{base}_MultiThreshold", domain=FINN_DOMAIN,
        out_dtype=out_dt.name, out_scale=1.0, out_bias=float(lo),
    )  # fmt: skip
    mul = helper.make_node("Mul", [mt_out, s_name], [trunc.output[0]], name=f"{base}_scale")
    idx = model.get_node_index(trunc)
    model.remove_node(trunc)
    model.graph.node.insert(idx, mt)
    model.graph.node.insert(idx + 1, mul)
    model.set_tensor_datatype(mt_out, out_dt)
    if not any(imp.domain == FINN_DOMAIN for imp in model.model.opset_import):
        model.model.opset_import.add(domain=FINN_DOMAIN, version=1)
    return True
