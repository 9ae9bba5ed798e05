"""HLS code of the MVAU (``qnncc::mvau`` in ``mvau.hpp``; ``qnncc::mvau_mmv`` for ``MMV > 1``).

Where the weights live follows FINN's ``mem_mode`` (:mod:`qnncc.hw.layers.weight_stream`):
``internal_embedded`` compiles them into the compute function as a ROM; ``internal_decoupled``
runs a weight streamer (``qnncc::weight_streamer``, FINN's memstream) and
``qnncc::mvau_stream`` (``mvau_stream.hpp``) in one DATAFLOW region of the layer's top;
``external`` gives the top a weight-stream input ``in1_V`` (one pass of the matrix per input
vector, fed by a DMA; the C simulation's test bench feeds it from ``wstream_<layer>.bin``).
``MMV > 1`` reads every weight every cycle, so its weights stay in the compute function
whatever ``internal_*`` mode is set, and it cannot stream them (``external`` is rejected).
"""

from __future__ import annotations

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import MAX_STREAM_BITS, LayerCode, Port, check_stream_width, cpp_datatype
from qnncc.codegen.hls.layers._common import frame_vectors, mul_res, new_layer_code, param_header, required_initializer
from qnncc.codegen.hls.layers.thresholds import threshold_activation
from qnncc.codegen.hls.literals import word_literals
from qnncc.codegen.hls.param_files import word_table
from qnncc.codegen.names import roundup8
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.weight_stream import EXTERNAL, external_weight_stream, mem_mode

__all__ = ["mvau_code", "weight_stream_words", "weight_words"]

#: ram_style -> Vitis HLS storage implementation of the weight ROM.
ROM_IMPL = {"block": "bram", "distributed": "lutram", "ultra": "uram"}


def weight_words(w: np.ndarray, simd: int, pe: int) -> np.ndarray:
    """Weights ``[MW, MH]`` in memory order ``[PE, WMEM, SIMD]``.

    Entry ``[p, nf * SF + sf, s]`` is ``W[sf * SIMD + s, nf * PE + p]`` with
    ``SF = MW / SIMD`` (FINN's interleaving of output channels over PEs).
    """
    mw, mh = w.shape
    sf, nf = mw // simd, mh // pe
    blocks = w.reshape(sf, simd, nf, pe)  # [sf, s, nf, p]
    return blocks.transpose(3, 2, 0, 1).reshape(pe, nf * sf, simd)


def weight_stream_words(w: np.ndarray, simd: int, pe: int) -> np.ndarray:
    """One pass of the weight stream: ``[WMEM, PE * SIMD]``, element ``pe * SIMD + s`` of word ``i``.

    Word ``i = nf * SF + sf`` holds ``weight_words(w)[pe, i, s]`` for every ``pe`` and ``s``, the
    order ``qnncc::weight_streamer`` emits and ``qnncc::mvau_stream`` reads (``mvau_stream.hpp``).
    """
    words = weight_words(w, simd, pe)  # [PE, WMEM, SIMD]
    return words.transpose(1, 0, 2).reshape(words.shape[1], pe * simd)


def accumulator_ctype(layer: HWLayer, mw: int, wdt: DataType, xnor: bool) -> str:
    """Accumulator type wide enough for every partial sum (no wrap-around).

    XNOR mode counts matches: ``ap_uint<bits(MW)>``. Otherwise the bound
    ``MW * max|x| * max|w|`` decides the width of a signed accumulator
    (partial sums of weights of both signs can exceed the final result's range).
    """
    if xnor:
        return f"ap_uint<{mw.bit_length()}>"
    idt = layer.input_datatype()
    largest = mw * max(abs(idt.min()), abs(idt.max())) * max(abs(wdt.min()), abs(wdt.max()))
    return f"ap_int<{int(largest).bit_length() + 1}>"


