"""The weight streams of ``mem_mode="external"`` layers as the drivers feed them.

A layer with ``mem_mode="external"`` (:mod:`qnncc.hw.layers.weight_stream`) reads its
weights from an extra AXI-Stream input: the whole matrix once per input vector,
``repeats * pass_words`` words per frame. The stitched design exposes that input
after the data inputs (:attr:`qnncc.codegen.vivado.plan.StitchPlan.weight_inputs`):
the Zynq shell gives it an AXI DMA (``axi_dma_<k>``, MM2S), the Alveo link flow a
memory-to-stream kernel. The drivers keep one pass of the packed words
(``weights_<layer>.npy``, ``[pass_words, word_bytes]`` uint8, the layout of
:func:`qnncc.codegen.packing.pack_words`, word order of
:func:`qnncc.codegen.hls.layers.mvau.weight_stream_words`, or of
:func:`~qnncc.codegen.hls.layers.vectorvectoractivation.vvau_weight_words` for a VVAU) in a DMA buffer and send
it ``repeats`` times per frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qnncc.codegen.hls.layers._common import required_initializer
from qnncc.codegen.hls.layers.mvau import weight_stream_words
from qnncc.codegen.hls.layers.vectorvectoractivation import vvau_weight_words
from qnncc.codegen.names import roundup8, safe_identifier
from qnncc.codegen.packing import pack_words
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import is_stream_pass_through
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.weight_stream import WeightStream, external_weight_stream

__all__ = ["weight_stream_descs", "weight_stream_file", "weight_stream_packed", "write_weight_streams"]


def weight_stream_file(node_name: str) -> str:
    """File of one pass of the packed weight stream of layer ``node_name``."""
    return f"weights_{safe_identifier(node_name)}.npy"


def _streams(child: ModelWrapper) -> list[tuple[HWLayer, WeightStream]]:
    """Every ``external`` layer of the partition with its stream, in topological (stitch plan) order.

    Raises:
        CodegenError: for ``external`` on a layer that cannot stream its weights.
    """
    found = []
    for node in child.topological_sort():
        if is_stream_pass_through(node) or node.domain != "qnncc.hw":
            continue
        layer = get_custom_op(node)
        if not isinstance(layer, HWLayer):
            continue
        n_in = sum(1 for t in node.input if t and child.get_initializer(t) is None)
        try:
            stream = external_weight_stream(layer, n_in)
        except ValueError as err:
            raise CodegenError(str(err)) from None
        if stream is not None:
            found.append((layer, stream))
    return found


def weight_stream_packed(child: ModelWrapper, layer: HWLayer, stream: WeightStream) -> np.ndarray:
    """One pass of a layer's weight stream, packed: ``[pass_words, roundup8(width) / 8]`` uint8.

    Raises:
        CodegenError: if the weights are missing or do not fit their datatype.
    """
    a = layer.attrs
    w = np.asarray(required_initializer(child, layer.node, 1, "weights"))
    if layer.node.op_type == "VVAU":  # the ROM words of one window (vvau_stream.hpp)
        kernel = int(a["Kernel"][0]) * int(a["Kernel"][1])
        words = vvau_weight_words(w, int(a["Channels"]), kernel, int(a["SIMD"]), int(a["PE"]))
    else:
        words = weight_stream_words(w, int(a["SIMD"]), int(a["PE"]))
    try:
        return pack_words(words, stream.datatype)
    except CodegenError as err:
        raise CodegenError(f"{layer.node.name} weight stream: {err}") from None


def weight_stream_descs(child: ModelWrapper, first_index: int) -> list[dict[str, Any]]:
    """Driver descriptions of the partition's weight streams; stream ``k`` is DMA ``first_index + k``.

    Each is a dict: ``index`` (DMA / external stream index), ``name`` (weight tensor),
    ``node``, ``op_type``, ``kind`` (``"weights"``), ``datatype``, ``bits``,
    ``elems_per_word`` (PE * SIMD), ``stream_width``, ``axis_width``, ``word_bytes``,
    ``pass_words``, ``repeats`` (passes per frame), ``words_per_frame``,
    ``pass_bytes``, ``frame_bytes``, ``file``, ``dma`` and ``channel``.
    """
    descs = []
    for k, (layer, s) in enumerate(_streams(child)):
        word_bytes = roundup8(s.width) // 8
        index = first_index + k
        descs.append(
            {
                "index": index,
                "name": s.tensor,
                "node": s.node,
                "op_type": layer.node.op_type,
                "kind": "weights",
                "datatype": s.datatype.name,
                "bits": s.datatype.bitwidth(),
                "elems_per_word": s.elems,
                "stream_width": s.width,
                "axis_width": roundup8(s.width),
                "word_bytes": word_bytes,
                "pass_words": s.pass_words,
                "repeats": s.repeats,
                "words_per_frame": s.words,
                "pass_bytes": s.pass_words * word_bytes,
                "frame_bytes": s.words * word_bytes,
                "file": weight_stream_file(s.node),
                "dma": f"axi_dma_{index}",
                "channel": "sendchannel",
            }
        )
    return descs


def write_weight_streams(child: ModelWrapper, folder: Path) -> list[Path]:
    """Write ``weights_<layer>.npy`` (one packed pass) of every ``external`` layer into ``folder``."""
    paths = []
    for layer, stream in _streams(child):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / weight_stream_file(stream.node)
        np.save(path, weight_stream_packed(child, layer, stream))
        paths.append(path)
    return paths
