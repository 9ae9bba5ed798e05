"""RTL builder of Thresholding: an instance of ``qnncc_thresholding`` (``hls_templates/rtl/qnncc_thresholding.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layers._common import required_initializer
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    activation_params,
    dt_params,
    new_rtl_layer,
    ram_style,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def thresholding_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a Thresholding node (``qnncc_thresholding``).

    Raises:
        CodegenError: for non-integer streams or a threshold table that does not fit.
    """
    channels, pe = int(layer.attrs["NumChannels"]), int(layer.attrs["PE"])
    rtl = new_rtl_layer(model, node, layer, "qnncc_thresholding")
    rtl.params.update({"C": channels, "PE": pe})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    rtl.params["OUT_BITS"] = layer.output_datatype().bitwidth()
    rtl.params["RAM_STYLE"] = ram_style(layer, "distributed")
    activation_params(rtl, layer, required_initializer(model, node, 1, "thresholds"), channels, pe)
    return rtl
