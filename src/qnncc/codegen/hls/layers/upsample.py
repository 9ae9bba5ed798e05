"""HLS builder of UpsampleNearestNeighbour (``qnncc::upsample_nn`` in ``upsample.hpp``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import new_layer_code
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.upsample import UpsampleNearestNeighbour

__all__ = ["upsample_code"]


def upsample_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an UpsampleNearestNeighbour node.

    Raises:
        CodegenError: for ``OFMDim < IFMDim`` (downsampling) or a non-integer stream.
    """
    if not isinstance(layer, UpsampleNearestNeighbour):
        raise CodegenError(f"{node.name}: expected an UpsampleNearestNeighbour, got {type(layer).__name__}")
    ifm, ofm = int(layer.attrs["IFMDim"]), int(layer.attrs["OFMDim"])
    if ofm < ifm:
        raise CodegenError(f"{node.name}: OFMDim={ofm} < IFMDim={ifm}; only upsampling has HLS code")
    code = new_layer_code(model, node, layer, ["qnncc/upsample.hpp"])
    dt = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    channels = int(layer.attrs["NumChannels"])
    one_d = "true" if layer.attrs["DimMode"] else "false"
    code.body.append(f"qnncc::upsample_nn<{ifm}, {ofm}, {one_d}, ap_uint<{channels} * {dt}::bits> >(in0_V, out0_V);")
    return code
