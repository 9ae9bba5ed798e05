"""Weights as a stream: FINN's ``mem_mode`` of the MVAU and VVAU.

Modes: ``internal_embedded``, ``internal_decoupled``, ``external``.

FINN (``matrixvectoractivation.py``, ``get_weightstream_width``; finn-hlslib
``Matrix_Vector_Activate_Stream_Batch``) gives an MVAU three places for its weights:

* ``internal_embedded``: a ROM inside the compute function;
* ``internal_decoupled``: a separate memory streamer (FINN's ``memstream``)
  next to the compute function inside the layer's wrapper, feeding it a weight
  stream of ``PE * SIMD * W`` bits per cycle;
* ``external``: the same weight stream enters the layer through an extra
  AXI-Stream input from outside the accelerator (a DMA reading DRAM), so no
  weight memory is on chip. The layer reads one word per compute cycle, so
  the whole matrix passes once per input vector: ``numInputVectors * MH/PE *
  MW/SIMD`` words per frame (FINN's driver repeats its weight buffer
  ``OFM_H * OFM_W`` times per frame, ``driver_base.py`` ``load_external_weights``).

Word ``i`` of one pass (``i = nf * SF + sf``) holds, for ``pe`` in ``0..PE-1``
and lane ``s`` in ``0..SIMD-1``, the weight ``W[sf * SIMD + s][nf * PE + pe]``
in bits ``(pe * SIMD + s) * W ...`` (element ``pe * SIMD + s`` of the word).
A VVAU's stream carries the ``K * C / (SIMD * PE)`` words of one window (its ROM
words, ``vvau.hpp``) once per output pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

from qnncc.core.datatype import DataType

from .base import HWLayer

__all__ = [
    "EXTERNAL",
    "STREAMABLE_OPS",
    "WeightStream",
    "external_weight_stream",
    "mem_mode",
    "streamable",
]

#: The ``mem_mode`` whose weights arrive on an extra stream input.
EXTERNAL = "external"
#: Op types whose HLS code can take their weights from a stream.
STREAMABLE_OPS = ("MVAU", "VVAU")


@dataclass(frozen=True)
class WeightStream:
    """The weight stream of one layer.

    Attributes:
        node: the layer's node name.
        tensor: the weight initializer's name.
        port: index of the stream input among the layer's stream inputs (after the data inputs).
        elems: weights per word (``PE * SIMD``).
        datatype: the weights' datatype.
        pass_words: words of one pass over the matrix (``MH/PE * MW/SIMD``).
        repeats: passes per frame (the input vectors per frame).
    """

    node: str
    tensor: str
    port: int
    elems: int
    datatype: DataType
    pass_words: int
    repeats: int

    @property
    def width(self) -> int:
        """Payload bits per word (``PE * SIMD * W``; FINN ``get_weightstream_width``)."""
        return self.elems * self.datatype.bitwidth()

    @property
    def words(self) -> int:
        """Words per frame (``repeats * pass_words``)."""
        return self.repeats * self.pass_words

    @property
    def frame_bits(self) -> int:
        """Payload bits streamed per frame."""
        return self.words * self.width


def mem_mode(layer: HWLayer) -> str:
    """The layer's ``mem_mode`` (``""`` for layers without one)."""
    value = layer.attrs.get("mem_mode", "")
    return value.decode() if isinstance(value, bytes) else str(value)


def streamable(layer: HWLayer) -> bool:
    """Whether the layer may take ``mem_mode == "external"``: an MVAU or VVAU of one vector per cycle (``MMV == 1``).

    A VVAU reading FINN's PE-interleaved order (``inputOrder``, no HW) is not.
    """
    interleaved = getattr(layer, "interleaved_input", None)
    if interleaved is not None and interleaved():
        return False
    return layer.node.op_type in STREAMABLE_OPS and int(layer.attrs.get("MMV", 1)) == 1


def external_weight_stream(layer: HWLayer, n_data_inputs: int = 1) -> WeightStream | None:
    """The weight stream of a layer with ``mem_mode == "external"``, else None.

    Args:
        layer: the HW layer.
        n_data_inputs: its data stream inputs (the weight stream comes after them).

    Raises:
        ValueError: for ``external`` on a layer that cannot stream its weights (:func:`streamable`).
    """
    if mem_mode(layer) != EXTERNAL:
        return None
    if not streamable(layer):
        raise ValueError(
            f"{layer.node.name}: mem_mode='external' needs an MVAU or VVAU with MMV=1 reading a HW stream "
            f"({layer.node.op_type}, MMV={layer.attrs.get('MMV', 1)})"
        )
    a = layer.attrs
    pe, simd = int(a["PE"]), int(a["SIMD"])
    if layer.node.op_type == "VVAU":  # K*C/(SIMD*PE) words per window, one window per output pixel
        words = int(a["Channels"]) * int(a["Kernel"][0]) * int(a["Kernel"][1]) // (pe * simd)
        shape = layer.normal_output_shape()
    else:  # (MH/PE) * (MW/SIMD) words per input vector
        words = (int(a["MW"]) // simd) * (int(a["MH"]) // pe)
        shape = layer.normal_input_shape()
    repeats = 1
    for d in shape[1:-1]:
        repeats *= int(d)
    return WeightStream(
        node=layer.node.name,
        tensor=layer.node.input[1],
        port=n_data_inputs,
        elems=pe * simd,
        datatype=DataType.from_name(str(a["weightDataType"])),
        pass_words=words,
        repeats=repeats,
    )
