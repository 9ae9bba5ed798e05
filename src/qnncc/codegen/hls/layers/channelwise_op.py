"""HLS builder of ChannelwiseOp: ``qnncc::channelwise`` of ``channelwise.hpp``.

``Func`` ``add``/``mul``/``cmp_le``/``cmp_ge`` is evaluated as ``Func(p[c], x)`` with the
per-channel integer parameters in ``params_<name>.h`` as ``[pe][nf]``; the output datatype must
hold every result.
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import (
    frame_vectors,
    holds_range,
    int_ctype,
    int_range,
    nested_init,
    new_layer_code,
    param_header,
    required_initializer,
    signed_bits,
)
from qnncc.codegen.hls.param_files import int_table
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = ["CHANNELWISE_OPS", "PARAM_ROM_IMPL", "channelwise_code"]

#: ChannelwiseOp ``Func`` -> operation struct of ``channelwise.hpp``.
CHANNELWISE_OPS = {
    "add": "qnncc::ChannelwiseAdd",
    "mul": "qnncc::ChannelwiseMul",
    "cmp_le": "qnncc::ChannelwiseCmpLe",
    "cmp_ge": "qnncc::ChannelwiseCmpGe",
}

#: ChannelwiseOp ``ram_style`` -> Vitis HLS storage implementation of the parameter ROM.
PARAM_ROM_IMPL = {"block": "bram", "distributed": "lutram"}


def _channelwise_params(model: ModelWrapper, node: onnx.NodeProto, channels: int) -> np.ndarray:
    """The ``[C]`` integer parameters of a ChannelwiseOp node.

    Raises:
        CodegenError: if they are not a constant, do not fit ``channels`` or are not integers.
    """
    value = np.asarray(required_initializer(model, node, 1, "parameters"), dtype=np.float64)
    if value.size != channels:
        raise CodegenError(f"{node.name}: {value.size} parameters (shape {list(value.shape)}) for {channels} channels")
    value = value.reshape(channels)
    if not (np.isfinite(value).all() and (value == np.round(value)).all()):
        bad = value[~(np.isfinite(value) & (value == np.round(value)))][:3].tolist()
        raise CodegenError(
            f"{node.name}: ChannelwiseOp parameters must be integers for HLS (e.g. {bad}); "
            "fold the scale into thresholds first"
        )
    if np.abs(value).max(initial=0) >= 2.0**62:
        raise CodegenError(f"{node.name}: ChannelwiseOp parameters exceed 62 bits")
    return value.astype(np.int64)


def _channelwise_range(func: str, ilo: int, ihi: int, plo: int, phi: int) -> tuple[int, int]:
    """Range of ``Func(p, x)`` over ``x in [ilo, ihi]`` and ``p in [plo, phi]``."""
    if func == "add":
        return ilo + plo, ihi + phi
    if func == "mul":
        corners = [a * b for a in (ilo, ihi) for b in (plo, phi)]
        return min(corners), max(corners)
    return 0, 1


def channelwise_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a ChannelwiseOp node.

    The operation is computed exactly in a signed type wide enough for every
    input, parameter and result (so no intermediate wraps) and then encoded
    in ``outputDataType``.

    Raises:
        CodegenError: for an unsupported ``Func``, non-integer parameters or
            streams, or an ``outputDataType`` that cannot hold every result
            (the hardware would wrap where ``execute`` does not).
    """
    a = layer.attrs
    channels, pe, func = int(a["NumChannels"]), int(a["PE"]), str(a["Func"])
    if func not in CHANNELWISE_OPS:
        raise CodegenError(
            f"{node.name}: ChannelwiseOp Func={func!r} has no HLS implementation ({sorted(CHANNELWISE_OPS)})"
        )
    code = new_layer_code(model, node, layer, ["qnncc/channelwise.hpp"])
    idt, odt = layer.input_datatype(), layer.output_datatype()
    in_t = cpp_datatype(idt, f"{node.name} input")
    out_t = cpp_datatype(odt, f"{node.name} output")
    p = _channelwise_params(model, node, channels)
    (ilo, ihi), (plo, phi) = int_range(idt), (int(p.min()), int(p.max()))
    lo, hi = _channelwise_range(func, ilo, ihi, plo, phi)
    bipolar_product = (
        odt.kind is Kind.BIPOLAR and func == "mul" and idt.kind is Kind.BIPOLAR and bool(np.all(np.abs(p) == 1))
    )
    if not (bipolar_product or holds_range(odt, lo, hi)):
        raise CodegenError(
            f"{node.name}: outputDataType {odt.name} cannot hold the {func} results in [{lo}, {hi}] "
            f"(input {idt.name}, parameters in [{plo}, {phi}]); the hardware would wrap"
        )
    wide = f"ap_int<{signed_bits(min(ilo, plo, lo), max(ihi, phi, hi))}>"
    nf = channels // pe
    table = p.reshape(nf, pe).T  # [pe][nf]: channel c = nf * PE + pe
    var = f"params_{code.name}"
    param_header(
        code,
        "params",
        int_ctype(min(plo, 0), max(phi, 0)),
        var,
        f"[{pe}][{nf}]",
        nested_init(table),
        [],
        f"// [pe][nf]: parameter of channel c = nf * {pe} + pe",
        table=int_table(table, signed_bits(min(plo, 0), max(phi, 0))),
    )
    code.pragmas.append(f"ARRAY_PARTITION variable = {var} complete dim = 1")
    impl = PARAM_ROM_IMPL.get(str(a.get("ram_style", "distributed")))
    if impl is not None:
        code.pragmas.append(f"BIND_STORAGE variable = {var} type = rom_1p impl = {impl}")
    vecs = frame_vectors(layer)
    op = CHANNELWISE_OPS[func]
    code.body.append(
        f"qnncc::channelwise<{channels}, {pe}, {vecs}, {in_t}, {out_t}, {wide}, {op}>(in0_V, out0_V, {var});"
    )
    return code


#: op type -> builder for this group.
