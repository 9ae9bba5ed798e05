"""RTL builder of Pool (MaxPool): an instance of ``qnncc_pool`` (``hls_templates/rtl/qnncc_pool.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import RtlLayer, dt_params, new_rtl_layer
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def pool_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a Pool node with ``Function = MaxPool`` (``qnncc_pool``: window maximum, PE channels per word).

    Raises:
        CodegenError: for another reduction (AvgPool, AccPool, QuantAvgPool), a PE that
            does not divide the channels, or float streams.
    """
    function = str(layer.attrs["Function"])
    if function != "MaxPool":
        raise CodegenError(f"{node.name}: Pool Function={function} has no RTL implementation (only MaxPool)")
    channels, pe = int(layer.attrs["Channels"]), int(layer.attrs["PE"])
    if channels % pe:
        raise CodegenError(f"{node.name}: PE={pe} must divide Channels={channels}")
    kh, kw = (int(v) for v in layer.attrs["KernelSize"])
    oh, ow = (int(v) for v in layer.attrs["OutImgDims"])
    rtl = new_rtl_layer(model, node, layer, "qnncc_pool")
    rtl.params.update({"PIXELS": oh * ow, "K": kh * kw, "C": channels, "PE": pe})
    spec = dt_params(layer.input_datatype(), "IN")
    rtl.params.update({"BITS": spec["IN_BITS"], "SIGNED": spec["IN_SIGNED"], "BIPOLAR": spec["IN_BIPOLAR"]})
    return rtl
