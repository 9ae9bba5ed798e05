"""HLS builders of the elementwise and stream-plumbing layers (AddStreams, DuplicateStreams, ChannelwiseOp, FIFO).

Library functions (``hls_templates/include/qnncc``):

* ``AddStreams`` -> ``qnncc::add_streams`` (``streams.hpp``): exact sum of
  the two input elements, encoded in the layer's output datatype;
* ``DuplicateStreams`` -> ``qnncc::duplicate_streams`` (``streams.hpp``):
  every word copied to each output;
* ``ChannelwiseOp`` -> ``qnncc::channelwise`` (``channelwise.hpp``) with
  ``Func`` ``add``/``mul``/``cmp_le``/``cmp_ge`` evaluated as
  ``Func(p[c], x)`` and the per-channel integer parameters in
  ``params_<name>.h`` as ``[pe][nf]``;
* ``StreamingFIFO`` -> ``qnncc::fifo`` (``fifo.hpp``): a DATAFLOW copy
  through an internal stream of ``depth`` words (a pass-through in C
  simulation; the stitch script uses Xilinx ``axis_data_fifo`` instead).
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import (
    frame_vectors,
    int_ctype,
    nested_init,
    new_layer_code,
    param_header,
    required_initializer,
    signed_bits,
)
from qnncc.codegen.hls.param_files import int_table
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType, Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = [
    "CHANNELWISE_OPS",
    "add_streams_code",
    "channelwise_code",
    "duplicate_streams_code",
    "fifo_code",
]

#: ChannelwiseOp ``Func`` -> operation struct of ``channelwise.hpp``.
CHANNELWISE_OPS = {
    "add": "qnncc::ChannelwiseAdd",
    "mul": "qnncc::ChannelwiseMul",
    "cmp_le": "qnncc::ChannelwiseCmpLe",
    "cmp_ge": "qnncc::ChannelwiseCmpGe",
}

#: ChannelwiseOp ``ram_style`` -> Vitis HLS storage implementation of the parameter ROM.
PARAM_ROM_IMPL = {"block": "bram", "distributed": "lutram"}


def _holds(dt: DataType, lo: int, hi: int) -> bool:
    """Whether every integer in ``[lo, hi]`` is a value of ``dt`` (BIPOLAR holds only a single ``-1`` or ``+1``)."""
    if dt.kind is Kind.BIPOLAR:
        return lo == hi and lo in (-1, 1)
    return dt.min() <= lo and hi <= dt.max()


def _int_range(dt: DataType) -> tuple[int, int]:
    return int(dt.min()), int(dt.max())


def add_streams_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an AddStreams node (inputs ``a``, ``b`` may differ in datatype).

    Raises:
        CodegenError: for non-integer streams or an output datatype that cannot
            hold every sum.
    """
    channels, pe = int(layer.attrs["NumChannels"]), int(layer.attrs["PE"])
    code = new_layer_code(model, node, layer, ["qnncc/streams.hpp"])
    if len(code.inputs) != 2:
        raise CodegenError(f"{node.name}: AddStreams needs two stream inputs, got {len(code.inputs)}")
    adt, bdt, odt = layer.input_datatype(0), layer.input_datatype(1), layer.output_datatype()
    a_t = cpp_datatype(adt, f"{node.name} input 0")
    b_t = cpp_datatype(bdt, f"{node.name} input 1")
    out_t = cpp_datatype(odt, f"{node.name} output")
    (alo, ahi), (blo, bhi) = _int_range(adt), _int_range(bdt)
    if not _holds(odt, alo + blo, ahi + bhi):
        raise CodegenError(f"{node.name}: output datatype {odt.name} cannot hold sums in [{alo + blo}, {ahi + bhi}]")
    vecs = frame_vectors(layer)
    code.body.append(f"qnncc::add_streams<{channels}, {pe}, {vecs}, {a_t}, {b_t}, {out_t}>(in0_V, in1_V, out0_V);")
    return code


def duplicate_streams_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a DuplicateStreams node (``NumOutputStreams`` >= 2 outputs).

    Raises:
        CodegenError: for non-integer streams or fewer than two outputs.
    """
    code = new_layer_code(model, node, layer, ["qnncc/streams.hpp"])
    outs = [p.name for p in code.outputs]
    if len(code.inputs) != 1 or len(outs) < 2:
        raise CodegenError(f"{node.name}: DuplicateStreams needs one input and at least two outputs, got {len(outs)}")
    words = code.inputs[0].words
    code.body.append(f"qnncc::duplicate_streams<{words}>(in0_V, {', '.join(outs)});")
    return code


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
    (ilo, ihi), (plo, phi) = _int_range(idt), (int(p.min()), int(p.max()))
    lo, hi = _channelwise_range(func, ilo, ihi, plo, phi)
    bipolar_product = (
        odt.kind is Kind.BIPOLAR and func == "mul" and idt.kind is Kind.BIPOLAR and bool(np.all(np.abs(p) == 1))
    )
    if not (bipolar_product or _holds(odt, lo, hi)):
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


def fifo_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a StreamingFIFO node (the top becomes a DATAFLOW region).

    Raises:
        CodegenError: for a non-integer stream.
    """
    code = new_layer_code(model, node, layer, ["qnncc/fifo.hpp"])
    depth = int(layer.attrs["depth"])
    port = code.inputs[0]
    dt = cpp_datatype(layer.input_datatype(), f"{node.name} stream")
    code.pragmas.append("DATAFLOW")
    code.body.append(f"qnncc::fifo<{depth}, {port.words}, ap_uint<{port.elems} * {dt}::bits> >(in0_V, out0_V);")
    return code


#: op type -> builder for this group.