def mvau_code(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> LayerCode:
    """Build the HLS code of an MVAU node.

    Raises:
        CodegenError: for non-integer weights, thresholds that do not fit, or float streams.
    """
    a = layer.attrs
    mw, mh, simd, pe = int(a["MW"]), int(a["MH"]), int(a["SIMD"]), int(a["PE"])
    xnor = bool(a["binaryXnorMode"])
    code = new_layer_code(model, node, layer, ["qnncc/mvau.hpp"])
    wdt = DataType.from_name(a["weightDataType"])
    w = required_initializer(model, node, 1, "weights")
    if tuple(w.shape) != (mw, mh):
        raise CodegenError(f"{node.name}: weights of shape {list(w.shape)}, expected [{mw}, {mh}]")
    if xnor and (wdt.bitwidth() != 1 or layer.input_datatype().bitwidth() != 1):
        raise CodegenError(f"{node.name}: binaryXnorMode needs 1-bit input and weights")
    in_t = cpp_datatype(layer.input_datatype(), f"{node.name} input")
    w_t = cpp_datatype(wdt, f"{node.name} weights")
    out_t = cpp_datatype(layer.output_datatype(), f"{node.name} output")
    words = weight_words(w, simd, pe)
    wmem = words.shape[1]
    acc_t = accumulator_ctype(layer, mw, wdt, xnor)
    nvec = frame_vectors(layer)
    mmv = int(a.get("MMV", 1))
    mode = mem_mode(layer)
    if mode == EXTERNAL:
        if mmv > 1:
            raise CodegenError(
                f"{node.name}: MMV={mmv} reads its weights from on-chip registers; mem_mode='external' needs MMV=1"
            )
        return _external(code, model, node, layer, words, (in_t, w_t, out_t, acc_t), nvec)
    literals = word_literals(words.reshape(pe * wmem, simd), wdt, f"{node.name} weights")
    rows = [literals[p * wmem : (p + 1) * wmem] for p in range(pe)]
    init = "{" + ", ".join("{" + ", ".join(r) + "}" for r in rows) + "}"
    wvar = f"weights_{code.name}"
    param_header(
        code,
        "params",
        f"ap_uint<{simd * wdt.bitwidth()}>",
        wvar,
        f"[{pe}][{wmem}]",
        init,
        [],
        f"// [pe][nf * {mw // simd} + sf], lane s = W[sf * {simd} + s][nf * {pe} + pe]",
        table=word_table(words.reshape(pe * wmem, simd), wdt, f"{node.name} weights"),
    )
    code.pragmas.append(f"ARRAY_PARTITION variable = {wvar} complete dim = 1")
    impl = ROM_IMPL.get(str(a.get("ram_style", "auto")))
    if impl is not None:
        code.pragmas.append(f"BIND_STORAGE variable = {wvar} type = rom_2p impl = {impl}")
    act = _activation(code, model, node, layer)
    if mmv > 1:  # SIMD = MW, PE = MH (validated): MMV whole vectors per word
        code.body.append(
            f"qnncc::mvau_mmv<{mw}, {mh}, {mmv}, {nvec}, {in_t}, {w_t}, {out_t}, {acc_t}, {str(xnor).lower()}, "
            f"{mul_res(layer)}>(in0_V, out0_V, {wvar}, {act});"
        )
        return code
    args = f"{mw}, {mh}, {simd}, {pe}, {nvec}, {in_t}, {w_t}, {out_t}, {acc_t}, {str(xnor).lower()}, {mul_res(layer)}"
    lane = simd * wdt.bitwidth()
    # the ROM in its own process, streaming into the compute; a weight word wider than a stream may
    # be (ResNet-50's stem: PE*SIMD*8 = 9,408 bits) stays embedded, with the same results
    if mode == "internal_decoupled" and pe * lane <= MAX_STREAM_BITS:
        code.headers.append("qnncc/mvau_stream.hpp")
        code.pragmas.append("DATAFLOW")
        code.body += [
            f'hls::stream<ap_uint<{pe * lane}> > wstream("wstream");',
            "#pragma HLS STREAM variable = wstream depth = 2",
            f"qnncc::weight_streamer<{pe}, {wmem}, {nvec}, {lane}>({wvar}, wstream);",
            f"qnncc::mvau_stream<{args}>(in0_V, wstream, out0_V, {act});",
        ]
        return code
    code.body.append(f"qnncc::mvau<{args}>(in0_V, out0_V, {wvar}, {act});")
    return code


def _activation(code: LayerCode, model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> str:
    """``NoActivation`` or the MVAU's thresholds, their memory bound by ``ram_style_thresholds``."""
    a = layer.attrs
    if a["noActivation"]:
        return "qnncc::NoActivation()"
    table = required_initializer(model, node, 2, "thresholds")
    style = str(a.get("ram_style_thresholds", "auto"))
    return threshold_activation(code, layer, table, int(a["MH"]), int(a["PE"]), style)


def _external(
    code: LayerCode,
    model: ModelWrapper,
    node: onnx.NodeProto,
    layer: HWLayer,
    words: np.ndarray,
    ctypes: tuple[str, str, str, str],
    nvec: int,
) -> LayerCode:
    """The top of an MVAU whose weights arrive on the stream input ``in1_V`` (``mem_mode="external"``)."""
    a = layer.attrs
    mw, mh, simd, pe = int(a["MW"]), int(a["MH"]), int(a["SIMD"]), int(a["PE"])
    in_t, w_t, out_t, acc_t = ctypes
    wdt = DataType.from_name(a["weightDataType"])
    stream = external_weight_stream(layer)
    assert stream is not None
    one_pass = words.transpose(1, 0, 2).reshape(words.shape[1], pe * simd)  # weight_stream_words' order
    feed = f"wstream_{code.name}.bin"
    code.feeds[feed] = word_table(one_pass, wdt, f"{node.name} weight stream").data
    width = check_stream_width(roundup8(stream.width), f"{node.name} weight stream")
    port = Port("in1_V", "in", width, stream.elems, w_t, stream.words, stream.tensor, feed, stream.pass_words)
    code.ports.insert(len(code.inputs), port)
    code.headers.append("qnncc/mvau_stream.hpp")
    act = _activation(code, model, node, layer)
    xnor = str(bool(a["binaryXnorMode"])).lower()
    code.body.append(
        f"qnncc::mvau_stream<{mw}, {mh}, {simd}, {pe}, {nvec}, {in_t}, {w_t}, {out_t}, {acc_t}, {xnor}, "
        f"{mul_res(layer)}>(in0_V, in1_V, out0_V, {act});"
    )
    return code
