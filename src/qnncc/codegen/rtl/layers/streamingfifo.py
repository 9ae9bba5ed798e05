"""RTL builder of StreamingFIFO: an instance of ``qnncc_fifo`` (``hls_templates/rtl/qnncc_fifo.v``)."""

from __future__ import annotations

import onnx

from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl.layer import (
    RtlLayer,
    new_rtl_layer,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer


def fifo_rtl(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> RtlLayer:
    """RTL of a StreamingFIFO node (``qnncc_fifo`` of ``depth`` words).

    Raises:
        CodegenError: for a depth below 1.
    """
    depth = int(layer.attrs["depth"])
    if depth < 1:
        raise CodegenError(f"{node.name}: FIFO depth {depth} must be at least 1")
    rtl = new_rtl_layer(model, node, layer, "qnncc_fifo")
    style = str(layer.attrs.get("ram_style", "auto"))
    rtl.params.update(
        {
            "WIDTH": rtl.bits["in0_V"],
            "DEPTH": depth,
            "RAM_STYLE": style if style in ("distributed", "registers") else "auto",
        }
    )
    return rtl
