"""Datatype rules of standard ONNX ops, used by :class:`InferDataTypes`.

A rule returns the datatypes of a node's outputs from the datatypes (and,
for constants, the values) of its inputs. Integer results are derived by
interval arithmetic on the value ranges, so an annotation never claims less
than the op can produce. Integer arithmetic runs in float32 in these graphs,
so a result only keeps an integer type while it and, for dot products, every
partial sum is exactly representable (magnitude at most 2**24); otherwise it
is FLOAT32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import TensorProto

from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper

# from_name, not DataType[...]: mypy would read a module-level subscript as a type alias
FLOAT32 = DataType.from_name("FLOAT32")
BIPOLAR = DataType.from_name("BIPOLAR")
TERNARY = DataType.from_name("TERNARY")
#: Largest magnitude up to which float32 holds every integer exactly.
EXACT_FLOAT32 = 2**24

Range = tuple[float, float]
Rule = Callable[[ModelWrapper, onnx.NodeProto], list[DataType]]


# ----------------------------------------------------------------- inputs
def input_datatype(model: ModelWrapper, name: str) -> DataType:
    """Datatype of an input: its non-float annotation, else derived from a constant's values."""
    if not name:
        return FLOAT32
    annotated = model.get_tensor_datatype(name)
    if not annotated.is_float():
        return annotated
    value = model.get_initializer(name)
    bounds = _value_range(value) if value is not None else None
    return FLOAT32 if bounds is None else _range_type(bounds)


def input_range(model: ModelWrapper, name: str) -> Range | None:
    """Integer value range of an input, or None if it may hold non-integers."""
    value = model.get_initializer(name) if name else None
    if value is not None:
        return _value_range(value)
    dt = input_datatype(model, name)
    return (float(dt.min()), float(dt.max())) if dt.is_integer() else None


def _value_range(value: np.ndarray) -> Range | None:
    if value.dtype.kind not in "biuf" or value.size == 0:
        return None
    arr = value.astype(np.float64)
    if not bool(np.all(np.isfinite(arr))) or not bool(np.all(arr == np.round(arr))):
        return None
    return float(arr.min()), float(arr.max())


def _range_type(bounds: Range | None, exact_limit: float = EXACT_FLOAT32) -> DataType:
    """Smallest integer type for ``bounds``; FLOAT32 if None or beyond ``exact_limit``."""
    if bounds is None or max(abs(bounds[0]), abs(bounds[1])) > exact_limit:
        return FLOAT32
    lo, hi = bounds
    if lo == -1 and hi == 1:
        return TERNARY
    return DataType.smallest_for_range(lo, hi)


def _union(types: Sequence[DataType], ranges: Sequence[Range | None]) -> DataType:
    if types and all(t == types[0] for t in types):
        return types[0]
    if any(r is None for r in ranges):
        return FLOAT32
    return _range_type((min(r[0] for r in ranges if r), max(r[1] for r in ranges if r)))


