"""RTL builders of the elementwise and stream-plumbing layers: AddStreams, DuplicateStreams, ChannelwiseOp.

The cores ``qnncc_add``, ``qnncc_dup`` and ``qnncc_channelwise`` compute
what the HLS backend's ``streams.hpp``/``channelwise.hpp`` compute; the
range checks (output datatype holds every result) are the HLS builders'.
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layers.elementwise import add_streams_code, channelwise_code
from qnncc.core.datatype import Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

from ..render import CodegenError
from .layer import RtlLayer, dt_params, new_rtl_layer, rom_file, signed_bits
from .mlp import ram_style

__all__ = ["CHANNELWISE_OPCODES", "add_streams_rtl", "channelwise_rtl", "duplicate_streams_rtl"]

#: ChannelwiseOp ``Func`` -> ``OP`` parameter of ``qnncc_channelwise``.
CHANNELWISE_OPCODES = {"add": 0, "mul": 1, "cmp_le": 2, "cmp_ge": 3}


def add_streams_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of an AddStreams node (``qnncc_add``; inputs may differ in datatype).

    Raises:
        CodegenError: for non-integer streams or an output datatype that cannot hold every sum.
    """
    add_streams_code(model, node, layer)  # the HLS builder's checks (two inputs, output range)
    rtl = new_rtl_layer(model, node, layer, "qnncc_add")
    rtl.single_stream = False
    rtl.params["PE"] = int(layer.attrs["PE"])
    rtl.params.update(dt_params(layer.input_datatype(0), "A"))
    rtl.params.update(dt_params(layer.input_datatype(1), "B"))
    rtl.params["OUT_BITS"] = layer.output_datatype().bitwidth()
    return rtl


def duplicate_streams_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a DuplicateStreams node (``qnncc_dup`` with ``NumOutputStreams`` outputs).

    Raises:
        CodegenError: for fewer than two outputs or non-integer streams.
    """
    rtl = new_rtl_layer(model, node, layer, "qnncc_dup")
    if len(rtl.inputs) != 1 or len(rtl.outputs) < 2:
        raise CodegenError(f"{node.name}: DuplicateStreams needs one input and at least two outputs")
    dt_params(layer.input_datatype(), f"{node.name} stream")
    rtl.single_stream = False
    rtl.params.update({"N": len(rtl.outputs), "WIDTH": rtl.bits["in0_V"]})
    return rtl


def channelwise_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a ChannelwiseOp node (``qnncc_channelwise``; parameters in a ROM).

    Raises:
        CodegenError: as the HLS builder (unsupported ``Func``, non-integer
            parameters, an output datatype that cannot hold every result).
    """
    channelwise_code(model, node, layer)  # the HLS builder's checks (Func, integer parameters, output range)
    a = layer.attrs
    channels, pe, func = int(a["NumChannels"]), int(a["PE"]), str(a["Func"])
    p = np.asarray(model.get_initializer(node.input[1]), dtype=np.float64).reshape(channels).astype(np.int64)
    p_w = signed_bits(min(int(p.min()), 0), max(int(p.max()), 0))
    rtl = new_rtl_layer(model, node, layer, "qnncc_channelwise")
    filename = f"{rtl.name}_params.dat"
    rtl.roms[filename] = rom_file(p.reshape(channels // pe, pe), f"INT{p_w}")
    rtl.params.update({"C": channels, "PE": pe})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    odt = layer.output_datatype()
    rtl.params.update(
        {"P_W": p_w, "WIDE": layer.input_datatype().bitwidth() + p_w + 2, "OP": CHANNELWISE_OPCODES[func]}
    )
    rtl.params.update({"OUT_BITS": odt.bitwidth(), "OUT_BIPOLAR": int(odt.kind is Kind.BIPOLAR)})
    rtl.params.update({"P_FILE": filename, "RAM_STYLE": ram_style(layer, "distributed")})
    return rtl
