"""DataType: ranges, membership, names, and agreement with qonnx.core.datatype.DataType."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnncc import DataType
from qnncc.core import DataTypeError, QnnccError

PROPS = settings(max_examples=150, deadline=None)

INT_NAMES = [f"{p}INT{n}" for p in ("", "U") for n in range(1, 65)]
# qonnx needs i < w; qnncc also accepts i == w (see test_fixed_point_ranges)
FIXED_NAMES = [f"FIXED<{w},{i}>" for w in range(2, 65) for i in range(1, w)]
SPECIAL_NAMES = ["BINARY", "BIPOLAR", "TERNARY", "FLOAT32", "FLOAT16"]
ALL_NAMES = SPECIAL_NAMES + [n for n in INT_NAMES if n != "UINT1"] + FIXED_NAMES

int_names = st.sampled_from(INT_NAMES)
all_names = st.sampled_from(ALL_NAMES)


def _int_range(name: str) -> tuple[int, int, int, bool]:
    signed = not name.startswith("U")
    bits = int(name.lstrip("UINT"))
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, bits, True
    return 0, 2**bits - 1, bits, False


# ------------------------------------------------------------------ ranges
@pytest.mark.parametrize("name", INT_NAMES)
def test_integer_ranges_are_exact(name):
    lo, hi, bits, signed = _int_range(name)
    dt = DataType[name]
    assert dt.min() == lo and dt.max() == hi
    assert isinstance(dt.min(), int) and isinstance(dt.max(), int)  # no float rounding for 64 bits
    assert dt.bitwidth() == bits
    assert dt.signed() is signed
    assert dt.is_integer() and not dt.is_fixed_point() and not dt.is_float()
    assert dt.allowed(lo) and dt.allowed(hi)
    assert not dt.allowed(lo - 1) and not dt.allowed(hi + 1)


def test_binary_bipolar_ternary():
    binary, bipolar, ternary = DataType["BINARY"], DataType["BIPOLAR"], DataType["TERNARY"]
    assert (binary.min(), binary.max(), binary.bitwidth(), binary.signed()) == (0, 1, 1, False)
    assert (bipolar.min(), bipolar.max(), bipolar.bitwidth(), bipolar.signed()) == (-1, 1, 1, True)
    assert (ternary.min(), ternary.max(), ternary.bitwidth(), ternary.signed()) == (-1, 1, 2, True)
    assert all(dt.is_integer() for dt in (binary, bipolar, ternary))
    values = np.array([-2, -1, -0.5, 0, 0.5, 1, 2])
    np.testing.assert_array_equal(binary.allowed(values), [0, 0, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(bipolar.allowed(values), [0, 1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(ternary.allowed(values), [0, 1, 0, 1, 0, 1, 0])
    assert DataType["UINT1"] == binary and DataType["UINT1"].name == "BINARY"
    assert DataType["INT1"] != binary and (DataType["INT1"].min(), DataType["INT1"].max()) == (-1, 0)


def test_float32():
    dt = DataType["FLOAT32"]
    big = float(np.finfo(np.float32).max)
    assert (dt.min(), dt.max(), dt.bitwidth(), dt.signed()) == (-big, big, 32, True)
    assert not dt.is_integer() and dt.is_float() and not dt.is_fixed_point()
    assert np.all(dt.allowed(np.array([0.1, -3e38, np.inf, np.nan, 2**70])))
    assert dt.to_numpy_dtype() == np.float32
    assert DataType["FLOAT"] == dt


@given(w=st.integers(1, 64), data=st.data())
@PROPS
def test_fixed_point_ranges(w, data):
    i = data.draw(st.integers(1, w))
    dt = DataType[f"FIXED<{w},{i}>"]
    frac = w - i
    assert dt.bitwidth() == w and dt.int_bits == i and dt.frac_bits() == frac
    assert dt.scale_factor() == 2.0**-frac
    assert dt.signed() and dt.is_fixed_point() and not dt.is_integer()
    assert dt.min() == -(2.0 ** (i - 1))
    assert dt.max() == float(Fraction(2 ** (w - 1) - 1, 2**frac))
    k = data.draw(st.integers(-(2 ** (w - 1)) - 2, 2 ** (w - 1) + 1))  # one LSB step count
    inside = -(2 ** (w - 1)) <= k <= 2 ** (w - 1) - 1
    if abs(k) < 2**53:  # k * 2**-frac is then an exact float
        assert dt.allowed(math.ldexp(k, -frac)) is inside
    if abs(2 * k + 1) < 2**53:  # and so is the point half an LSB off the grid
        assert dt.allowed(math.ldexp(2 * k + 1, -frac - 1)) is False


# ------------------------------------------------------------------ allowed
@given(name=int_names, value=st.integers(-(2**66), 2**66))
@PROPS
def test_allowed_python_ints_exact(name, value):
    lo, hi, _, _ = _int_range(name)
    assert DataType[name].allowed(value) is (lo <= value <= hi)


@given(name=int_names, value=st.floats(allow_nan=True, allow_infinity=True))
@PROPS
def test_allowed_floats_exact(name, value):
    lo, hi, _, _ = _int_range(name)
    expected = math.isfinite(value) and value.is_integer() and lo <= value <= hi  # exact int/float compare
    assert DataType[name].allowed(value) is expected


@pytest.mark.parametrize("name", ["INT64", "UINT64", "INT54", "UINT54", "INT63"])
def test_allowed_beyond_float64_precision(name):
    # float64 rounds max + 1 down onto max for these widths; membership must still be exact
    lo, hi, _, _ = _int_range(name)
    dt = DataType[name]
    assert dt.allowed(hi) and not dt.allowed(hi + 1)
    assert dt.allowed(lo) and not dt.allowed(lo - 1)
    assert not dt.allowed(float(hi + 1))  # float(2**k) is exactly one past max
    np.testing.assert_array_equal(dt.allowed(np.array([lo, hi, hi + 1], dtype=object)), [True, True, False])


@given(
    name=st.sampled_from(["INT3", "UINT5", "TERNARY", "BIPOLAR", "FIXED<6,2>", "INT64", "UINT64", "BINARY"]),
    values=st.lists(st.integers(-40, 40).map(lambda v: v / 4), min_size=1, max_size=12),
    dtype=st.sampled_from([np.float32, np.float64]),
)
@PROPS
def test_allowed_array_matches_scalar(name, values, dtype):
    dt = DataType[name]
    arr = np.asarray(values, dtype=dtype).reshape(-1, 1)
    out = dt.allowed(arr)
    assert isinstance(out, np.ndarray) and out.shape == arr.shape and out.dtype == bool
    np.testing.assert_array_equal(out.ravel(), [dt.allowed(float(v)) for v in values])


@pytest.mark.parametrize("int_dtype", [np.int8, np.uint8, np.int16, np.int64, np.uint64])
def test_allowed_integer_arrays(int_dtype):
    info = np.iinfo(int_dtype)
    arr = np.array([info.min, 0, 1, 2, info.max], dtype=int_dtype)
    for name in ("INT2", "UINT1", "UINT8", "INT64", "UINT64", "TERNARY", "FIXED<8,3>"):
        dt = DataType[name]
        np.testing.assert_array_equal(dt.allowed(arr), [dt.allowed(int(v)) for v in arr], err_msg=name)


def test_allowed_scalar_returns_bool():
    assert DataType["INT4"].allowed(3) is True
    assert DataType["INT4"].allowed(np.float32(8)) is False
    assert isinstance(DataType["INT4"].allowed(np.array(3)), bool)


# ------------------------------------------------------------------ names
@given(name=all_names)
@PROPS
def test_name_round_trip(name):
    dt = DataType[name]
    assert dt.name == name and str(dt) == name
    assert DataType[str(dt)] == dt and hash(DataType[str(dt)]) == hash(dt)
    assert repr(dt) == f"DataType[{name!r}]"
    assert DataType.from_name(dt) is dt


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("int8", "INT8"),
        (" UINT4 ", "UINT4"),
        ("Bipolar", "BIPOLAR"),
        ("FIXED< 8 , 3 >", "FIXED<8,3>"),
        ("FLOAT", "FLOAT32"),
        ("uint1", "BINARY"),
        ("SCALEDINT<8>", "SCALEDINT<8>"),
        ("float16", "FLOAT16"),
    ],
)
def test_name_spellings(spelling, canonical):
    assert DataType[spelling].name == canonical


def test_equality_and_hashing():
    assert DataType["INT8"] == DataType["int8"]
    assert DataType["INT8"] != DataType["UINT8"] != DataType["FIXED<8,8>"]
    assert len({DataType[n] for n in ("INT8", "int8", "UINT8", "BINARY", "UINT1")}) == 3


@pytest.mark.parametrize(
    "bad",
    [
        "INT0",
        "UINT0",
        "INT65",
        "UINT128",
        "FOO",
        "",
        "INT",
        "UINT",
        "INT-3",
        "INT8X",
        "INT 8",
        "BIPOLAR2",
        "FIXED<8>",
        "FIXED<0,0>",
        "FIXED<65,3>",
        "FIXED<4,5>",
        "FIXED<8,3",
        "SCALEDINT<0>",
        "FLOAT64",
    ],
)
def test_bad_names_raise_clear_error(bad):
    with pytest.raises(DataTypeError) as err:
        DataType[bad]
    msg = str(err.value)
    assert isinstance(err.value, QnnccError) and isinstance(err.value, ValueError)
    assert repr(bad) in msg and "\n" not in msg
    assert "unknown datatype" in msg or "must be" in msg or "need" in msg


# ------------------------------------------------------------------ helpers
@given(lo=st.integers(-(2**62), 2**62), span=st.integers(0, 2**62))
@PROPS
def test_smallest_for_range(lo, span):
    hi = lo + span
    dt = DataType.smallest_for_range(lo, hi)
    assert dt.is_integer() and dt.min() <= lo and hi <= dt.max()
    assert dt.signed() is (lo < 0)
    if lo >= 0 and dt.bitwidth() > 1:
        assert hi > DataType[f"UINT{dt.bitwidth() - 1}"].max()  # one bit fewer would not do
    if lo < 0 and dt.bitwidth() > 2:
        smaller = DataType[f"INT{dt.bitwidth() - 1}"]
        assert lo < smaller.min() or hi > smaller.max()


def test_smallest_for_range_examples_and_errors():
    examples = {
        (0, 1): "BINARY",
        (0, 255): "UINT8",
        (0, 256): "UINT9",
        (-128, 127): "INT8",
        (-129, 0): "INT9",
        (-2, -2): "INT2",
        (-4, -4): "INT3",
        (-5, -4): "INT4",
        (-1, 1): "INT2",
    }
    for (lo, hi), name in examples.items():
        assert DataType.smallest_for_range(lo, hi).name == name, (lo, hi)
    assert DataType.smallest_for_range(-0.5, 2.5) == DataType["INT3"]  # non-integer ends widen outwards
    for lo, hi in ((0, math.inf), (-math.inf, 0), (math.nan, 1), (-(2**64), 0)):
        with pytest.raises(DataTypeError):
            DataType.smallest_for_range(lo, hi)


@pytest.mark.parametrize(
    ("name", "np_dtype"),
    [
        ("BINARY", np.uint8),
        ("BIPOLAR", np.int8),
        ("TERNARY", np.int8),
        ("INT8", np.int8),
        ("UINT8", np.uint8),
        ("INT9", np.int16),
        ("UINT17", np.uint32),
        ("INT64", np.int64),
        ("UINT64", np.uint64),
        ("FIXED<8,3>", np.float32),
        ("FLOAT32", np.float32),
    ],
)
def test_to_numpy_dtype(name, np_dtype):
    assert DataType[name].to_numpy_dtype() == np.dtype(np_dtype)


# ------------------------------------------------------------------ qonnx
def _qonnx_datatype():
    return pytest.importorskip("qonnx.core.datatype").DataType


def _sample_values(dt) -> list[float]:
    lo, hi, lsb = float(dt.min()), float(dt.max()), dt.scale_factor()
    base = [0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 0.25, lsb, -lsb, lsb / 2, 3 * lsb, lo, hi, lo - lsb, hi + lsb]
    return [v for v in base if abs(v) < 2**52]  # keep qonnx's int/float comparisons exact


@given(name=all_names, extra=st.lists(st.integers(-(2**20), 2**20).map(lambda k: k / 8), max_size=8))
@settings(max_examples=300, deadline=None)
def test_matches_qonnx(name, extra):
    qdt = _qonnx_datatype()[name]
    dt = DataType[name]
    assert str(dt) == qdt.get_canonical_name() == qdt.name
    assert dt.min() == qdt.min() and dt.max() == qdt.max()
    assert dt.signed() == qdt.signed()
    assert dt.bitwidth() == qdt.bitwidth()
    assert dt.is_integer() == qdt.is_integer()
    assert dt.is_fixed_point() == qdt.is_fixed_point()
    if dt.is_integer():
        assert dt.to_numpy_dtype() == qdt.to_numpy_dt()
    for v in _sample_values(dt) + extra:
        assert dt.allowed(v) == bool(qdt.allowed(v)), v
    if dt.bitwidth() <= 24:  # qonnx compares float32 arrays with its bounds in float32: exact up to 24 bits
        arr = np.asarray(_sample_values(dt) + extra, dtype=np.float32)
        np.testing.assert_array_equal(dt.allowed(arr), qdt.allowed(arr))


@pytest.mark.parametrize("name", ["SCALEDINT<8>", "SCALEDINT<32>"])
def test_scaledint_matches_qonnx(name):
    qdt = _qonnx_datatype()[name]
    dt = DataType[name]
    assert (str(dt), dt.bitwidth(), dt.signed(), dt.is_integer()) == (
        qdt.get_canonical_name(),
        qdt.bitwidth(),
        qdt.signed(),
        qdt.is_integer(),
    )
