"""Lossless encoders of quantized tensors: run-length (RLE-N) and Huffman coding.

Definitions follow fpgaConvNet's PyTorch front end (``fpgaconvnet-torch``,
``encoding/rle.py`` and ``encoding/huffman.py``):

* **RLE-N**: the flattened integer tensor is cut into runs of equal
  consecutive values; each run is stored as a pair (value, length) with the
  value in its ``b`` quantization bits and the length in ``N`` bits (stored as
  ``length - 1``, so a run holds at most ``2^N`` values; longer runs are split
  into runs of ``2^N`` followed by the remainder). Compression ratio
  ``pairs * (b + N) / (elements * b)``.
* **Huffman**: an optimal prefix code built from the value frequencies; the
  ratio is the average code length over ``b``. The code table is not counted
  (as in the reference); unlike the reference (``dahuffman``), the code is
  built over the values that occur only, without an end-of-file symbol.

A ratio below 1 means the encoding is smaller than the plain ``b``-bit stream.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HuffmanCode",
    "huffman_ratio",
    "rle_bits",
    "rle_decode",
    "rle_encode",
    "rle_pairs",
    "rle_ratio",
]


def _check_bits(length_bits: int) -> None:
    if not 1 <= length_bits <= 62:
        raise ValueError(f"run-length field must have 1..62 bits, got {length_bits}")


def rle_encode(x: np.ndarray, length_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Run-length encode a tensor (flattened in C order).

    Args:
        x: the values (any shape; integers for quantized tensors).
        length_bits: bits ``N`` of the length field; runs are capped at ``2^N``.

    Returns:
        ``(values, lengths)``: one entry per stored pair, lengths in ``1 .. 2^N``.

    Example:
        >>> rle_encode(np.array([0, 0, 0, 5, 5, 0]), 1)
        (array([0, 0, 5, 0]), array([2, 1, 2, 1]))
    """
    _check_bits(length_bits)
    flat = np.asarray(x).reshape(-1)
    if flat.size == 0:
        return flat.copy(), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    runs = np.diff(np.append(starts, flat.size))
    cap = 1 << length_bits
    pieces = -(-runs // cap)  # ceil
    values = np.repeat(flat[starts], pieces)
    lengths = np.full(int(pieces.sum()), cap, dtype=np.int64)
    last = np.cumsum(pieces) - 1
    lengths[last] = runs - (pieces - 1) * cap
    return values, lengths


def rle_decode(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rle_encode` (flat result)."""
    return np.repeat(np.asarray(values), np.asarray(lengths, dtype=np.int64))


def rle_bits(pairs: int, value_bits: int, length_bits: int) -> int:
    """Size of an RLE stream: ``pairs * (value_bits + length_bits)``."""
    return pairs * (value_bits + length_bits)


def rle_pairs(x: np.ndarray, length_bits: int) -> np.ndarray:
    """Number of RLE pairs of every row of ``x`` (each row encoded on its own).

    Args:
        x: ``[rows, ...]``; each row is flattened in C order and encoded separately.
        length_bits: bits of the length field.

    Returns:
        int64 ``[rows]``.
    """
    _check_bits(length_bits)
    arr = np.asarray(x)
    rows = arr.shape[0] if arr.ndim else 1
    flat = arr.reshape(rows, -1)
    m = flat.shape[1]
    if m == 0:
        return np.zeros(rows, np.int64)
    change = np.ones((rows, m), dtype=bool)
    change[:, 1:] = flat[:, 1:] != flat[:, :-1]
    starts = np.flatnonzero(change.reshape(-1))
    runs = np.diff(np.append(starts, rows * m))
    pieces = -(-runs // (1 << length_bits))
    return np.bincount(starts // m, weights=pieces, minlength=rows).astype(np.int64)


def rle_ratio(x: np.ndarray, value_bits: int, length_bits: int) -> float:
    """Compression ratio of RLE-``length_bits`` on ``x``: encoded bits over ``x.size * value_bits``."""
    size = np.asarray(x).size
    if size == 0:
        return 1.0
    pairs = int(rle_pairs(np.asarray(x).reshape(1, -1), length_bits)[0])
    return rle_bits(pairs, value_bits, length_bits) / (size * value_bits)


@dataclass(frozen=True)
class HuffmanCode:
    """A canonical Huffman code.

    Attributes:
        lengths: code length (bits) per symbol.
        codes: canonical code word per symbol (an integer of ``lengths[s]`` bits).
    """

    lengths: Mapping[int, int]
    codes: Mapping[int, int]

    @classmethod
    def from_frequencies(cls, freqs: Mapping[int, int]) -> HuffmanCode:
        """Build the code of the symbols with a positive frequency.

        A single symbol gets a 1-bit code. Ties are broken by symbol value, so the
        code is deterministic.

        Raises:
            ValueError: if no frequency is positive.
        """
        items = sorted((int(s), int(f)) for s, f in freqs.items() if f > 0)
        if not items:
            raise ValueError("Huffman code of an empty frequency table")
        if len(items) == 1:
            lengths = {items[0][0]: 1}
        else:
            counter = itertools.count()
            heap: list[tuple[int, int, list[int]]] = [(f, next(counter), [s]) for s, f in items]
            heapq.heapify(heap)
            depth = {s: 0 for s, _ in items}
            while len(heap) > 1:
                f1, _, a = heapq.heappop(heap)
                f2, _, b = heapq.heappop(heap)
                for s in a + b:
                    depth[s] += 1
                heapq.heappush(heap, (f1 + f2, next(counter), a + b))
            lengths = depth
        return cls(lengths, _canonical(lengths))

    @classmethod
    def from_data(cls, x: np.ndarray) -> HuffmanCode:
        """Build the code of the values of ``x``."""
        values, counts = np.unique(np.asarray(x).reshape(-1), return_counts=True)
        return cls.from_frequencies({int(v): int(c) for v, c in zip(values, counts, strict=True)})

    def average_bits(self, freqs: Mapping[int, int]) -> float:
        """Average code length over the frequencies (symbols must be in the code)."""
        total = sum(freqs.values())
        return sum(self.lengths[int(s)] * f for s, f in freqs.items() if f) / total if total else 0.0

    def encode(self, x: np.ndarray) -> tuple[bytes, int]:
        """Encode the values of ``x`` (flattened); returns the packed bytes (MSB first) and the bit count.

        Raises:
            KeyError: for a value without a code word.
        """
        flat = [int(v) for v in np.asarray(x).reshape(-1)]
        bits: list[int] = []
        for v in flat:
            n, code = self.lengths[v], self.codes[v]
            bits.extend((code >> (n - 1 - i)) & 1 for i in range(n))
        packed = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes() if bits else b""
        return packed, len(bits)

    def decode(self, data: bytes, nbits: int) -> np.ndarray:
        """Decode ``nbits`` bits of ``data`` produced by :meth:`encode` (flat int64 array).

        Raises:
            ValueError: if the bits do not end on a code word boundary.
        """
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:nbits]
        table = {(n, self.codes[s]): s for s, n in self.lengths.items()}
        out: list[int] = []
        code = length = 0
        for b in bits:
            code, length = (code << 1) | int(b), length + 1
            sym = table.get((length, code))
            if sym is not None:
                out.append(sym)
                code = length = 0
        if length:
            raise ValueError("Huffman stream ends inside a code word")
        return np.asarray(out, dtype=np.int64)


def _canonical(lengths: Mapping[int, int]) -> dict[int, int]:
    """Canonical code words: by (length, symbol), each the previous plus one, shifted to its length."""
    codes: dict[int, int] = {}
    code = prev = 0
    for sym, n in sorted(lengths.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= n - prev
        codes[sym] = code
        code += 1
        prev = n
    return codes


def huffman_ratio(freqs: Mapping[int, int], value_bits: int) -> float:
    """Huffman compression ratio: average code length over ``value_bits``."""
    code = HuffmanCode.from_frequencies(freqs)
    return code.average_bits(freqs) / value_bits
