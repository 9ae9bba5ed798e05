"""RTL builder of LabelSelect: an instance of ``qnncc_labelselect`` (``hls_templates/rtl/qnncc_labelselect.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    dt_params,
    new_rtl_layer,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def labelselect_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a LabelSelect node (``qnncc_labelselect``; one index per output word).

    Raises:
        CodegenError: for non-integer streams or an output datatype too narrow for the indices.
    """
    a = layer.attrs
    labels, pe, k = int(a["Labels"]), int(a["PE"]), int(a["K"])
    odt = layer.output_datatype()
    if odt.max() < labels - 1:
        raise CodegenError(f"{node.name}: output datatype {odt.name} cannot hold label index {labels - 1}")
    rtl = new_rtl_layer(model, node, layer, "qnncc_labelselect")
    rtl.params.update({"LABELS": labels, "PE": pe, "K": k})
    rtl.params.update(dt_params(layer.input_datatype(), "IN"))
    rtl.params["OUT_BITS"] = odt.bitwidth()
    return rtl
