"""The Zynq shell's AXI DMA in the network estimate: frames enter and leave through DMA streams.

On a Zynq board qnncc's block design feeds every partition input from an
AXI DMA MM2S stream and drains every output into an S2MM stream
(:mod:`qnncc.codegen.vivado.shell`). A DMA stream is
:func:`dma_stream_width` bits wide and moves one word per cycle, and an
AXI-Stream width converter sits between it and the accelerator's
``W``-bit words (``W`` = the layer's stream width rounded up to bytes). A
frame of ``n`` accelerator words therefore needs ``n * W / dma_width``
cycles of its DMA stream: TFC-W1A1's 16 input words of 392 bits enter
through an 8-bit stream in 784 cycles, more than its slowest layer's 645,
so the shell, not the accelerator, bounds the frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import is_stream_pass_through
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.weight_stream import external_weight_stream

__all__ = ["DmaStream", "ShellEstimate", "dma_stream_width", "estimate_dma_shell", "partition_dma_streams"]

#: Widest AXI DMA stream qnncc's shell configures (bits).
MAX_DMA_WIDTH = 1024


def dma_stream_width(width: int) -> int:
    """AXI DMA stream width (bits) for an accelerator stream of TDATA ``width`` bits.

    The largest power-of-two number of bytes, at most 128 (1024 bits), that
    divides ``width / 8``: equal to ``width`` for 8..1024-bit power-of-two
    widths, otherwise a divisor, so the width converter ratio is an integer.
    """
    nbytes = max(1, width // 8)
    return 8 * min(nbytes & -nbytes, MAX_DMA_WIDTH // 8)


@dataclass(frozen=True)
class DmaStream:
    """One partition input or output as the DMA sees it.

    Attributes:
        tensor: the graph tensor.
        direction: ``"in"`` (MM2S), ``"out"`` (S2MM) or ``"weights"`` (MM2S of an
            ``external`` layer's weight stream, :mod:`qnncc.hw.layers.weight_stream`).
        width: accelerator TDATA width (bits, whole bytes).
        words: accelerator words per frame.
    """

    tensor: str
    direction: str
    width: int
    words: int

    @property
    def dma_width(self) -> int:
        """DMA stream width (bits)."""
        return dma_stream_width(self.width)

    @property
    def cycles(self) -> int:
        """DMA stream cycles per frame: ``words * width / dma_width``."""
        return self.words * self.width // self.dma_width


@dataclass(frozen=True)
class ShellEstimate:
    """Cycles per frame of the DMA shell: its slowest stream."""

    cycles: int
    bottleneck: str
    streams: tuple[DmaStream, ...]


def estimate_dma_shell(streams: list[DmaStream], port_bits: int = 0) -> ShellEstimate:
    """The shell's cycles per frame: the slowest DMA stream (all run in parallel).

    With ``port_bits`` (the PS memory port the DMAs share, ``Board.axi_port_width_bits``:
    64 on Zynq-7000's S_AXI_HP0, UG585 ch. 5; 128 on Zynq UltraScale+'s S_AXI_HP0_FPD,
    UG1085 ch. 35) the weight streams of ``external`` layers, which move a whole
    weight matrix per input vector, are also bounded together by that port:
    ``sum(weight bits per frame) / port_bits`` cycles at the fabric clock (the
    port clocked with the accelerator, as qnncc's shell connects it). The frame
    inputs and outputs are left out of that sum (a few words per frame).

    Raises:
        ValueError: if there is no stream.
    """
    if not streams:
        raise ValueError("a DMA shell needs at least one stream")
    slow = max(streams, key=lambda s: s.cycles)
    what = f"dma {slow.direction} {slow.tensor!r}: {slow.words} x {slow.width}-bit words via {slow.dma_width}-bit DMA"
    cycles = slow.cycles
    weights = [s for s in streams if s.direction == "weights"]
    if port_bits > 0 and weights:
        bits = sum(s.words * s.width for s in weights)
        shared = -(-bits // port_bits)
        if shared > cycles:
            cycles = shared
            what = f"memory port: {len(weights)} weight stream(s), {bits} bits per frame via a {port_bits}-bit port"
    return ShellEstimate(cycles, what, tuple(streams))


def _bytes(bits: int) -> int:
    return -(-bits // 8) * 8


def _words(folded: tuple[int, ...]) -> int:
    words = 1
    for d in folded[1:-1]:
        words *= int(d)
    return words


def partition_dma_streams(child: ModelWrapper) -> list[DmaStream]:
    """The DMA streams of a partition's child model: every graph input and output at its HW layer.

    Then the weight stream of every ``external`` layer (direction ``"weights"``).

    Stream pass-throughs (``Reshape``/``Flatten``) between the graph I/O and a
    HW layer are followed; an input read or an output written by no HW layer
    is skipped.
    """
    alias: dict[str, str] = {}
    for node in child.graph.node:
        if is_stream_pass_through(node):
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
    reverse: dict[str, str] = {}
    for out, src in alias.items():
        reverse.setdefault(src, out)
    streams = []
    for tensor in (t.name for t in child.graph.input):
        name = tensor
        while name in reverse and not any(_is_hw_reader(child, name)):
            name = reverse[name]
        for layer, index in _is_hw_reader(child, name):
            w = _bytes(layer.instream_width(index))
            streams.append(DmaStream(tensor, "in", w, _words(layer.folded_input_shape(index))))
            break
    for tensor in (t.name for t in child.graph.output):
        name = alias.get(tensor, tensor)
        producer = child.find_producer(name)
        writer = _hw(producer) if producer is not None else None
        if writer is not None and producer is not None:
            index = list(producer.output).index(name)
            w = _bytes(writer.outstream_width(index))
            streams.append(DmaStream(tensor, "out", w, _words(writer.folded_output_shape(index))))
    for node in child.graph.node:
        hw = _hw(node)
        stream = external_weight_stream(hw) if hw is not None else None
        if stream is not None:
            streams.append(DmaStream(stream.tensor, "weights", _bytes(stream.width), stream.words))
    return streams


def _hw(node: object) -> HWLayer | None:
    try:
        layer = get_custom_op(node)  # type: ignore[arg-type]
    except Exception:
        return None
    return layer if isinstance(layer, HWLayer) else None


def _is_hw_reader(child: ModelWrapper, tensor: str) -> list[tuple[HWLayer, int]]:
    readers = []
    for node in child.find_consumers(tensor):
        layer = _hw(node)
        if layer is not None:
            stream_inputs = [t for t in node.input if t and child.get_initializer(t) is None]
            readers.append((layer, stream_inputs.index(tensor)))
    return readers
