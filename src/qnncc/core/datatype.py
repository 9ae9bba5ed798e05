"""FINN/QONNX-compatible quantized datatypes.

A :class:`DataType` describes the set of values a tensor may hold. Names
round-trip with the strings FINN and QONNX write into
``graph.quantization_annotation`` (key ``finn_datatype``): ``BINARY``,
``BIPOLAR``, ``TERNARY``, ``INT<n>``, ``UINT<n>``, ``FIXED<w,i>``,
``SCALEDINT<n>``, ``FLOAT32`` and ``FLOAT16``.

Example:
    >>> DataType["INT4"].min(), DataType["INT4"].max()
    (-8, 7)
    >>> str(DataType["FIXED<8,3>"])
    'FIXED<8,3>'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from qnncc.core.errors import DataTypeError

MAX_INT_BITS = 64


class Kind(StrEnum):
    """Family of a :class:`DataType`."""

    INT = "int"
    BIPOLAR = "bipolar"
    TERNARY = "ternary"
    FIXED = "fixed"
    SCALEDINT = "scaledint"
    FLOAT = "float"


class _DataTypeMeta(type):
    """Lets users write ``DataType["INT8"]`` as in FINN and QONNX."""

    def __getitem__(cls, name: str) -> DataType:
        return DataType.from_name(name)


@dataclass(frozen=True)
class DataType(metaclass=_DataTypeMeta):
    """A quantized (or float) element type, immutable and hashable.

    Build one with ``DataType["UINT8"]`` or :meth:`DataType.from_name`; two
    datatypes with the same name compare equal.

    Attributes:
        kind: Family of the type.
        bits: Width of one element in bits.
        is_signed: Whether negative values are representable.
        int_bits: Integer bits of a ``FIXED<w,i>`` type (sign bit included),
            zero otherwise.
    """

    kind: Kind
    bits: int
    is_signed: bool
    int_bits: int = 0

    # ----------------------------------------------------------- names
    @staticmethod
    def from_name(name: str) -> DataType:
        """Parse a FINN/QONNX datatype name.

        Args:
            name: e.g. ``"INT8"``, ``"BIPOLAR"``, ``"FIXED<16,6>"``.

        Returns:
            The datatype.

        Raises:
            DataTypeError: if the name is not a known datatype.
        """
        if isinstance(name, DataType):
            return name
        return _parse(str(name).strip())

    @property
    def name(self) -> str:
        """Canonical FINN/QONNX name, e.g. ``"UINT4"``."""
        if self.kind is Kind.INT:
            if self.bits == 1 and not self.is_signed:
                return "BINARY"
            return f"{'INT' if self.is_signed else 'UINT'}{self.bits}"
        if self.kind is Kind.BIPOLAR:
            return "BIPOLAR"
        if self.kind is Kind.TERNARY:
            return "TERNARY"
        if self.kind is Kind.FIXED:
            return f"FIXED<{self.bits},{self.int_bits}>"
        if self.kind is Kind.SCALEDINT:
            return f"SCALEDINT<{self.bits}>"
        return "FLOAT16" if self.bits == 16 else "FLOAT32"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"DataType[{self.name!r}]"

    # ----------------------------------------------------------- queries
    def bitwidth(self) -> int:
        """Width of one element in bits."""
        return self.bits

    def signed(self) -> bool:
        """Whether the type can represent negative values."""
        return self.is_signed

    def is_integer(self) -> bool:
        """Whether every value is an integer (INT/UINT/BINARY/BIPOLAR/TERNARY)."""
        return self.kind in (Kind.INT, Kind.BIPOLAR, Kind.TERNARY)

    def is_fixed_point(self) -> bool:
        """Whether this is a ``FIXED<w,i>`` type."""
        return self.kind is Kind.FIXED

    def is_float(self) -> bool:
        """Whether this is a floating-point type."""
        return self.kind is Kind.FLOAT

    def frac_bits(self) -> int:
        """Fractional bits of a fixed-point type (``w - i``), 0 for integers."""
        return self.bits - self.int_bits if self.kind is Kind.FIXED else 0

    def scale_factor(self) -> float:
        """Value of one least-significant bit: ``2**-(w-i)`` for FIXED, else 1."""
        return 2.0 ** -self.frac_bits()

    def min(self) -> float:
        """Smallest representable value (int for integer types)."""
        if self.kind is Kind.BIPOLAR or self.kind is Kind.TERNARY:
            return -1
        if self.kind is Kind.FLOAT:
            return -float(np.finfo(np.float16 if self.bits == 16 else np.float32).max)
        lo = -(2 ** (self.bits - 1)) if self.is_signed else 0
        return lo * self.scale_factor() if self.kind is Kind.FIXED else lo

    def max(self) -> float:
        """Largest representable value (int for integer types)."""
        if self.kind is Kind.BIPOLAR or self.kind is Kind.TERNARY:
            return 1
        if self.kind is Kind.FLOAT:
            return float(np.finfo(np.float16 if self.bits == 16 else np.float32).max)
        hi = 2 ** (self.bits - 1) - 1 if self.is_signed else 2**self.bits - 1
        return hi * self.scale_factor() if self.kind is Kind.FIXED else hi

    def allowed(self, value: Any) -> Any:
        """Whether ``value`` is representable in this type.

        Args:
            value: a scalar or an array of any shape.

        Returns:
            ``bool`` for a scalar, a boolean array of the same shape otherwise.
        """
        raw = np.asarray(value)
        if raw.dtype == object:  # e.g. Python ints beyond 64 bits: check each exactly
            out: npt.NDArray[np.bool_] = np.asarray(np.frompyfunc(self._allowed_exact, 1, 1)(raw), dtype=bool)
            return bool(out) if out.ndim == 0 else out
        x = raw.astype(np.float64)
        if self.kind is Kind.FLOAT:
            out = np.ones(x.shape, dtype=bool)
        elif self.kind is Kind.BIPOLAR:
            out = (x == -1) | (x == 1)
        elif self.kind is Kind.SCALEDINT:
            out = np.isfinite(x)
        elif raw.dtype.kind in "iu":
            # integers compared exactly (float64 would round values beyond 2**53)
            lo, hi = self._integer_value_range()
            info = np.iinfo(raw.dtype)
            out = np.asarray((raw >= lo) if lo > info.min else np.ones(raw.shape, dtype=bool))
            if hi < info.max:
                out = out & (raw <= hi)
        else:
            # the bounds, as multiples of the LSB, are powers of two or 0/-1: exact in float64
            lo_steps, hi_steps = self._step_range()
            steps = x / self.scale_factor()
            out = (steps == np.round(steps)) & (steps >= float(lo_steps)) & (steps < float(hi_steps + 1))
        return bool(out) if out.ndim == 0 else out

    def _step_range(self) -> tuple[int, int]:
        """Integer range of ``value / scale_factor()`` (INT, TERNARY and FIXED kinds)."""
        if self.kind is Kind.TERNARY:
            return -1, 1
        if self.is_signed:
            return -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        return 0, 2**self.bits - 1

    def _integer_value_range(self) -> tuple[int, int]:
        """Smallest and largest integer value the type holds (INT, TERNARY and FIXED kinds)."""
        lo, hi = self._step_range()
        frac = self.frac_bits()
        return -((-lo) >> frac), hi >> frac

    def _allowed_exact(self, value: Any) -> bool:
        """Exact scalar check with rational arithmetic (for object arrays)."""
        try:
            q = Fraction(value)
        except (TypeError, ValueError, OverflowError):  # nan, inf, non-numbers
            return bool(self.kind is Kind.FLOAT)
        if self.kind is Kind.FLOAT or self.kind is Kind.SCALEDINT:
            return True
        if self.kind is Kind.BIPOLAR:
            return q in (-1, 1)
        steps = q * 2 ** self.frac_bits()
        lo, hi = self._step_range()
        return steps.denominator == 1 and lo <= steps <= hi

    def signed_range_bits(self) -> int:
        """Bits needed to hold this type's range as a two's complement integer."""
        return self.bits + (0 if self.is_signed else 1)

    # ----------------------------------------------------------- helpers
    def to_numpy_dtype(self) -> np.dtype[Any]:
        """Smallest numpy dtype that holds every integer value, float32 otherwise."""
        if not self.is_integer():
            return np.dtype(np.float32)
        for cand in (
            (np.int8, np.int16, np.int32, np.int64) if self.signed() else (np.uint8, np.uint16, np.uint32, np.uint64)
        ):
            info = np.iinfo(cand)
            if info.min <= self.min() and info.max >= self.max():
                return np.dtype(cand)
        return np.dtype(np.float64)

    @staticmethod
    def smallest_for_range(lo: float, hi: float) -> DataType:
        """Smallest integer datatype holding every integer in ``[lo, hi]``.

        Gives BINARY or UINTn for ``lo >= 0`` and INTn otherwise, as FINN's
        ``DataType.get_smallest_possible`` does for integer ranges.

        Raises:
            DataTypeError: if the range needs more than 64 bits or is not finite.
        """
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise DataTypeError(f"range [{lo}, {hi}] is not finite")
        lo_i, hi_i = math.floor(lo), math.ceil(hi)
        if lo_i >= 0:
            bits = max(1, int(hi_i).bit_length())
            return DataType.from_name("BINARY" if bits == 1 else f"UINT{bits}")
        bits = 1 + max(int(-lo_i - 1).bit_length(), int(max(hi_i, 0)).bit_length())
        bits = max(bits, 2)
        if bits > MAX_INT_BITS:
            raise DataTypeError(f"range [{lo}, {hi}] needs more than {MAX_INT_BITS} bits")
        return DataType.from_name(f"INT{bits}")


_FIXED_RE = re.compile(r"^FIXED<\s*(\d+)\s*,\s*(-?\d+)\s*>$")
_SCALED_RE = re.compile(r"^SCALEDINT<\s*(\d+)\s*>$")
_INT_RE = re.compile(r"^(U?)INT(\d+)$")


@cache
def _parse(name: str) -> DataType:
    upper = name.upper()
    if upper == "BINARY":
        return DataType(Kind.INT, 1, False)
    if upper == "BIPOLAR":
        return DataType(Kind.BIPOLAR, 1, True)
    if upper == "TERNARY":
        return DataType(Kind.TERNARY, 2, True)
    if upper in ("FLOAT32", "FLOAT"):
        return DataType(Kind.FLOAT, 32, True)
    if upper == "FLOAT16":
        return DataType(Kind.FLOAT, 16, True)
    m = _INT_RE.match(upper)
    if m:
        bits = int(m.group(2))
        if not 1 <= bits <= MAX_INT_BITS:
            raise DataTypeError(f"datatype {name!r}: integer width must be 1..{MAX_INT_BITS} bits")
        return DataType(Kind.INT, bits, m.group(1) != "U")
    m = _FIXED_RE.match(upper)
    if m:
        w, i = int(m.group(1)), int(m.group(2))
        if not (1 <= w <= MAX_INT_BITS and 0 < i <= w):
            raise DataTypeError(f"datatype {name!r}: need 0 < i <= w <= {MAX_INT_BITS} in FIXED<w,i>")
        return DataType(Kind.FIXED, w, True, i)
    m = _SCALED_RE.match(upper)
    if m:
        bits = int(m.group(1))
        if not 1 <= bits <= MAX_INT_BITS:
            raise DataTypeError(f"datatype {name!r}: width must be 1..{MAX_INT_BITS} bits")
        return DataType(Kind.SCALEDINT, bits, True)
    raise DataTypeError(
        f"unknown datatype {name!r}; expected BINARY, BIPOLAR, TERNARY, INTn, UINTn, "
        "FIXED<w,i>, SCALEDINT<n>, FLOAT32 or FLOAT16"
    )
