"""Per-layer token patterns: one frame of a layer's pipelined loop, as the simulator sees it.

Each HW layer is modelled by a :class:`Program`: the iterations of the
``#pragma HLS PIPELINE II=1`` loop of its template in
``hls_templates/include/qnncc/*.hpp`` for one frame, each iteration reading
one word from some input streams and writing one word to some output
streams. The read/write decisions of every template depend only on loop
counters, never on data, so the pattern is static and computed here once
(run-length encoded, vectorised; the line-buffer and VVAU loops in chunks
between counter events). Sources of the patterns, loop by loop:

* ``mvau.hpp``: ``NUMVEC * SF * NF`` iterations (``SF = MW/SIMD``,
  ``NF = MH/PE``); an iteration reads a word only during the first neuron fold
  (``nf == 0``), writes one at the end of each synapse fold (``sf == SF - 1``).
* ``thresholding.hpp``, ``channelwise.hpp``: ``NUMVEC * C/PE`` iterations,
  each reads and writes one word.
* ``labelselect.hpp``: per vector ``LABELS/PE`` reading iterations, then
  ``K`` writing iterations.
* ``dwc.hpp``: reads while it holds fewer than ``O`` elements, writes
  whenever it holds at least ``O`` (both in the same iteration possible).
* ``fmpadding.hpp``: one write per iteration, a read only inside the image.
* ``pool.hpp`` ``maxpool``: one read per iteration, a write with the last
  input word of a window; ``global_acc_pool``: writes with the last pixel.
* ``swg.hpp``: emits while the rows of the current output row are in,
  reads while the line buffer has a free row (``ROWS = SPAN + SH`` rows,
  :func:`qnncc.hw.layers.convolutioninputgenerator.swg_buffer_rows`).
* ``vvau.hpp``: reads a pixel while at most one result bank is full, drains
  ``C/PE`` words of a pixel once it is read.
* ``streams.hpp``: AddStreams reads both inputs and writes each iteration,
  DuplicateStreams reads once and writes every output each iteration.

Pipeline latency (the ``latency`` facet of :mod:`qnncc.hw.registry`): cycles from an iteration's issue
to its writes. These are *assumed* typical Vitis HLS pipeline depths of the
loop bodies (read, compute, write), not measured from HLS reports; they
delay outputs and cost one pipeline drain per frame (the template function
returns after each frame), and can be overridden per op type or node.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.hw.layers.base import HWLayer

__all__ = [
    "Program",
    "SimulationError",
    "add_streams_program",
    "duplicate_streams_program",
    "dwc_program",
    "fmpadding_program",
    "global_acc_pool_program",
    "label_select_program",
    "maxpool_program",
    "mvau_program",
    "read_write_each_program",
    "swg_program",
    "vvau_program",
    "layer_latency",
    "layer_program",
    "sink_program",
    "source_program",
]


class SimulationError(QnnccError):
    """A model cannot be simulated (unsupported layer, inconsistent streams, deadlock when one was not allowed)."""


@dataclass(frozen=True)
class Program:
    """One frame of a layer's loop, run-length encoded.

    Run ``j`` is ``length[j]`` consecutive iterations that each read one word
    from every input port whose bit is set in ``rmask[j]`` and write one word
    to every output port whose bit is set in ``wmask[j]``.

    Attributes:
        rmask: int64 ``[runs]``, bit ``k`` = reads input port ``k``.
        wmask: int64 ``[runs]``, bit ``k`` = writes output port ``k``.
        length: int64 ``[runs]``, iterations per run (>= 1).
        n_in: input ports.
        n_out: output ports.
        latency: pipeline depth in cycles (writes of an iteration happen
            ``latency`` pipeline advances after its issue).
    """

    rmask: np.ndarray
    wmask: np.ndarray
    length: np.ndarray
    n_in: int
    n_out: int
    latency: int

    @property
    def iterations(self) -> int:
        """Loop iterations per frame."""
        return int(self.length.sum())

    @property
    def runs(self) -> int:
        """Number of runs."""
        return len(self.length)

    def reads(self, port: int) -> int:
        """Words read from input ``port`` per frame."""
        return int(self.length[(self.rmask >> port) & 1 == 1].sum())

    def writes(self, port: int) -> int:
        """Words written to output ``port`` per frame."""
        return int(self.length[(self.wmask >> port) & 1 == 1].sum())

    def expand(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-iteration ``(rmask, wmask)`` arrays (for tests and small layers)."""
        return np.repeat(self.rmask, self.length), np.repeat(self.wmask, self.length)


