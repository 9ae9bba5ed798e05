"""RLE-N and Huffman encoders: hand-computed cases and decode(encode(x)) == x."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from qnncc.analysis import HuffmanCode, huffman_ratio, rle_bits, rle_decode, rle_encode, rle_pairs, rle_ratio


def test_rle_hand_computed():
    x = np.array([3, 3, 3, 0, 0, 7, 3, 3], np.int64)
    values, lengths = rle_encode(x, 8)
    assert values.tolist() == [3, 0, 7, 3] and lengths.tolist() == [3, 2, 1, 2]
    # 4 pairs of (8 value bits + 8 length bits) for 8 values of 8 bits
    assert rle_bits(4, 8, 8) == 64 and rle_ratio(x, 8, 8) == pytest.approx(64 / 64)
    # RLE-2: runs capped at 4; a run of 9 zeros is 4 + 4 + 1
    y = np.array([0] * 9 + [1, 1], np.int64)
    values, lengths = rle_encode(y, 2)
    assert values.tolist() == [0, 0, 0, 1] and lengths.tolist() == [4, 4, 1, 2]
    assert rle_ratio(y, 4, 2) == pytest.approx(4 * (4 + 2) / (11 * 4))
    # RLE-1 caps runs at 2
    assert rle_encode(np.array([5, 5, 5]), 1)[1].tolist() == [2, 1]
    # a constant 8x8 map under RLE-8: one pair
    assert rle_ratio(np.zeros((8, 8)), 8, 8) == pytest.approx(16 / 512)
    values, lengths = rle_encode(np.zeros(0, np.int64), 4)
    assert values.size == 0 and lengths.size == 0 and rle_decode(values, lengths).size == 0


def test_rle_rejects_bad_field_width():
    with pytest.raises(ValueError):
        rle_encode(np.zeros(3), 0)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-3, 3)),
    st.integers(1, 8),
)
def test_rle_roundtrip_and_caps(x, n):
    values, lengths = rle_encode(x, n)
    np.testing.assert_array_equal(rle_decode(values, lengths), x)
    assert lengths.size == 0 or (lengths.min() >= 1 and lengths.max() <= 2**n)
    # consecutive pairs with the same value only where a run was split at the cap
    same = values[1:] == values[:-1]
    assert np.all(lengths[:-1][same] == 2**n)
    assert int(rle_pairs(x.reshape(1, -1), n)[0]) == len(values)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.integers(0, 2)))
def test_rle_pairs_rows_are_independent(x):
    expected = [len(rle_encode(row, 2)[0]) for row in x]
    assert rle_pairs(x, 2).tolist() == expected


def test_huffman_hand_computed():
    # frequencies 5, 2, 1, 1: lengths 1, 2, 3, 3 -> (5*1 + 2*2 + 3 + 3) / 9 bits per value
    freqs = {0: 5, 1: 2, 2: 1, -1: 1}
    code = HuffmanCode.from_frequencies(freqs)
    assert dict(code.lengths) == {0: 1, 1: 2, -1: 3, 2: 3}
    # canonical: 0 -> 0, 1 -> 10, -1 -> 110, 2 -> 111
    assert dict(code.codes) == {0: 0b0, 1: 0b10, -1: 0b110, 2: 0b111}
    assert code.average_bits(freqs) == pytest.approx(15 / 9)
    assert huffman_ratio(freqs, 8) == pytest.approx(15 / 9 / 8)
    data, nbits = code.encode(np.array([0, 1, -1, 2, 0]))
    assert nbits == 1 + 2 + 3 + 3 + 1
    assert data == bytes([0b01011011, 0b10000000])
    single = HuffmanCode.from_frequencies({4: 10})
    assert dict(single.lengths) == {4: 1} and huffman_ratio({4: 10}, 4) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        HuffmanCode.from_frequencies({1: 0})


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.int64, st.integers(1, 400), elements=st.integers(-128, 127)))
def test_huffman_roundtrip_and_optimality_bounds(x):
    code = HuffmanCode.from_data(x)
    data, nbits = code.encode(x)
    np.testing.assert_array_equal(code.decode(data, nbits), x)
    values, counts = np.unique(x, return_counts=True)
    freqs = dict(zip(values.tolist(), counts.tolist(), strict=True))
    assert nbits == sum(code.lengths[v] * c for v, c in freqs.items())
    kraft = sum(2.0**-n for n in code.lengths.values())
    assert kraft <= 1 + 1e-12 and (len(freqs) == 1 or kraft == pytest.approx(1.0))
    p = counts / counts.sum()
    entropy = float(-(p * np.log2(p)).sum())
    assert entropy - 1e-9 <= code.average_bits(freqs) < max(entropy, 0) + 1 + 1e-9


def test_huffman_decode_rejects_truncated_stream():
    code = HuffmanCode.from_frequencies({0: 1, 1: 1, 2: 2})
    data, nbits = code.encode(np.array([0, 1]))
    with pytest.raises(ValueError):
        code.decode(data, nbits - 1)