# ----------------------------------------------------------------- rules
def _passthrough(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    """Output 0 holds a subset of input 0's values (data movement, max pooling)."""
    return [input_datatype(model, node.input[0])] + [FLOAT32] * (len(node.output) - 1)


def _split(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    return [input_datatype(model, node.input[0])] * len(node.output)


def _union_of(indices: slice) -> Rule:
    def rule(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
        names = [t for t in node.input[indices] if t]
        types = [input_datatype(model, t) for t in names]
        return [_union(types, [input_range(model, t) for t in names])]

    return rule


def _resize(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    mode = model.get_nodeattr(node, "mode", "nearest")
    return _passthrough(model, node) if mode == "nearest" else [FLOAT32]


def _pad(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    if model.get_nodeattr(node, "mode", "constant") != "constant":
        return _passthrough(model, node)
    if len(node.input) > 2 and node.input[2]:
        fill = model.get_initializer(node.input[2])
        if fill is None:
            return [FLOAT32]
        value = float(fill.reshape(-1)[0]) if fill.size else 0.0
    else:
        value = float(model.get_nodeattr(node, "value", 0.0))
    fill_range = (value, value) if value.is_integer() else None
    types = [input_datatype(model, node.input[0]), _range_type(fill_range)]
    return [_union(types, [input_range(model, node.input[0]), fill_range])]


def _clip(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    bounds = input_range(model, node.input[0])
    if bounds is None:
        return [FLOAT32]
    lo, hi = bounds
    limits = [model.get_nodeattr(node, "min"), model.get_nodeattr(node, "max")]
    for k in (1, 2):
        if len(node.input) > k and node.input[k]:
            value = model.get_initializer(node.input[k])
            limits[k - 1] = None if value is None else float(value.reshape(-1)[0])
            if value is None:
                return [FLOAT32]
    if limits[0] is not None:
        lo, hi = max(lo, limits[0]), max(hi, limits[0])
    if limits[1] is not None:
        lo, hi = min(lo, limits[1]), min(hi, limits[1])
    if not (float(lo).is_integer() and float(hi).is_integer()):
        return [FLOAT32]
    dt = input_datatype(model, node.input[0])
    return [dt if (lo, hi) == (dt.min(), dt.max()) else _range_type((lo, hi))]


def _relu(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    bounds = input_range(model, node.input[0])
    return [FLOAT32 if bounds is None else _range_type((max(bounds[0], 0.0), max(bounds[1], 0.0)))]


def _neg(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    dt = input_datatype(model, node.input[0])
    bounds = input_range(model, node.input[0])
    if bounds is None:
        return [FLOAT32]
    return [dt if dt in (BIPOLAR, TERNARY) else _range_type((-bounds[1], -bounds[0]))]


def _round(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    """Round/Floor/Ceil leave integers alone; of other values the range is unknown."""
    return _passthrough(model, node) if input_range(model, node.input[0]) is not None else [FLOAT32]


def _sign(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    """Sign is {-1, 0, 1}: BIPOLAR if 0 cannot occur or the exporter annotated it so (Brevitas/FINN)."""
    if input_datatype(model, node.input[0]) == BIPOLAR or model.get_tensor_datatype(node.output[0]) == BIPOLAR:
        return [BIPOLAR]
    bounds = input_range(model, node.input[0])
    if bounds is None:
        return [TERNARY]
    return [_range_type((float(np.sign(bounds[0])), float(np.sign(bounds[1]))))]


def _indices(model: ModelWrapper, node: onnx.NodeProto, out: int) -> DataType:
    """Type of an index output along ``axis`` (keeps a wider integer annotation)."""
    shape = model.get_tensor_shape(node.input[0])
    axis = int(model.get_nodeattr(node, "axis", -1 if node.op_type == "TopK" else 0))
    if shape is None or not shape or not -len(shape) <= axis < len(shape):
        return FLOAT32
    needed = DataType.smallest_for_range(0, max(shape[axis] - 1, 0))
    existing = model.get_tensor_datatype(node.output[out])
    if existing.is_integer() and existing.min() <= 0 and existing.max() >= needed.max():
        return existing
    return needed


def _topk(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    return [input_datatype(model, node.input[0]), _indices(model, node, 1)][: len(node.output)]


def _argminmax(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    return [_indices(model, node, 0)]


_ONNX_INT_TYPES: dict[int, tuple[int, int]] = {
    TensorProto.BOOL: (0, 1),
    TensorProto.INT8: (-(2**7), 2**7 - 1),
    TensorProto.UINT8: (0, 2**8 - 1),
    TensorProto.INT16: (-(2**15), 2**15 - 1),
    TensorProto.UINT16: (0, 2**16 - 1),
    TensorProto.INT32: (-(2**31), 2**31 - 1),
    TensorProto.UINT32: (0, 2**32 - 1),
    TensorProto.INT64: (-(2**63), 2**63 - 1),
    TensorProto.UINT64: (0, 2**64 - 1),
}
_ONNX_FLOAT_EXACT: dict[int, int] = {TensorProto.FLOAT: 2**24, TensorProto.DOUBLE: 2**53, TensorProto.FLOAT16: 2**11}


def _cast(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    to = int(model.get_nodeattr(node, "to", 0))
    dt = input_datatype(model, node.input[0])
    bounds = input_range(model, node.input[0])
    if to in _ONNX_INT_TYPES:
        lo, hi = _ONNX_INT_TYPES[to]
        if bounds is not None and lo <= bounds[0] and bounds[1] <= hi:
            return [dt]
        return [DataType.smallest_for_range(lo, hi) if to != TensorProto.BOOL else DataType["BINARY"]]
    exact = _ONNX_FLOAT_EXACT.get(to)
    if exact is not None and bounds is not None and max(abs(bounds[0]), abs(bounds[1])) <= exact:
        return [dt]
    return [FLOAT32]


# ----------------------------------------------------------------- MAC-like ops
def _mac_type(bounds: tuple[np.ndarray, np.ndarray], bias: np.ndarray | Range) -> DataType:
    """Integer type of a dot product plus bias, FLOAT32 if a partial sum may be inexact in float32.

    Every term interval contains 0 (see :func:`_dot_bounds`), so each partial
    sum of the products, in any order or blocking, lies in ``[lo, hi]`` of the
    whole sum; with the bias added first or last, in the hull of that and
    ``[lo + b, hi + b]``. All of these must stay within 2**24.
    """
    lo, hi = bounds
    if isinstance(bias, np.ndarray) and bias.size in (1, lo.size):
        b = bias.astype(np.float64).reshape(-1)
        lo_b, hi_b = lo + b, hi + b
    else:
        if isinstance(bias, np.ndarray):  # layout unknown: use the bias range
            bias = (float(bias.min()), float(bias.max()))
        lo_b, hi_b = lo + bias[0], hi + bias[1]
    hull = max(float(np.abs(lo).max()), float(np.abs(hi).max()), float(np.abs(lo_b).max()), float(np.abs(hi_b).max()))
    return FLOAT32 if hull > EXACT_FLOAT32 else _range_type((float(lo_b.min()), float(hi_b.max())))


def _product(a: Range, b: Range) -> Range:
    corners = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return min(corners), max(corners)


def _dot_bounds(weights: np.ndarray, x: Range, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output bounds of ``sum_k w_k * x_k`` over ``axis`` for ``x_k`` in the range ``x``.

    Each term's interval is widened to contain 0. Integer datatypes all
    contain 0, so this only loosens bounds when ``x`` is a constant, and it
    covers zero padding (Conv) and makes every partial sum a sub-interval.
    """
    w = weights.astype(np.float64)
    t1, t2 = w * x[0], w * x[1]
    t_lo, t_hi = np.minimum(np.minimum(t1, t2), 0.0), np.maximum(np.maximum(t1, t2), 0.0)
    return t_lo.sum(axis=axis), t_hi.sum(axis=axis)


def _scalar_bounds(k: int, a: Range, b: Range) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of a dot product of length ``k`` of values in ranges ``a`` and ``b``."""
    lo, hi = _product(a, b)
    return np.array([k * min(lo, 0.0)]), np.array([k * max(hi, 0.0)])


def _bias(model: ModelWrapper, node: onnx.NodeProto, index: int, outputs: int) -> np.ndarray | Range | None:
    """Bias input as per-output values (shape ``[n]``, ``[1, n]`` or scalar) or a range; None if not integer."""
    name = node.input[index] if len(node.input) > index else ""
    if not name:
        return (0.0, 0.0)
    value = model.get_initializer(name)
    if value is None:
        return input_range(model, name)
    bounds = _value_range(value)
    if bounds is None:
        return None
    return value if value.size == 1 or value.shape in ((outputs,), (1, outputs)) else bounds


def _matmul(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    a, b = node.input[0], node.input[1]
    ra, rb = input_range(model, a), input_range(model, b)
    wa, wb = model.get_initializer(a), model.get_initializer(b)
    if ra is None or rb is None:
        return [FLOAT32]
    if wb is not None:
        bounds = _dot_bounds(wb if wb.ndim >= 2 else wb.reshape(-1, 1), ra, axis=-2)
    elif wa is not None:
        bounds = _dot_bounds(wa if wa.ndim >= 2 else wa.reshape(1, -1), rb, axis=-1)
    else:
        shape = model.get_tensor_shape(a)
        if not shape:
            return [FLOAT32]
        bounds = _scalar_bounds(shape[-1], ra, rb)
    return [_mac_type(bounds, (0.0, 0.0))]


def _gemm(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    a, b = node.input[0], node.input[1]
    ra, rb = input_range(model, a), input_range(model, b)
    alpha, beta = float(model.get_nodeattr(node, "alpha", 1.0)), float(model.get_nodeattr(node, "beta", 1.0))
    if ra is None or rb is None or alpha != 1.0 or (beta != 1.0 and len(node.input) > 2):
        return [FLOAT32]
    wb = model.get_initializer(b)
    if wb is not None and wb.ndim == 2:
        wb = wb.T if model.get_nodeattr(node, "transB", 0) else wb
        bounds = _dot_bounds(wb, ra, axis=0)
    else:
        shape = model.get_tensor_shape(a)
        if shape is None or len(shape) != 2:
            return [FLOAT32]
        bounds = _scalar_bounds(shape[0] if model.get_nodeattr(node, "transA", 0) else shape[1], ra, rb)
    bias = _bias(model, node, 2, bounds[0].size)
    return [FLOAT32] if bias is None else [_mac_type(bounds, bias)]


def _conv(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
    x, w = node.input[0], node.input[1]
    rx, rw = input_range(model, x), input_range(model, w)
    if rx is None or rw is None:
        return [FLOAT32]
    wv = model.get_initializer(w)
    if wv is not None and wv.ndim >= 2:
        bounds = _dot_bounds(wv.reshape(wv.shape[0], -1), rx, axis=1)
    else:
        shape = model.get_tensor_shape(w)
        if not shape:
            return [FLOAT32]
        bounds = _scalar_bounds(int(np.prod(shape[1:])), rx, rw)
    bias = _bias(model, node, 2, bounds[0].size)
    return [FLOAT32] if bias is None else [_mac_type(bounds, bias)]


def _elementwise(op: str) -> Rule:
    def rule(model: ModelWrapper, node: onnx.NodeProto) -> list[DataType]:
        types = [input_datatype(model, t) for t in node.input[:2]]
        ra, rb = input_range(model, node.input[0]), input_range(model, node.input[1])
        if ra is None or rb is None:
            return [FLOAT32]
        if op == "Mul" and types == [BIPOLAR, BIPOLAR]:
            return [BIPOLAR]
        if op == "Add":
            lo, hi = ra[0] + rb[0], ra[1] + rb[1]
        elif op == "Sub":
            lo, hi = ra[0] - rb[1], ra[1] - rb[0]
        else:
            lo, hi = _product(ra, rb)
        return [_range_type((lo, hi))]  # a single rounding: exact while |result| <= 2**24

    return rule


_PASSTHROUGH = (
    *("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Expand", "Tile", "Compress"),
    *("MaxPool", "GlobalMaxPool", "ReduceMax", "ReduceMin", "Dropout", "SpaceToDepth", "DepthToSpace"),
    *("Slice", "Gather", "GatherElements", "GatherND"),
)

#: Datatype rule of each supported standard op type (others produce FLOAT32).
RULES: dict[str, Rule] = {
    **dict.fromkeys(_PASSTHROUGH, _passthrough),
    **dict.fromkeys(("Round", "Floor", "Ceil"), _round),
    **dict.fromkeys(("Concat", "Max", "Min"), _union_of(slice(None))),
    **dict.fromkeys(("Scatter", "ScatterElements", "ScatterND"), _union_of(slice(0, 3, 2))),
    **dict.fromkeys(("ArgMax", "ArgMin"), _argminmax),
    **{op: _elementwise(op) for op in ("Add", "Sub", "Mul")},
    "Where": _union_of(slice(1, 3)),
    "Split": _split,
    "Resize": _resize,
    "Upsample": _resize,
    "Pad": _pad,
    "Clip": _clip,
    "Relu": _relu,
    "Neg": _neg,
    "Sign": _sign,
    "TopK": _topk,
    "Cast": _cast,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Conv": _conv,
}
