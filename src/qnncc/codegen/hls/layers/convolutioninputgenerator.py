"""HLS builder of ConvolutionInputGenerator (the sliding-window generator): ``swg.hpp``.

Stream order is the C order of each layer's normal (channels-last) tensor,
as everywhere in qnncc: the window generator streams windows in Im2Col
``(i, j, c)`` order (also when ``depthwise = 1``) and the VVAU consumes
that order (see ``vvau.hpp``).
"""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode
from qnncc.codegen.hls.layers._common import RAM_IMPL, int_list, new_layer_code, same_stream_type
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows

__all__ = ["swg_code"]


def swg_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a ConvolutionInputGenerator node (``qnncc::swg``; ``swg_parallel`` for a parallel window).

    ``depthwise`` 0 or 1 stream the same order; ``parallel_window = 1`` emits one whole window per word,
    with ``MMV > 1`` (``swg_parallel_mmv``) ``MMV`` windows per word from ``MMV`` pixels per input word.

    Raises:
        CodegenError: for float streams, unequal in/out datatypes or malformed window attributes.
    """
    code = new_layer_code(model, node, layer, ["qnncc/swg.hpp"])
    dt = same_stream_type(layer, node)
    _, ih, iw, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = int_list(layer, "ConvKernelDim", 2)
    sh, sw = int_list(layer, "Stride", 2)
    dh, dw = int_list(layer, "Dilation", 2)
    simd = int(layer.attrs["SIMD"])
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:  # parallel_window = 1 (validated): MMV pixels in, MMV windows out per word
        code.body.append(
            f"qnncc::swg_parallel_mmv<{ih}, {iw}, {c}, {kh}, {kw}, {sh}, {sw}, {oh}, {ow}, {mmv}, {dt}>(in0_V, out0_V);"
        )
        return code
    if int(layer.attrs.get("parallel_window", 0)):
        code.body.append(
            f"qnncc::swg_parallel<{ih}, {iw}, {c}, {kh}, {kw}, {sh}, {sw}, {oh}, {ow}, {dt}>(in0_V, out0_V);"
        )
        return code
    rows = swg_buffer_rows(dh * (kh - 1) + 1, sh, ih)
    buf = f"linebuf_{code.name}"
    bits = simd * layer.input_datatype().bitwidth()
    impl = RAM_IMPL.get(str(layer.attrs.get("ram_style", "auto")))
    code.body += [
        f"ap_uint<{bits}> {buf}[{rows * iw * (c // simd)}];  // {rows} image rows",
        f"#pragma HLS BIND_STORAGE variable = {buf} type = ram_s2p" + (f" impl = {impl}" if impl else ""),
        f"qnncc::swg<{ih}, {iw}, {c}, {simd}, {kh}, {kw}, {sh}, {sw}, {dh}, {dw}, {oh}, {ow}, {rows}, {dt}>"
        f"(in0_V, out0_V, {buf});",
    ]
    return code
