"""Helpers shared by the per-op HLS builders."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype, stream_ports, top_name
from qnncc.codegen.hls.param_files import TableData, runtime_params
from qnncc.codegen.render import CodegenError, render
from qnncc.core.datatype import DataType, Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = [
    "LayerBuilder",
    "frame_vectors",
    "int_ctype",
    "mul_res",
    "nested_init",
    "new_layer_code",
    "param_header",
    "required_initializer",
    "signed_bits",
]

#: A per-op builder: (model, node, layer) -> LayerCode.
LayerBuilder = Callable[[ModelWrapper, onnx.NodeProto, HWLayer], LayerCode]


def new_layer_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer, headers: list[str]) -> LayerCode:
    """A :class:`LayerCode` with name and ports filled in; the builder adds body and params."""
    return LayerCode(top_name(node), node.name, node.op_type, stream_ports(model, node, layer), headers, [])


def frame_vectors(layer: HWLayer, index: int = 0) -> int:
    """Vectors per frame: the product of the input shape between batch and channel axes."""
    shape = layer.normal_input_shape(index)
    return math.prod(int(d) for d in shape[1:-1])


def required_initializer(model: ModelWrapper, node: onnx.NodeProto, index: int, what: str) -> np.ndarray:
    """Input ``index`` of ``node`` as a constant array.

    Raises:
        CodegenError: if the input is missing or not an initializer.
    """
    if len(node.input) <= index or not node.input[index]:
        raise CodegenError(f"{node.name}: missing {what} input")
    value = model.get_initializer(node.input[index])
    if value is None:
        raise CodegenError(f"{node.name}: {what} {node.input[index]!r} must be a constant initializer")
    return value


def signed_bits(lo: int, hi: int) -> int:
    """Bits of the smallest two's complement type holding ``[lo, hi]``."""
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def int_ctype(lo: int, hi: int) -> str:
    """``ap_int<B>`` holding every integer in ``[lo, hi]``."""
    return f"ap_int<{signed_bits(lo, hi)}>"


def nested_init(values: np.ndarray) -> str:
    """C brace initialiser of an integer array of any rank, e.g. ``{{1, 2}, {3, 4}}``."""
    if values.ndim == 0:
        return str(int(values))
    return "{" + ", ".join(nested_init(v) for v in values) + "}"


def param_header(
    code: LayerCode,
    what: str,
    ctype: str,
    var: str,
    dims: str,
    init: str,
    headers: list[str],
    comment: str = "",
    *,
    table: TableData | None = None,
    first: str | None = None,
) -> str:
    """Render one parameter header (``static const ctype var dims = init;``) and return its file name.

    With ``table`` (the same values in the file layout of
    :mod:`~qnncc.codegen.hls.param_files`) the header also gets its C-simulation
    twin, which reads the values at run time; ``first`` is the address of
    element 0 (default ``&var[0]...[0]`` over ``dims``).
    """
    filename = f"{what}_{code.name}.h"
    guard = f"QNNCC_{what.upper()}_{code.name.upper()}_H"
    text = render(
        "params.h.j2",
        {
            "what": what,
            "node_name": code.node_name,
            "comment": comment,
            "guard": guard,
            "headers": headers,
            "ctype": ctype,
            "var": var,
            "dims": dims,
            "init": init,
        },
    )
    code.params[filename] = text
    if table is not None:
        code.runtime_params[filename] = runtime_params(
            what=what,
            layer=code.name,
            node_name=code.node_name,
            ctype=ctype,
            var=var,
            dims=dims,
            first=first or f"&{var}{'[0]' * dims.count('[')}",
            table=table,
            headers=headers,
            comment=comment,
        )
    return filename


#: ram_style -> Vitis HLS storage implementation of a line buffer (``auto`` lets the tool choose).
RAM_IMPL = {"block": "bram", "distributed": "lutram", "ultra": "uram"}


def int_list(layer: HWLayer, name: str, count: int) -> list[int]:
    """Attribute ``name`` as ``count`` ints.

    Raises:
        CodegenError: if it has another length.
    """
    values = [int(v) for v in layer.attrs[name]]
    if len(values) != count:
        raise CodegenError(f"{layer.node.name}: {name}={values} must have {count} entries")
    return values


def same_stream_type(layer: HWLayer, node: onnx.NodeProto) -> str:
    """C++ element type of a layer whose output datatype is its input's.

    Raises:
        CodegenError: if the datatypes differ or are not integers.
    """
    idt, odt = layer.input_datatype(), layer.output_datatype()
    if idt != odt:
        raise CodegenError(f"{node.name}: input {idt.name} and output {odt.name} datatypes must be equal")
    return cpp_datatype(idt, f"{node.name} stream")


def holds_range(dt: DataType, lo: int, hi: int) -> bool:
    """Whether every integer in ``[lo, hi]`` is a value of ``dt`` (BIPOLAR holds only a single ``-1`` or ``+1``)."""
    if dt.kind is Kind.BIPOLAR:
        return lo == hi and lo in (-1, 1)
    return dt.min() <= lo and hi <= dt.max()


def int_range(dt: DataType) -> tuple[int, int]:
    """``(min, max)`` of an integer datatype as Python ints."""
    return int(dt.min()), int(dt.max())


#: resType -> the multiplier binding of ``mul.hpp`` (``qnncc::RES_AUTO``, ``RES_LUT``, ``RES_DSP``).
MUL_RES = {"auto": "qnncc::RES_AUTO", "lut": "qnncc::RES_LUT", "dsp": "qnncc::RES_DSP"}


def mul_res(layer: HWLayer) -> str:
    """The ``RES`` template argument of an MVAU/VVAU from its ``resType`` (``dsp`` binds its products to DSPs).

    Raises:
        CodegenError: for a ``resType`` other than auto, lut or dsp.
    """
    res = str(layer.attrs.get("resType", "auto"))
    if res not in MUL_RES:
        raise CodegenError(f"{layer.node.name}: resType={res!r}, expected one of {sorted(MUL_RES)}")
    return MUL_RES[res]
