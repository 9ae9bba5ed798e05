"""HLS builder of finn-plus's ``Elementwise<Op>`` layers (``qnncc::elementwise_binary`` in ``elementwise_binary.hpp``).

The walk of :mod:`qnncc.hw.layers.broadcast`; a constant operand becomes the table
``<side>_<name>`` in ``<side>_<name>.h`` (``[words][elems]``); the operation is computed exactly
in a signed type wide enough for both operands and every result, then encoded in ``out_dtype``.
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import int_ctype, nested_init, new_layer_code, param_header, signed_bits
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType, Kind
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.broadcast import MODE_CONST
from qnncc.hw.layers.elementwise_binary import ELEMENTWISE_OPS, ElementwiseBinary

__all__ = ["elementwise_code", "result_range"]


def _holds(dt: DataType, lo: int, hi: int) -> bool:
    if dt.kind is Kind.BIPOLAR:
        return lo == hi and lo in (-1, 1)
    return dt.min() <= lo and hi <= dt.max()


def result_range(operation: str, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Range of ``operation(x, y)`` over ``x`` in ``a = (lo, hi)`` and ``y`` in ``b``.

    Raises:
        CodegenError: for ``Div`` (numpy's true division has no exact integer hardware).
    """
    (alo, ahi), (blo, bhi) = a, b
    kind = ELEMENTWISE_OPS[operation][2]
    if operation == "Add":
        return alo + blo, ahi + bhi
    if operation == "Sub":
        return alo - bhi, ahi - blo
    if operation == "Mul":
        corners = [x * y for x in (alo, ahi) for y in (blo, bhi)]
        return min(corners), max(corners)
    if operation == "Maximum":
        return max(alo, blo), max(ahi, bhi)
    if operation == "Minimum":
        return min(alo, blo), min(ahi, bhi)
    if kind in ("logic", "compare"):
        return 0, 1
    if kind == "bitwise":
        if min(alo, blo) >= 0:
            return 0, (1 << max(ahi, bhi).bit_length()) - 1
        bits = signed_bits(min(alo, blo), max(ahi, bhi))
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    raise CodegenError(f"Elementwise{operation} has no exact integer hardware (numpy true division)")


def elementwise_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an ``Elementwise<Op>`` node.

    Raises:
        CodegenError: for float operands, ``Div``, broadcasting the walk does not cover, a
            constant operand whose ``<side>_style`` is not ``"const"`` (or the reverse), a
            non-integer constant, or an ``out_dtype`` that cannot hold every result (the
            hardware would wrap where ``execute`` does not).
    """
    if not isinstance(layer, ElementwiseBinary):
        raise CodegenError(f"{node.name}: expected an elementwise layer, got {type(layer).__name__}")
    for side, operand, const in zip(("lhs", "rhs"), node.input, layer.const_operands(), strict=True):
        if (model.get_initializer(operand) is not None) != const:
            raise CodegenError(
                f"{node.name}: {side} {operand!r} is {'not ' if const else ''}a constant but {side}_style is "
                f"{layer.attrs[f'{side}_style']!r}"
            )
    if not layer.stream_operands():
        raise CodegenError(f"{node.name}: both operands are constants; fold the node first")
    try:
        plan = layer.walk()
    except UnsupportedOpError as err:
        raise CodegenError(str(err)) from None
    code = new_layer_code(model, node, layer, ["qnncc/elementwise_binary.hpp"])
    ranges, args, traits = [], [], []
    for i, (side, op) in enumerate(zip(("lhs", "rhs"), plan.operands, strict=True)):
        dt = layer.operand_datatype(i)
        ctype = cpp_datatype(dt, f"{node.name} {side}")
        if op.mode == MODE_CONST:
            ranges.append(_const_table(model, node, layer, i, side, op.elems, code))
            stream = f"unused_{side}"
            code.body.append(f"hls::stream<ap_uint<8> > {stream};")
        else:
            ranges.append((int(dt.min()), int(dt.max())))
            stream = f"in{layer.stream_operands().index(i)}_V"
            code.body.append(f"static const ap_int<2> {side}_none[1][{op.elems}] = {{}};")
        strides = ", ".join(str(s) for s in op.strides)
        traits.append(f"qnncc::EwOperand<{ctype}, {op.elems}, {op.mode}, {op.words}, {strides}, {op.bmask}>")
        args.append((stream, f"{side}_{code.name}" if op.mode == MODE_CONST else f"{side}_none"))
    try:
        lo, hi = result_range(layer.operation, ranges[0], ranges[1])
    except CodegenError as err:
        raise CodegenError(f"{node.name}: {err}") from None
    odt = layer.output_datatype()
    out_t = cpp_datatype(odt, f"{node.name} output")
    if not _holds(odt, lo, hi):
        raise CodegenError(
            f"{node.name}: out_dtype {odt.name} cannot hold the {layer.operation} results in [{lo}, {hi}]; "
            "the hardware would wrap"
        )
    wide = f"ap_int<{signed_bits(min(lo, *(r[0] for r in ranges)), max(hi, *(r[1] for r in ranges)))}>"
    dims = ", ".join(str(d) for d in plan.dims)
    op_struct = f"qnncc::Ew{layer.operation}"
    (ls, lrom), (rs, rrom) = args
    code.body.append(
        f"qnncc::elementwise_binary<{dims}, {plan.pe}, {op_struct}, {wide}, {out_t}, {traits[0]}, {traits[1]}>"
        f"({ls}, {rs}, out0_V, {lrom}, {rrom});"
    )
    return code


def _const_table(
    model: ModelWrapper, node: onnx.NodeProto, layer: ElementwiseBinary, i: int, side: str, elems: int, code: LayerCode
) -> tuple[int, int]:
    """Write the table ``[words][elems]`` of constant operand ``i`` and return its value range."""
    value = np.asarray(model.get_initializer(node.input[i]), dtype=np.float64)
    shape = layer.operand_shape(i)
    if value.size != int(np.prod(shape)):
        raise CodegenError(f"{node.name}: {side} holds {value.size} values for {side}_shape {list(shape)}")
    if not (np.isfinite(value).all() and (value == np.round(value)).all()):
        raise CodegenError(f"{node.name}: constant {side} must hold integers for HLS")
    table = value.astype(np.int64).reshape(-1, elems)
    lo, hi = int(table.min()), int(table.max())
    var = f"{side}_{code.name}"
    param_header(
        code, f"{side}", int_ctype(min(lo, 0), max(hi, 0)), var, f"[{table.shape[0]}][{elems}]", nested_init(table), []
    )
    code.pragmas.append(f"ARRAY_PARTITION variable = {var} complete dim = 2")
    return lo, hi
