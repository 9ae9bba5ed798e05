"""HLS builders of the sliding-window family (ConvolutionInputGenerator, FMPadding, pooling, VVAU).

Stream order is the C order of each layer's normal (channels-last) tensor,
as everywhere in qnncc: the window generator streams windows in Im2Col
``(i, j, c)`` order (also when ``depthwise = 1``) and the VVAU consumes
that order (see ``vvau.hpp``).
"""

from __future__ import annotations

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, cpp_datatype
from qnncc.codegen.hls.layers._common import new_layer_code
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows

__all__ = ["fmpadding_code", "global_acc_pool_code", "maxpool_code", "pool_code", "swg_code"]

#: ram_style -> Vitis HLS storage implementation of a line buffer (``auto`` lets the tool choose).
RAM_IMPL = {"block": "bram", "distributed": "lutram", "ultra": "uram"}


def _ints(layer: HWLayer, name: str, count: int) -> list[int]:
    """Attribute ``name`` as ``count`` ints.

    Raises:
        CodegenError: if it has another length.
    """
    values = [int(v) for v in layer.attrs[name]]
    if len(values) != count:
        raise CodegenError(f"{layer.node.name}: {name}={values} must have {count} entries")
    return values


def _same_types(layer: HWLayer, node: onnx.NodeProto) -> str:
    """C++ element type of a layer whose output datatype is its input's.

    Raises:
        CodegenError: if the datatypes differ or are not integers.
    """
    idt, odt = layer.input_datatype(), layer.output_datatype()
    if idt != odt:
        raise CodegenError(f"{node.name}: input {idt.name} and output {odt.name} datatypes must be equal")
    return cpp_datatype(idt, f"{node.name} stream")


def swg_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a ConvolutionInputGenerator node (``qnncc::swg``; ``swg_parallel`` for a parallel window).

    ``depthwise`` 0 or 1 stream the same order; ``parallel_window = 1`` emits one whole window per word.

    Raises:
        CodegenError: for float streams, unequal in/out datatypes or malformed window attributes.
    """
    code = new_layer_code(model, node, layer, ["qnncc/swg.hpp"])
    dt = _same_types(layer, node)
    _, ih, iw, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = _ints(layer, "ConvKernelDim", 2)
    sh, sw = _ints(layer, "Stride", 2)
    dh, dw = _ints(layer, "Dilation", 2)
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


def fmpadding_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an FMPadding node (``qnncc::fmpadding``, one image per call, padding ``PadValue``).

    Raises:
        CodegenError: for float streams or a datatype that cannot hold ``PadValue`` (BIPOLAR and 0).
    """
    code = new_layer_code(model, node, layer, ["qnncc/fmpadding.hpp"])
    dt = _same_types(layer, node)
    pad = int(layer.attrs.get("PadValue", 0))
    if not layer.input_datatype().allowed(pad):
        what = "the zero padding" if pad == 0 else f"the padding value {pad}"
        raise CodegenError(f"{node.name}: {layer.input_datatype().name} cannot hold {what}")
    _, h, w, c = layer.normal_input_shape()
    top, left, bottom, right = _ints(layer, "Padding", 4)
    simd = int(layer.attrs["SIMD"])
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:  # SIMD = C (validated): MMV pixels per word
        call = f"qnncc::fmpadding_mmv<{h}, {w}, {top}, {left}, {bottom}, {right}, {c}, {mmv}, {dt}>(in0_V, out0_V"
    else:
        call = f"qnncc::fmpadding<{h}, {w}, {top}, {left}, {bottom}, {right}, {c}, {simd}, {dt}>(in0_V, out0_V"
    code.body.append(call + (f", {pad});" if pad else ");"))
    return code


def maxpool_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a StreamingMaxPool node (``qnncc::maxpool``; 1-D or 2-D, ceil or floor mode).

    Raises:
        CodegenError: for float streams.
    """
    code = new_layer_code(model, node, layer, ["qnncc/pool.hpp"])
    dt = _same_types(layer, node)
    _, h, w, c = layer.normal_input_shape()
    _, oh, ow, _ = layer.normal_output_shape()
    kh, kw = _ints(layer, "PoolDim", 2)
    pe = layer.input_elems_per_word()
    code.body.append(f"qnncc::maxpool<{h}, {w}, {c}, {pe}, {kh}, {kw}, {oh}, {ow}, {dt}>(in0_V, out0_V);")
    return code


def pool_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a Pool node with ``Function = "MaxPool"`` (``qnncc::window_max``).

    Raises:
        CodegenError: for another Function, float streams or unequal in/out datatypes.
    """
    if layer.attrs["Function"] != "MaxPool":
        raise CodegenError(f"{node.name}: Pool Function {layer.attrs['Function']!r} has no HLS code (have: MaxPool)")
    code = new_layer_code(model, node, layer, ["qnncc/pool.hpp"])
    dt = _same_types(layer, node)
    _, oh, ow, c = layer.normal_output_shape()
    kh, kw = _ints(layer, "KernelSize", 2)
    pe = int(layer.attrs["PE"])
    code.body.append(f"qnncc::window_max<{oh * ow}, {kh * kw}, {c}, {pe}, {dt}>(in0_V, out0_V);")
    return code


def global_acc_pool_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a GlobalAccPool node (``qnncc::global_acc_pool``).

    Raises:
        CodegenError: for float streams.
    """
    code = new_layer_code(model, node, layer, ["qnncc/pool.hpp"])
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    _, h, w, c = layer.normal_input_shape()
    pe = int(layer.attrs["PE"])
    code.body.append(f"qnncc::global_acc_pool<{h * w}, {c}, {pe}, {in_t}, {out_t}>(in0_V, out0_V);")
    return code
