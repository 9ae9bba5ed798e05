"""HLS code of the VVAU, the depthwise MAC (``qnncc::vvau`` in ``vvau.hpp``; ``qnncc::vvau_mmv`` for ``MMV > 1``).

``mem_mode`` as the MVAU's (:mod:`qnncc.codegen.hls.layers.mvau`): ``internal_decoupled``
runs ``qnncc::word_streamer`` and ``qnncc::vvau_stream`` (``vvau_stream.hpp``) in one
DATAFLOW region, ``external`` reads the window's weight words on ``in1_V`` once per output
pixel; ``MMV > 1`` keeps its weights in the compute (and cannot stream them).
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import LayerCode, Port, check_stream_width, cpp_datatype
from qnncc.codegen.hls.layers._common import mul_res, new_layer_code, param_header, required_initializer
from qnncc.codegen.hls.layers.mvau import ROM_IMPL, accumulator_ctype
from qnncc.codegen.hls.layers.thresholds import threshold_activation
from qnncc.codegen.hls.literals import word_literals
from qnncc.codegen.hls.param_files import word_table
from qnncc.codegen.names import roundup8
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.vectorvectoractivation import INTERLEAVED_NO_HW, VVAU
from qnncc.hw.layers.weight_stream import EXTERNAL, external_weight_stream, mem_mode

__all__ = ["vvau_code", "vvau_weight_words"]


def vvau_weight_words(w: np.ndarray, channels: int, kernel: int, simd: int, pe: int) -> np.ndarray:
    """Depthwise weights ``[C, 1, kh, kw]`` in memory order ``[K*C/(SIMD*PE), SIMD*PE]``.

    Lane ``e`` of word ``i`` is the weight of flat window index
    ``f = i*SIMD*PE + e``, i.e. ``W[f % C, 0, k // kw, k % kw]`` with ``k = f // C``
    (the Im2Col order of the window stream).
    """
    by_position = w.reshape(channels, kernel).T  # [k, c]
    return by_position.reshape(-1, simd * pe)


def vvau_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of a VVAU node.

    Raises:
        CodegenError: for runtime-writeable weights, external weights with ``MMV > 1``,
            non-integer weights, weights of the wrong size, thresholds that do not fit, or float streams.
    """
    a = layer.attrs
    channels, pe, simd = int(a["Channels"]), int(a["PE"]), int(a["SIMD"])
    kh, kw = (int(v) for v in a["Kernel"])
    kernel = kh * kw
    if isinstance(layer, VVAU) and layer.interleaved_input():
        raise CodegenError(f"{node.name}: {INTERLEAVED_NO_HW}")
    if int(a.get("runtime_writeable_weights", 0)):
        raise CodegenError(f"{node.name}: runtime_writeable_weights=1 is not supported; weights are a ROM")
    mode = mem_mode(layer)
    if mode == EXTERNAL and int(a.get("MMV", 1)) > 1:
        raise CodegenError(
            f"{node.name}: MMV={a['MMV']} reads its weights from on-chip registers; mem_mode='external' needs MMV=1"
        )
    code = new_layer_code(model, node, layer, ["qnncc/vvau.hpp"])
    wdt = DataType.from_name(a["weightDataType"])
    w = required_initializer(model, node, 1, "weights")
    if w.size != channels * kernel:
        raise CodegenError(f"{node.name}: weights of shape {list(w.shape)}, expected [{channels}, 1, {kh}, {kw}]")
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    w_t = cpp_datatype(wdt, f"{node.name} weights")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    words = vvau_weight_words(np.asarray(w), channels, kernel, simd, pe)
    wvar = f"weights_{code.name}"
    acc_t = accumulator_ctype(layer, kernel, wdt, False)
    _, oh, ow, _ = layer.normal_output_shape()
    args = f"{channels}, {kernel}, {pe}, {simd}, {oh * ow}, {in_t}, {w_t}, {out_t}, {acc_t}, {mul_res(layer)}"
    if mode == EXTERNAL:
        stream = external_weight_stream(layer)
        assert stream is not None
        feed = f"wstream_{code.name}.bin"
        code.feeds[feed] = word_table(words, wdt, f"{node.name} weight stream").data
        width = check_stream_width(roundup8(stream.width), f"{node.name} weight stream")
        port = Port("in1_V", "in", width, stream.elems, w_t, stream.words, stream.tensor, feed, stream.pass_words)
        code.ports.insert(len(code.inputs), port)
        code.headers.append("qnncc/vvau_stream.hpp")
        act = _activation(code, model, node, layer, channels, pe)
        code.body.append(f"qnncc::vvau_stream<{args}>(in0_V, in1_V, out0_V, {act});")
        return code
    param_header(
        code,
        "params",
        f"ap_uint<{simd * pe * wdt.bitwidth()}>",
        wvar,
        f"[{words.shape[0]}]",
        "{" + ", ".join(word_literals(words, wdt, f"{node.name} weights")) + "}",
        [],
        f"// word i, lane e: W[c][k] of the window index f = i * {simd * pe} + e = k * {channels} + c",
        table=word_table(words, wdt, f"{node.name} weights"),
    )
    impl = ROM_IMPL.get(str(a.get("ram_style", "auto")))
    if impl is not None:
        code.pragmas.append(f"BIND_STORAGE variable = {wvar} type = rom_2p impl = {impl}")
    act = _activation(code, model, node, layer, channels, pe)
    mmv = int(a.get("MMV", 1))
    if mmv > 1:  # SIMD = K, PE = C (validated): MMV whole windows per word
        code.body.append(
            f"qnncc::vvau_mmv<{channels}, {kernel}, {mmv}, {oh * ow}, {in_t}, {w_t}, {out_t}, {acc_t}, "
            f"{mul_res(layer)}>(in0_V, out0_V, {wvar}, {act});"
        )
        return code
    if mode == "internal_decoupled":  # the ROM in its own process, streaming into the compute
        bits = simd * pe * wdt.bitwidth()
        code.headers.append("qnncc/vvau_stream.hpp")
        code.pragmas.append("DATAFLOW")
        code.body += [
            f'hls::stream<ap_uint<{bits}> > wstream("wstream");',
            "#pragma HLS STREAM variable = wstream depth = 2",
            f"qnncc::word_streamer<{words.shape[0]}, {oh * ow}, {bits}>({wvar}, wstream);",
            f"qnncc::vvau_stream<{args}>(in0_V, wstream, out0_V, {act});",
        ]
        return code
    code.body.append(f"qnncc::vvau<{args}>(in0_V, out0_V, {wvar}, {act});")
    return code


def _activation(
    code: LayerCode, model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer, channels: int, pe: int
) -> str:
    """The activation argument: ``NoActivation`` or the layer's thresholds (their header is added to ``code``)."""
    if layer.attrs["noActivation"]:
        return "qnncc::NoActivation()"
    table = required_initializer(model, node, 2, "thresholds")
    style = str(layer.attrs.get("ram_style_thresholds", "auto"))  # FINN's VVAU has none: auto
    return threshold_activation(code, layer, table, channels, pe, style)
