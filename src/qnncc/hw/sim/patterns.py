"""Token patterns: one frame of a layer's pipelined loop, as the simulator sees it.

Each HW layer is modelled by a :class:`Program`: the iterations of the
``#pragma HLS PIPELINE II=1`` loop of its template in
``hls_templates/include/qnncc/*.hpp`` for one frame, each iteration reading
one word from some input streams and writing one word to some output
streams. The read/write decisions of every template depend only on loop
counters, never on data, so the pattern is static and computed once
(run-length encoded, vectorised). This module holds the pattern primitives
(:func:`program_from_runs`, :func:`runs_from_masks`) and the dispatch
(:func:`layer_program`); each layer's own pattern is the ``program`` facet of
its descriptor, next to its op class in ``qnncc.hw.layers.<layer>`` (its
docstring names the template loop it follows).

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
    "frame_vectors",
    "frame_words",
    "layer_latency",
    "layer_program",
    "program_from_runs",
    "read_write_each_program",
    "runs_from_masks",
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


def program_from_runs(
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


def runs_from_masks(r: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode per-iteration mask arrays."""
    r = np.asarray(r, dtype=np.int64).ravel()
    w = np.asarray(w, dtype=np.int64).ravel()
    return _merge(r, w, np.ones(len(r), dtype=np.int64))


def frame_vectors(layer: HWLayer, index: int = 0) -> int:
    """Vectors per frame (``qnncc.codegen.hls.layers._common.frame_vectors``)."""
    return math.prod(int(d) for d in layer.normal_input_shape(index)[1:-1])


def frame_words(layer: HWLayer, index: int = 0) -> int:
    """Words per frame of input ``index``."""
    return math.prod(int(d) for d in layer.normal_input_shape(index)[1:]) // layer.input_elems_per_word(index)


def read_write_each_program(layer: HWLayer, lat: int) -> Program:
    """Thresholding, ChannelwiseOp: one word in and one out per iteration."""
    return program_from_runs([(1, 1, frame_words(layer))], 1, 1, lat)


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
    return program_from_runs([(0, 1, words)], 0, 1, 0)


def sink_program(words: int) -> Program:
    """An external output reading ``words`` words per frame, one per cycle when there is one."""
    return program_from_runs([(1, 0, words)], 1, 0, 0)