# ---------------------------------------------------------------- run-length helpers
def _merge(r: np.ndarray, w: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop empty runs and merge neighbours with equal masks."""
    keep = n > 0
    r, w, n = r[keep], w[keep], n[keep]
    if len(n) == 0:
        return r, w, n
    new = np.ones(len(n), dtype=bool)
    new[1:] = (r[1:] != r[:-1]) | (w[1:] != w[:-1])
    starts = np.flatnonzero(new)
    return r[starts], w[starts], np.add.reduceat(n, starts)


def _program(
    runs: list[tuple[int, int, int]] | tuple[np.ndarray, np.ndarray, np.ndarray],
    n_in: int,
    n_out: int,
    latency: int,
    repeat: int = 1,
) -> Program:
    """A :class:`Program` from ``(rmask, wmask, length)`` runs, the runs tiled ``repeat`` times."""
    if isinstance(runs, list):
        arr = np.asarray(runs, dtype=np.int64).reshape(-1, 3)
        r, w, n = arr[:, 0], arr[:, 1], arr[:, 2]
    else:
        r, w, n = (np.asarray(a, dtype=np.int64) for a in runs)
    r, w, n = _merge(r, w, n)
    if repeat > 1:
        r, w, n = _merge(np.tile(r, repeat), np.tile(w, repeat), np.tile(n, repeat))
    return Program(r, w, n, n_in, n_out, latency)


def _from_masks(r: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode per-iteration mask arrays."""
    r = np.asarray(r, dtype=np.int64).ravel()
    w = np.asarray(w, dtype=np.int64).ravel()
    return _merge(r, w, np.ones(len(r), dtype=np.int64))


# ---------------------------------------------------------------- per-layer patterns
def _frame_vectors(layer: HWLayer, index: int = 0) -> int:
    """Vectors per frame (``qnncc.codegen.hls.layers._common.frame_vectors``)."""
    return math.prod(int(d) for d in layer.normal_input_shape(index)[1:-1])


def _words(layer: HWLayer, index: int = 0) -> int:
    """Words per frame of input ``index``."""
    return math.prod(int(d) for d in layer.normal_input_shape(index)[1:]) // layer.input_elems_per_word(index)


def mvau_program(layer: HWLayer, lat: int) -> Program:
    """MVAU: NF x SF iterations per vector; reads in the first neuron fold, a write closing each fold.

    ``MMV > 1`` (``mvau_mmv``, NF = SF = 1): one word of MMV vectors read and one written per iteration.
    """
    sf = int(layer.attrs["MW"]) // int(layer.attrs["SIMD"])
    nf = int(layer.attrs["MH"]) // int(layer.attrs["PE"])
    # one vector: nf == 0 reads every iteration; every synapse fold ends with a write
    runs = [(1, 0, sf - 1), (1, 1, 1)] + [(0, 0, sf - 1), (0, 1, 1)] * (nf - 1)
    return _program(runs, 1, 1, lat, _frame_vectors(layer) // int(layer.attrs.get("MMV", 1)))


def read_write_each_program(layer: HWLayer, lat: int) -> Program:
    """Thresholding, ChannelwiseOp: one word in and one out per iteration."""
    return _program([(1, 1, _words(layer))], 1, 1, lat)


def add_streams_program(layer: HWLayer, lat: int) -> Program:
    """AddStreams: one word read from both inputs and one written per iteration."""
    return _program([(3, 1, _words(layer))], 2, 1, lat)


def duplicate_streams_program(layer: HWLayer, lat: int) -> Program:
    """DuplicateStreams: one word read and written to every output per iteration."""
    n_out = layer.num_output_streams()
    return _program([(1, (1 << n_out) - 1, _words(layer))], 1, n_out, lat)


def label_select_program(layer: HWLayer, lat: int) -> Program:
    """LabelSelect: Labels/PE reads per vector, then the K indices written."""
    labels, pe, k = (int(layer.attrs[a]) for a in ("Labels", "PE", "K"))
    return _program([(1, 0, labels // pe), (0, 1, k)], 1, 1, lat, _frame_vectors(layer))


def dwc_program(layer: HWLayer, lat: int) -> Program:
    """StreamingDataWidthConverter: reads and writes interleaved by the in/out word ratio (``dwc.hpp``)."""
    i, o = layer.input_elems_per_word(), layer.output_elems_per_word()
    elems = math.prod(int(d) for d in layer.normal_input_shape()[1:])
    period = math.lcm(i, o)
    runs: list[tuple[int, int, int]] = []
    have = written = 0
    while written < period // o:  # dwc.hpp, one period of lcm(I, O) elements (have returns to 0)
        read = have < o
        if read:
            have += i
        write = have >= o
        if write:
            have -= o
            written += 1
        runs.append((int(read), int(write), 1))
    return _program(runs, 1, 1, lat, elems // period)


def fmpadding_program(layer: HWLayer, lat: int) -> Program:
    """FMPadding: a write per output pixel word, a read only for the interior ones (``fmpadding.hpp``).

    ``MMV > 1`` (``fmpadding_mmv``): a write per output word of MMV pixels, a read whenever the queue
    holds fewer input pixels than the word's interior ones.
    """
    _, h, w, c = (int(d) for d in layer.normal_input_shape())
    top, left, bottom, right = (int(p) for p in layer.attrs["Padding"])
    inside = np.zeros((top + h + bottom, left + w + right), dtype=np.int64)
    inside[top : top + h, left : left + w] = 1
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:
        need = inside.reshape(-1, mmv).sum(axis=1)
        reads = np.zeros_like(need)
        held = 0
        for i, n in enumerate(need.tolist()):  # fmpadding_mmv's queue
            if held < n:
                reads[i], held = 1, held + mmv
            held -= n
        return _program(_from_masks(reads, np.ones_like(reads)), 1, 1, lat)
    cf = c // layer.input_elems_per_word()
    r = np.repeat(inside.ravel(), cf)
    return _program(_from_masks(r, np.ones_like(r)), 1, 1, lat)  # one image per call, as the template


def maxpool_program(layer: HWLayer, lat: int) -> Program:
    """StreamingMaxPool: a read per input word, a write when a pooling window row closes (``pool.hpp``)."""
    _, ih, iw, c = (int(d) for d in layer.normal_input_shape())
    _, oh, ow, _ = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["PoolDim"])
    cf = c // layer.input_elems_per_word()
    h = np.arange(ih)[:, None]
    w = np.arange(iw)[None, :]
    last = ((h % kh == kh - 1) | (h == ih - 1)) & ((w % kw == kw - 1) | (w == iw - 1))
    last &= (h // kh < oh) & (w // kw < ow)
    wmask = np.repeat(last.astype(np.int64).ravel(), cf)
    return _program(_from_masks(np.ones_like(wmask), wmask), 1, 1, lat)


def pool_program(layer: HWLayer, lat: int) -> Program:
    """Pool (MaxPool): K*C/PE reads per output pixel, the last C/PE of them with a write (``window_max``)."""
    _, oh, ow, c = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["KernelSize"])
    cf = c // int(layer.attrs["PE"])
    per_pixel = [(1, 0, (kh * kw - 1) * cf), (1, 1, cf)] if kh * kw > 1 else [(1, 1, cf)]
    return _program(per_pixel, 1, 1, lat, repeat=oh * ow)


def global_acc_pool_program(layer: HWLayer, lat: int) -> Program:
    """GlobalAccPool: H*W reads per channel fold, one write per fold at the end of the frame."""
    _, h, w, c = (int(d) for d in layer.normal_input_shape())
    cf = c // int(layer.attrs["PE"])
    return _program([(1, 0, (h * w - 1) * cf), (1, 1, cf)], 1, 1, lat)


def swg_parallel_program(layer: HWLayer, lat: int) -> Program:
    """``swg_parallel``: one input pixel per iteration, a whole window on the pixel that completes it.

    ``MMV > 1`` (``swg_parallel_mmv``): one word of MMV pixels per iteration; the windows completed by
    it are queued and a word of MMV windows is written in each iteration that fills the queue to MMV.
    """
    _, ih, iw, _ = (int(d) for d in layer.normal_input_shape())
    _, oh, ow, _ = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["ConvKernelDim"])
    sh, sw = (int(s) for s in layer.attrs["Stride"])
    mmv = int(layer.attrs.get("MMV", 1))
    h = np.arange(ih)[:, None] - (kh - 1)
    w = np.arange(iw)[None, :] - (kw - 1)
    emit = (h >= 0) & (h % sh == 0) & (h // sh < oh) & (w >= 0) & (w % sw == 0) & (w // sw < ow)
    done = np.cumsum(emit.astype(np.int64).reshape(ih, iw // mmv, mmv).sum(axis=2).ravel())  # windows so far
    wmask = np.diff(done // mmv, prepend=0)  # a write when the queue reaches MMV (at most one per iteration)
    return _program(_from_masks(np.ones_like(wmask), wmask), 1, 1, lat)


def swg_program(layer: HWLayer, lat: int) -> Program:
    """ConvolutionInputGenerator: line-buffer reads interleaved with window writes (``swg.hpp``)."""
    if int(layer.attrs.get("parallel_window", 0)):
        return swg_parallel_program(layer, lat)
    from qnncc.hw.layers.convolutioninputgenerator import swg_buffer_rows

    _, ih, iw, c = (int(d) for d in layer.normal_input_shape())
    _, oh_n, ow_n, _ = (int(d) for d in layer.normal_output_shape())
    kh, kw = (int(k) for k in layer.attrs["ConvKernelDim"])
    sh, _ = (int(s) for s in layer.attrs["Stride"])
    dh, _ = (int(d) for d in layer.attrs["Dilation"])
    cf = c // int(layer.attrs["SIMD"])
    span = dh * (kh - 1) + 1
    rows = swg_buffer_rows(span, sh, ih)
    row_words, emit_words = iw * cf, ow_n * kw * kh * cf
    runs: list[tuple[int, int, int]] = []
    rr = rword = oh = top = emitted = 0
    while rr < ih or oh < oh_n:  # swg.hpp, in chunks between row events
        can_emit = oh < oh_n and rr >= top + span
        can_read = rr < ih and (oh == oh_n or rr < top + rows)
        if not (can_emit or can_read):
            raise SimulationError(f"{layer.describe()}: the window generator loop stalls (rows={rows})")
        k = min(emit_words - emitted if can_emit else emit_words, row_words - rword if can_read else row_words)
        runs.append((int(can_read), int(can_emit), k))
        if can_emit:
            emitted += k
            if emitted == emit_words:
                emitted, oh, top = 0, oh + 1, top + sh
        if can_read:
            rword += k
            if rword == row_words:
                rword, rr = 0, rr + 1
    return _program(runs, 1, 1, lat)


def vvau_program(layer: HWLayer, lat: int) -> Program:
    """VVAU: window reads and per-channel-fold writes in ``vvau.hpp``'s loop order.

    ``MMV > 1`` (``vvau_mmv``): one word of MMV windows read and one of MMV results written per iteration.
    """
    channels, pe, simd = (int(layer.attrs[a]) for a in ("Channels", "PE", "SIMD"))
    kh, kw = (int(k) for k in layer.attrs["Kernel"])
    oh, ow = (int(d) for d in layer.attrs["Dim"])
    pixels = oh * ow
    mmv = int(layer.attrs.get("MMV", 1))
    if mmv > 1:
        return _program([(1, 1, pixels // mmv)], 1, 1, lat)
    in_words, out_words = kh * kw * channels // (simd * pe), channels // pe
    runs: list[tuple[int, int, int]] = []
    rd_pix = word = dr_pix = dr_word = 0
    while dr_pix < pixels:  # vvau.hpp, in chunks between pixel events
        can_drain = dr_pix < rd_pix
        can_read = rd_pix < pixels and rd_pix < dr_pix + 2
        k = min(out_words - dr_word if can_drain else out_words, in_words - word if can_read else in_words)
        runs.append((int(can_read), int(can_drain), k))
        if can_drain:
            dr_word += k
            if dr_word == out_words:
                dr_word, dr_pix = 0, dr_pix + 1
        if can_read:
            word += k
            if word == in_words:
                word, rd_pix = 0, rd_pix + 1
    return _program(runs, 1, 1, lat)


def layer_latency(op_type: str, name: str = "", overrides: Mapping[str, int] | None = None) -> int:
    """Pipeline latency of a layer: ``overrides[name]``, ``overrides[op_type]``, the registry's, or 2.

    The registered latency is the ``latency`` facet of the layer's descriptor in
    :mod:`qnncc.hw.registry`.
    """
    overrides = overrides or {}
    for key in (name, op_type):
        if key and key in overrides:
            value = int(overrides[key])
            if value < 0:
                raise SimulationError(f"latency of {key!r} must be >= 0, got {value}")
            return value
    from qnncc.hw.registry import descriptors_by_op_type  # the registry imports this module

    desc = descriptors_by_op_type().get(op_type)
    return desc.latency if desc is not None else 2


def layer_program(layer: HWLayer, latency: int | None = None) -> Program:
    """The per-frame token pattern of a HW layer (see the module docstring for the sources).

    Args:
        layer: the layer (its node's op type selects the pattern).
        latency: pipeline depth; default :func:`layer_latency` of the op type.

    Raises:
        SimulationError: the op type has no pattern (e.g. ``StreamingFIFO``,
            which the simulator models as a stream's capacity).
    """
    from qnncc.hw.registry import LAYERS, descriptors_by_op_type  # the registry imports this module

    op_type = layer.node.op_type
    desc = descriptors_by_op_type().get(op_type)
    if desc is None or desc.program is None:
        have = ", ".join(sorted(d.op_type for d in LAYERS if d.program is not None))
        why = f": {desc.no_program}" if desc is not None else ""
        raise SimulationError(f"{layer.describe()}: no cycle-level pattern for {op_type}{why} (have: {have})")
    return desc.program(layer, layer_latency(op_type) if latency is None else latency)


def source_program(words: int) -> Program:
    """An external input (DMA) writing ``words`` words per frame, one per cycle when there is space."""
    return _program([(0, 1, words)], 0, 1, 0)


def sink_program(words: int) -> Program:
    """An external output reading ``words`` words per frame, one per cycle when there is one."""
    return _program([(1, 0, words)], 1, 0, 0)
