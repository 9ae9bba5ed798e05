"""Stream-word packing: bit-exact with FINN's driver packing, round trips, errors, speed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnncc.codegen.names import roundup8
from qnncc.codegen.packing import (
    pack_words,
    packed_shape,
    to_hex_words,
    unpack_words,
    word_bytes,
    word_ints,
)
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType

DATA = Path(__file__).parents[1] / "data"

DTYPES = [
    "BIPOLAR",
    "BINARY",
    *[f"UINT{b}" for b in range(2, 9)],
    *[f"INT{b}" for b in range(2, 9)],
    "INT16",
    "UINT32",
    "TERNARY",
    "UINT13",
    "INT20",
    "INT64",
    "UINT64",
    "FIXED<8,3>",
    "FIXED<12,4>",
]


# ----------------------------------------------------------------- reference
# Transcription of FINN's classic scalar path (``array2hexstring`` +
# ``finnpy_to_packed_bytearray`` with reverse_inner=True, reverse_endian=True),
# on exact Python numbers and a string of bits: the innermost axis is reversed,
# each value becomes a ``b``-bit two's complement field, the word is left-padded
# to whole bytes (big-endian), then the byte order is reversed.
def _field(v: Any, dt: DataType) -> str:
    bw = dt.bitwidth()
    if dt.name == "BIPOLAR":
        code = (int(v) + 1) // 2
    elif dt.is_fixed_point():
        code = round(v / dt.scale_factor())
    else:
        code = int(v)
    assert -(2 ** (bw - 1)) <= code < 2**bw
    return format(code % (1 << bw), f"0{bw}b")


def finn_reference_pack(values: np.ndarray, dt: DataType) -> np.ndarray:
    rows = np.asarray(values).reshape(-1, values.shape[-1])
    out = []
    for row in rows.tolist():
        bits = "".join(_field(v, dt) for v in reversed(row))
        bits = "0" * (roundup8(len(bits)) - len(bits)) + bits
        big_endian = [int(bits[k : k + 8], 2) for k in range(0, len(bits), 8)]
        out.append(big_endian[::-1])
    return np.asarray(out, dtype=np.uint8).reshape((*values.shape[:-1], -1))


def finn_reference_unpack(packed: np.ndarray, dt: DataType, elems: int) -> list[Any]:
    bw = dt.bitwidth()
    values: list[Any] = []
    for row in packed.reshape(-1, packed.shape[-1]).tolist():
        bits = "".join(format(byte, "08b") for byte in row[::-1])
        fields = bits[len(bits) - elems * bw :]
        for i in reversed(range(elems)):
            code = int(fields[i * bw : (i + 1) * bw], 2)
            signed = code - (1 << bw) if code >> (bw - 1) else code
            if dt.name == "BIPOLAR":
                values.append(2 * code - 1)
            elif dt.is_fixed_point():
                values.append(signed * dt.scale_factor())
            elif dt.signed():
                values.append(signed)
            else:
                values.append(code)
    return values


# ----------------------------------------------------------------- strategies
@st.composite
def folded_arrays(draw: Any, names: list[str] = DTYPES) -> tuple[np.ndarray, DataType]:
    dt = DataType[draw(st.sampled_from(names))]
    lead = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    elems = draw(st.integers(1, 24))
    shape = (*lead, elems)
    n = math.prod(shape)
    if dt.name == "BIPOLAR":
        ints = draw(st.lists(st.sampled_from([-1, 1]), min_size=n, max_size=n))
    else:
        lo, hi = int(dt.min()), int(dt.max())
        if dt.is_fixed_point():  # range of the stored integer
            lo, hi = -(2 ** (dt.bits - 1)), 2 ** (dt.bits - 1) - 1
        ints = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    if dt.is_fixed_point():
        return np.asarray(ints, dtype=np.float64).reshape(shape) * dt.scale_factor(), dt
    container = draw(st.sampled_from(["int", "float32"] if dt.bits <= 24 else ["int"]))
    if container == "float32":
        return np.asarray(ints, dtype=np.float32).reshape(shape), dt
    return np.asarray(ints, dtype=np.uint64 if dt.name == "UINT64" else np.int64).reshape(shape), dt


# ----------------------------------------------------------------- properties
@settings(max_examples=300, deadline=None)
@given(folded_arrays())
def test_pack_equals_finn_reference_and_round_trips(case: tuple[np.ndarray, DataType]) -> None:
    x, dt = case
    packed = pack_words(x, dt)
    elems = x.shape[-1]
    assert packed.dtype == np.uint8
    assert packed.shape == (*x.shape[:-1], roundup8(elems * dt.bitwidth()) // 8)
    np.testing.assert_array_equal(packed, finn_reference_pack(x, dt))
    back = unpack_words(packed, dt, elems)
    assert back.shape == x.shape
    np.testing.assert_array_equal(back, x)
    assert back.reshape(-1).tolist() == finn_reference_unpack(packed, dt, elems)
    expected_dtype = np.float64 if dt.is_fixed_point() else np.uint64 if dt.name == "UINT64" else np.int64
    assert back.dtype == expected_dtype


@settings(max_examples=100, deadline=None)
@given(folded_arrays())
def test_word_ints_hold_element_i_at_bits_i_times_b(case: tuple[np.ndarray, DataType]) -> None:
    x, dt = case
    b = dt.bitwidth()
    words = word_ints(x, dt)
    rows = x.reshape(-1, x.shape[-1])
    assert len(words) == rows.shape[0]
    for word, row in zip(words, rows.tolist(), strict=True):
        for i, v in enumerate(row):
            field = (word >> (i * b)) & ((1 << b) - 1)
            if dt.name == "BIPOLAR":
                assert field == (1 if v > 0 else 0)
            else:
                code = round(v / dt.scale_factor()) if dt.is_fixed_point() else int(v)
                assert field == code % (1 << b)
        assert word < (1 << (b * len(row)))


# ----------------------------------------------------------------- known words
@pytest.mark.parametrize(
    ("values", "dt", "expected"),
    [
        ([1, 2, 3], "UINT4", [0x21, 0x03]),
        ([-1, 0, 1], "INT4", [0x0F, 0x01]),
        ([1, -1, 1, 1, -1, -1, -1, -1, 1], "BIPOLAR", [0x0D, 0x01]),
        ([1, 0, 0, 1], "BINARY", [0x09]),
        ([-2], "INT16", [0xFE, 0xFF]),
        ([-1, 1, 0], "TERNARY", [0x07]),
        ([0x12345678], "UINT32", [0x78, 0x56, 0x34, 0x12]),
        ([0.5, -1.25], "FIXED<8,4>", [0x08, 0xEC]),
        ([255, 0, 7], "UINT8", [255, 0, 7]),
    ],
)
def test_known_words(values: list[float], dt: str, expected: list[int]) -> None:
    packed = pack_words(np.array([values]), DataType[dt])
    assert packed.tolist() == [expected]
    np.testing.assert_array_equal(unpack_words(packed, dt, len(values)), [values])


def test_float32_words_are_ieee_bits() -> None:
    x = np.array([[1.0, -2.5, 3.0e-3]], dtype=np.float32)
    packed = pack_words(x, "FLOAT32")
    assert packed.tobytes() == x.astype("<f4").tobytes()
    np.testing.assert_array_equal(unpack_words(packed, "FLOAT32", 3), x)


def test_hex_words_and_shapes() -> None:
    x = np.array([[[1, 2, 3], [-1, 0, 1]]])
    assert to_hex_words(x, "INT4") == ["0x321", "0x10f"]
    assert to_hex_words(x, "INT4", width=16, prefix="") == ["0321", "010f"]
    assert word_ints(x, "INT4") == [0x321, 0x10F]
    assert packed_shape((1, 16, 49), "UINT8") == (1, 16, 49)
    assert packed_shape([1, 10, 1], "UINT4") == (1, 10, 1)
    assert word_bytes(49, DataType["BINARY"]) == 7
    with pytest.raises(CodegenError, match="below"):
        to_hex_words(x, "INT4", width=8)


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("values", "dt", "text"),
    [
        ([1, 256], "UINT8", r"value 256 at index \(0, 1\) is not representable in UINT8 \(integers 0..255\)"),
        ([1, -1], "UINT8", "value -1 at index"),
        ([0.5], "INT4", "value 0.5 at index .* INT4"),
        ([8], "INT4", "value 8 at index .* INT4 .*-8..7"),
        ([0], "BIPOLAR", "not representable in BIPOLAR .*-1 or \\+1"),
        ([float("nan")], "UINT2", "nan .* UINT2"),
        ([-2], "TERNARY", "TERNARY"),
        ([0.1], "FIXED<8,4>", "FIXED<8,4>"),
        ([1], "SCALEDINT<8>", "cannot be packed"),
    ],
)
def test_values_outside_the_datatype_are_rejected(values: list[float], dt: str, text: str) -> None:
    with pytest.raises(CodegenError, match=text):
        pack_words(np.array([values]), dt)


def test_unpack_rejects_wrong_byte_count_and_dtype() -> None:
    with pytest.raises(CodegenError, match="2 bytes, expected 1"):
        unpack_words(np.zeros((3, 2), np.uint8), "UINT4", 2)
    with pytest.raises(CodegenError, match="uint8"):
        unpack_words(np.zeros((3, 1), np.int32), "UINT4", 2)
    with pytest.raises(CodegenError, match="shape"):
        pack_words(np.int64(3), "UINT4")


# ----------------------------------------------------------------- speed
def test_packs_10000_tfc_inputs() -> None:
    # (speed is a benchmark's business, not a unit test's: a loaded machine made this flaky)
    images = np.load(DATA / "mnist_test.npz")["images"].astype(np.float32).reshape(10000, 16, 49)
    packed = pack_words(images, "UINT8")
    assert packed.shape == (10000, 16, 49)
    np.testing.assert_array_equal(unpack_words(packed, "UINT8", 49), images)
