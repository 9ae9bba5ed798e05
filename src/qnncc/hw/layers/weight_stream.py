"""Weights as a stream: FINN's ``mem_mode`` of the MVAU (``internal_embedded``, ``internal_decoupled``, ``external``).

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
    "weight_bits",
]

#: The ``mem_mode`` whose weights arrive on an extra stream input.
EXTERNAL = "external"
#: Op types whose HLS code can take their weights from a stream.
STREAMABLE_OPS = ("MVAU",)


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
    """Whether the layer may take ``mem_mode == "external"``: an MVAU of one vector per cycle (``MMV == 1``)."""
    return layer.node.op_type in STREAMABLE_OPS and int(layer.attrs.get("MMV", 1)) == 1


def weight_bits(layer: HWLayer) -> int:
    """Bits of the layer's weight matrix (``MW * MH * W``; 0 for a layer without weights)."""
    if "weightDataType" not in layer.attrs or "MW" not in layer.attrs:
        return 0
    w = DataType.from_name(str(layer.attrs["weightDataType"])).bitwidth()
    return int(layer.attrs["MW"]) * int(layer.attrs["MH"]) * w


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
            f"{layer.node.name}: mem_mode='external' needs an MVAU with MMV=1 "
            f"({layer.node.op_type}, MMV={layer.attrs.get('MMV', 1)})"
        )
    a = layer.attrs
    mw, mh, pe, simd = int(a["MW"]), int(a["MH"]), int(a["PE"]), int(a["SIMD"])
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
        pass_words=(mw // simd) * (mh // pe),
        repeats=repeats,
    )
