"""RTL builder of ChannelwiseOp: an instance of ``qnncc_channelwise`` (``hls_templates/rtl/qnncc_channelwise.v``).

The range check (output datatype holds every result) is the HLS builder's.
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layers.channelwise_op import channelwise_code
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    new_rtl_layer,
    ram_style,
    rom_file,
    signed_bits,
)
from qnncc.core.datatype import Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


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


#: ChannelwiseOp ``Func`` -> ``OP`` parameter of ``qnncc_channelwise``.
CHANNELWISE_OPCODES = {"add": 0, "mul": 1, "cmp_le": 2, "cmp_ge": 3}
