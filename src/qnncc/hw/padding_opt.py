"""Channel padding that opens cheaper foldings: which MVAU-to-MVAU tensors to widen, and by how much.

An MVAU's folding must divide its matrix (``SIMD | MW``, ``PE | MH``), and it
takes ``(MW / SIMD) * (MH / PE)`` cycles per vector (FINN's MVAU cycle
formula, ``docs/folding.md``). For dimensions with few divisors the fastest
folding that meets a cycle target can overshoot it by almost 2x: a
1024 x 1024 layer needs ``PE * SIMD = 2048`` lanes to finish in 1000 cycles.
Padding the channel count between two MVAUs (``transforms.hw.pad_channels``)
changes the divisors; 1050 x 1040 meets 1000 cycles with 42 x 26 = 1092 lanes.

The choice (:func:`qnncc.transforms.hw.pad_channels.padded_channels` for a
model) is a shortest path along each chain of paddable links (the links
of a chain share layers: a link's padded count is the producer's ``MH`` and
the consumer's ``MW``): every link takes a count in ``[C, C * (1 + max_pad)]``
and every layer costs its fewest lanes meeting the target
(:func:`min_lanes`), a proxy for its compute LUTs; ties keep fewer padded
channels. The folding optimiser then prices the padded model with its
resource model and keeps it only when it is cheaper (``flow.folding``).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from qnncc.hw.layers.base import divisors

__all__ = ["MAX_PAD", "ChainLayer", "choose_padding", "min_lanes", "padding_chains"]

#: Default largest padding, as a fraction of the channel count.
MAX_PAD = 0.0625


@functools.lru_cache(maxsize=4096)
def _divisors(n: int) -> tuple[int, ...]:
    return tuple(divisors(n))


@functools.lru_cache(maxsize=1 << 16)
def min_lanes(mw: int, mh: int, max_cycles: int) -> int | None:
    """The fewest ``PE * SIMD`` lanes of an ``MW x MH`` MVAU finishing a vector within ``max_cycles``.

    Args:
        mw: matrix width (input channels, SIMD divides it).
        mh: matrix height (output channels, PE divides it).
        max_cycles: cycles per vector allowed (frame target / vectors per frame).

    Returns:
        ``mw * mh / (SF * NF)`` for the largest ``SF * NF <= max_cycles`` with
        ``SF | mw`` and ``NF | mh`` (``SF = MW / SIMD``, ``NF = MH / PE``), or
        None when even one cycle per vector (``max_cycles < 1``) is too slow.
    """
    if max_cycles < 1:
        return None
    nfs = _divisors(mh)
    best = 0
    for sf in _divisors(mw):
        if sf > max_cycles:
            break
        nf = nfs[bisect.bisect_right(nfs, max_cycles // sf) - 1]
        best = max(best, sf * nf)
    return mw * mh // best


@dataclass(frozen=True)
class ChainLayer:
    """One MVAU of a padding chain.

    Attributes:
        name: node name.
        mw: input channels (padded by the link before it, if any).
        mh: output channels (padded by the link after it, if any).
        vectors: vectors per frame (``numInputVectors`` without the batch).
        drain: cycles per frame beyond the vectors' (the layer's pipeline drain,
            ``LayerEstimate.drain_cycles``).
    """

    name: str
    mw: int
    mh: int
    vectors: int
    drain: int = 0


def padding_chains(links: Sequence[tuple[str, str, str]]) -> list[list[tuple[str, str]]]:
    """Group ``(tensor, producer, consumer)`` links into chains ``[(tensor, producer), ..]`` in stream order.

    Consecutive links of a chain share a layer (the consumer of one is the
    producer of the next); each chain's last consumer follows from its last link.
    """
    by_producer = {p: (t, c) for t, p, c in links}
    consumers = {c for _, _, c in links}
    chains = []
    for t, p, _ in links:
        if p in consumers:
            continue  # not a chain start
        chain = [(t, p)]
        while by_producer[chain[-1][1]][1] in by_producer:
            nxt = by_producer[chain[-1][1]][1]
            chain.append((by_producer[nxt][0], nxt))
        chains.append(chain)
    return chains


def choose_padding(
    layers: Sequence[ChainLayer], max_cycles: int, max_pad: float = MAX_PAD
) -> tuple[list[int], int] | None:
    """Padded channel counts of the links of one chain, and the chain's lanes.

    Args:
        layers: the chain's MVAUs in stream order; link ``i`` is between
            ``layers[i]`` and ``layers[i + 1]`` with ``layers[i].mh`` channels.
        max_cycles: the frame target in cycles (each layer gets
            ``(max_cycles - drain) // vectors`` per vector).
        max_pad: largest padding as a fraction of a link's channels.

    Returns:
        ``(counts, lanes)``: one count per link (``len(layers) - 1``; equal to
        today's where padding does not help) and the summed fewest lanes, or
        None when some layer cannot meet the target at any count.
    """
    budgets = [(max_cycles - layer.drain) // max(1, layer.vectors) for layer in layers]
    options = [range(layer.mh, math.floor(layer.mh * (1 + max_pad)) + 1) for layer in layers[:-1]]
    # best[k] = ((lanes, padded channels), counts) of layers[0..i] with link i padded to k
    best: dict[int, tuple[tuple[int, int], list[int]]] = {}
    for k in options[0]:
        lanes = min_lanes(layers[0].mw, k, budgets[0])
        if lanes is not None:
            best[k] = ((lanes, k - layers[0].mh), [k])
    for i in range(1, len(layers) - 1):
        nxt: dict[int, tuple[tuple[int, int], list[int]]] = {}
        for k in options[i]:
            for prev, ((lanes, pad), counts) in best.items():
                extra = min_lanes(prev, k, budgets[i])
                if extra is None:
                    continue
                cost = (lanes + extra, pad + k - layers[i].mh)
                if k not in nxt or cost < nxt[k][0]:
                    nxt[k] = (cost, [*counts, k])
        best = nxt
    last = layers[-1]
    final = []
    for prev, ((lanes, pad), counts) in best.items():
        extra = min_lanes(prev, last.mh, budgets[-1])
        if extra is not None:
            final.append(((lanes + extra, pad), counts))
    if not final:
        return None
    (lanes, _), counts = min(final)
    return counts, lanes
