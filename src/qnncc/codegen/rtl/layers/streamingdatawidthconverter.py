"""RTL builder of StreamingDataWidthConverter: an instance of ``qnncc_dwc`` (``hls_templates/rtl/qnncc_dwc.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    new_rtl_layer,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def dwc_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a StreamingDataWidthConverter node (``qnncc_dwc``, any ratio)."""
    rtl = new_rtl_layer(model, node, layer, "qnncc_dwc")
    dt = layer.input_datatype()
    dt_params(dt, "stream")
    rtl.params.update({"I": layer.input_elems_per_word(), "O": layer.output_elems_per_word(), "BITS": dt.bitwidth()})
    return rtl
