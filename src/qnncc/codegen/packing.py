"""FINN-compatible packing of folded tensors into AXI-Stream words.

A folded tensor ``[..., words, elems]`` holds one stream word per row of its
last axis. Packing turns each row into the bytes the DMA moves, exactly as
FINN/QONNX's ``finnpy_to_packed_bytearray(x, dt, reverse_inner=True,
reverse_endian=True)`` does (and :func:`unpack_words` inverts it like
``packed_bytearray_to_finnpy(..., reverse_inner=True, reverse_endian=True)``):

* element ``i`` of a word occupies bits ``[i*b, (i+1)*b)`` of the word, element
  0 in the least significant bits (``b`` = the datatype's bit width);
* each element is stored as its ``b``-bit two's complement code: BIPOLAR maps
  ``+1 -> 1`` and ``-1 -> 0``; BINARY, UINTn, INTn and TERNARY store the
  integer; ``FIXED<w,i>`` stores ``value * 2**(w-i)``; FLOAT32/FLOAT16 store the
  IEEE-754 bit pattern;
* a word is ``roundup8(elems*b) / 8`` bytes, little-endian (unused high bits 0).

The functions between the ``STANDALONE`` markers below depend on numpy and
``re`` only: :func:`qnncc.codegen.driver.write_driver` copies them verbatim
into the generated PYNQ driver, which must run without qnncc installed. They
raise ``ValueError``; the public functions of this module turn that into
:class:`~qnncc.codegen.render.CodegenError`.

Example:
    >>> pack_words(np.array([[1, 2, 3]]), DataType["UINT4"]).tolist()
    [[33, 3]]
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType

__all__ = [
    "pack_words",
    "packed_shape",
    "to_hex_words",
    "unpack_words",
    "word_bytes",
    "word_ints",
]

#: First and last line of the numpy-only section copied into generated drivers.
STANDALONE_BEGIN = "# ---- BEGIN STANDALONE PACKING (numpy + re only; copied into generated drivers) ----"
STANDALONE_END = "# ---- END STANDALONE PACKING ----"

# ---- BEGIN STANDALONE PACKING (numpy + re only; copied into generated drivers) ----
_INT_NAME = re.compile(r"^(U?)INT(\d+)$")
_FIXED_NAME = re.compile(r"^FIXED<(\d+),(\d+)>$")
_SUPPORTED = "BINARY, BIPOLAR, TERNARY, INTn, UINTn (n <= 64), FIXED<w,i>, FLOAT32 or FLOAT16"


def _dt_spec(name: str) -> tuple[str, int, int, int, int]:
    """Packing parameters of a FINN datatype name.

    Returns:
        ``(kind, bits, lo, hi, frac)``: kind is ``"int"``, ``"bipolar"``,
        ``"fixed"`` or ``"float"``; ``lo..hi`` bounds ``value * 2**frac`` (the
        stored integer; unused for floats), ``frac`` is the number of
        fractional bits (0 except for ``FIXED<w,i>``).

    Raises:
        ValueError: if the datatype cannot be packed (e.g. SCALEDINT).
    """
    key = str(name).strip().upper().replace(" ", "")
    if key == "BINARY":
        return "int", 1, 0, 1, 0
    if key == "BIPOLAR":
        return "bipolar", 1, -1, 1, 0
    if key == "TERNARY":
        return "int", 2, -1, 1, 0
    if key in ("FLOAT32", "FLOAT"):
        return "float", 32, 0, 0, 0
    if key == "FLOAT16":
        return "float", 16, 0, 0, 0
    match = _INT_NAME.match(key)
    if match and 1 <= int(match.group(2)) <= 64:
        bits = int(match.group(2))
        if match.group(1):
            return "int", bits, 0, (1 << bits) - 1, 0
        return "int", bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1, 0
    match = _FIXED_NAME.match(key)
    if match and 0 < int(match.group(2)) <= int(match.group(1)) <= 64:
        bits, int_bits = int(match.group(1)), int(match.group(2))
        return "fixed", bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1, bits - int_bits
    raise ValueError(f"datatype {name!r} cannot be packed into stream words; supported: {_SUPPORTED}")


def _container(bits: int) -> np.dtype:
    """Smallest little-endian unsigned numpy dtype holding ``bits`` bits."""
    for nbytes in (1, 2, 4, 8):
        if bits <= 8 * nbytes:
            return np.dtype(f"<u{nbytes}")
    raise ValueError(f"{bits} bits per element exceed 64")


def _word_nbytes(elems: int, bits: int) -> int:
    """Bytes of one packed word of ``elems`` elements of ``bits`` bits: ``roundup8(elems*bits) / 8``."""
    return max(1, (elems * bits + 7) // 8)


def _check_values(values: Any, name: str) -> None:
    """Check that every value is representable in datatype ``name``.

    Raises:
        ValueError: naming the first offending value, its index and the datatype.
    """
    kind, _bits, lo, hi, frac = _dt_spec(name)
    x = np.asarray(values)
    if x.dtype.kind == "b":
        x = x.astype(np.uint8)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"cannot pack an array of dtype {x.dtype} as {name}; pass numbers")
    if kind == "float":
        return
    if kind == "bipolar":
        bad = (x != 1) & (x != -1)
        allowed = "-1 or +1"
    elif x.dtype.kind in "iu":
        vlo, vhi = -((-lo) >> frac), hi >> frac  # integer values of the range
        info = np.iinfo(x.dtype)
        bad = np.zeros(x.shape, dtype=bool)
        if vlo > info.min:
            bad |= x < vlo
        if vhi < info.max:
            bad |= x > vhi
        allowed = _range_text(kind, lo, hi, frac)
    else:
        # scaling by 2**frac and the bounds lo and hi + 1 (0, -2**k or 2**k) are exact in binary floats
        steps = x * float(2**frac) if frac else x
        ok = (steps >= float(lo)) & (steps < float(hi + 1)) & (np.floor(steps) == steps)
        bad = ~ok
        allowed = _range_text(kind, lo, hi, frac)
    if bad.any():
        flat = int(np.argmax(bad.reshape(-1)))
        index = tuple(int(i) for i in np.unravel_index(flat, x.shape))
        value = x.reshape(-1)[flat].item()
        raise ValueError(f"value {value!r} at index {index} is not representable in {name} ({allowed})")


def _range_text(kind: str, lo: int, hi: int, frac: int) -> str:
    if kind == "fixed":
        return f"multiples of 2**-{frac} in [{lo / 2.0**frac}, {hi / 2.0**frac}]"
    return f"integers {lo}..{hi}"


def _encode(values: Any, name: str) -> np.ndarray:
    """Bit codes (unsigned, low ``bits`` bits used) of values already checked by :func:`_check_values`."""
    kind, bits, lo, _hi, frac = _dt_spec(name)
    x = np.asarray(values)
    container = _container(bits)
    if kind == "float":
        return np.asarray(x, dtype=f"<f{bits // 8}").view(container)
    if kind == "bipolar":
        return (x > 0).astype(container)
    if frac:
        x = x * 2.0**frac if x.dtype.kind == "f" else x.astype(np.int64) * (1 << frac)
    if lo >= 0:  # every value fits the unsigned container: cast directly
        return x.astype(container)
    signed = np.dtype(f"<i{container.itemsize}")
    codes = x.astype(signed).view(container)
    if bits < 8 * container.itemsize:
        codes = codes & container.type((1 << bits) - 1)
    return codes


def _decode(codes: np.ndarray, name: str) -> np.ndarray:
    """Values of bit codes: int64 (uint64 for UINT64), float64 for FIXED, float32 for FLOAT."""
    kind, bits, lo, _hi, frac = _dt_spec(name)
    if kind == "float":
        return codes.astype(_container(bits)).view(f"<f{bits // 8}").astype(np.float32)
    if kind == "bipolar":
        return codes.astype(np.int64) * 2 - 1
    if lo < 0:
        shift = 64 - bits
        wide = codes.astype(np.uint64) << np.uint64(shift)
        values = wide.view(np.int64) >> np.int64(shift)
    else:
        values = codes.astype(np.uint64 if bits == 64 else np.int64)
    if kind == "fixed":
        return values * 2.0**-frac
    return values


def _pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack codes ``[..., elems]`` (uint container) into bytes ``[..., roundup8(elems*bits)/8]``."""
    lead, elems = codes.shape[:-1], codes.shape[-1]
    container = _container(bits)
    codes = np.ascontiguousarray(codes, dtype=container)
    if bits == 8 * container.itemsize:  # whole-byte elements: the little-endian bytes are the packing
        return codes.view(np.uint8).reshape((*lead, elems * container.itemsize))
    if bits == 1:
        return np.packbits(codes, axis=-1, bitorder="little")
    per_byte = 8 // bits if 8 % bits == 0 else 0
    if per_byte and elems % per_byte == 0:  # 2 or 4 bits: shift-and-or whole bytes
        groups = codes.reshape((*lead, elems // per_byte, per_byte))
        out = groups[..., 0].copy()
        for k in range(1, per_byte):
            out |= groups[..., k] << np.uint8(k * bits)
        return out
    raw = codes.view(np.uint8).reshape((*lead, elems, container.itemsize))
    bitmap = np.unpackbits(raw, axis=-1, count=bits, bitorder="little")  # [..., elems, bits], LSB first
    return np.packbits(bitmap.reshape((*lead, elems * bits)), axis=-1, bitorder="little")


def _unpack_codes(packed: Any, bits: int, elems: int) -> np.ndarray:
    """Inverse of :func:`_pack_codes`: bytes ``[..., nbytes]`` to codes ``[..., elems]``.

    Raises:
        ValueError: if the array is not uint8 or its last axis is not ``roundup8(elems*bits)/8``.
    """
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.ndim == 0:
        raise ValueError(f"packed words must be a uint8 array [..., nbytes], got {packed.dtype} {packed.shape}")
    nbytes = _word_nbytes(elems, bits)
    if packed.shape[-1] != nbytes:
        raise ValueError(
            f"packed words have {packed.shape[-1]} bytes, expected {nbytes} for {elems} elements of {bits} bits"
        )
    packed = np.ascontiguousarray(packed)
    lead = packed.shape[:-1]
    container = _container(bits)
    if bits == 8 * container.itemsize:
        return packed.view(container).reshape((*lead, elems))
    if bits == 1:
        return np.unpackbits(packed, axis=-1, count=elems, bitorder="little")
    per_byte = 8 // bits if 8 % bits == 0 else 0
    if per_byte and elems % per_byte == 0:
        mask = np.uint8((1 << bits) - 1)
        shifts = (np.arange(per_byte, dtype=np.uint8) * np.uint8(bits)).astype(np.uint8)
        return ((packed[..., None] >> shifts) & mask).reshape((*lead, elems))
    bitmap = np.unpackbits(packed, axis=-1, count=elems * bits, bitorder="little").reshape((*lead, elems, bits))
    if (bits + 7) // 8 != container.itemsize:  # e.g. 20 bits in a 4-byte container: pad to whole container
        full = np.zeros((*lead, elems, 8 * container.itemsize), dtype=np.uint8)
        full[..., :bits] = bitmap
        bitmap = full
    return np.packbits(bitmap, axis=-1, bitorder="little").view(container).reshape((*lead, elems))


def _pack_array(values: Any, name: str) -> np.ndarray:
    """Check, encode and pack ``values [..., elems]`` of datatype ``name`` into uint8 ``[..., nbytes]``.

    Raises:
        ValueError: for a scalar, an empty last axis, a value outside the datatype or an unpackable datatype.
    """
    x = np.asarray(values)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"cannot pack an array of shape {x.shape}: need [..., elems] with elems >= 1")
    _check_values(x, name)
    return _pack_codes(_encode(x, name), _dt_spec(name)[1])


def _unpack_array(packed: Any, name: str, elems: int) -> np.ndarray:
    """Unpack uint8 ``[..., nbytes]`` into values ``[..., elems]`` of datatype ``name`` (see :func:`_decode`).

    Raises:
        ValueError: for a wrong byte count or dtype, or an unpackable datatype.
    """
    return _decode(_unpack_codes(packed, _dt_spec(name)[1], int(elems)), name)


# ---- END STANDALONE PACKING ----


def _name(dt: DataType | str) -> str:
    return DataType.from_name(dt).name if isinstance(dt, str) else dt.name


def word_bytes(elems: int, dt: DataType | str) -> int:
    """Bytes of one packed stream word: ``roundup8(elems * bits) / 8``.

    Args:
        elems: elements per word (e.g. SIMD or PE).
        dt: datatype of the elements.

    Raises:
        CodegenError: if the datatype cannot be packed.
    """
    try:
        return _word_nbytes(int(elems), _dt_spec(_name(dt))[1])
    except ValueError as err:
        raise CodegenError(str(err)) from err


def packed_shape(folded_shape: tuple[int, ...] | list[int], dt: DataType | str) -> tuple[int, ...]:
    """Shape of the packed bytes of a folded shape: ``[..., words, elems] -> [..., words, nbytes]``.

    Raises:
        CodegenError: if the datatype cannot be packed or the shape is empty.
    """
    shape = tuple(int(d) for d in folded_shape)
    if not shape:
        raise CodegenError("packed_shape: a folded shape needs at least one axis [..., elems]")
    return (*shape[:-1], word_bytes(shape[-1], dt))


def pack_words(folded: Any, dt: DataType | str) -> np.ndarray:
    """Pack a folded tensor into stream words, bit-exact with FINN's driver packing.

    Args:
        folded: values ``[..., words, elems]`` (any leading axes; ints, bools or
            floats) already quantized to ``dt``: one stream word per row of the
            last axis.
        dt: element datatype of ``b`` bits (BINARY, BIPOLAR, TERNARY, INTn,
            UINTn up to 64 bits, ``FIXED<w,i>``, FLOAT32, FLOAT16).

    Returns:
        uint8 ``[..., words, nbytes]`` with ``nbytes = roundup8(elems*b) / 8``:
        element ``i`` at bits ``[i*b, (i+1)*b)`` of each little-endian word.

    Raises:
        CodegenError: naming the first value outside ``dt`` (non-integer,
            out of range, not +-1 for BIPOLAR), or if ``dt`` cannot be packed
            (SCALEDINT) or the array is a scalar.
    """
    name = _name(dt)
    try:
        return _pack_array(folded, name)
    except ValueError as err:
        raise CodegenError(f"pack_words: {err}") from err


def unpack_words(packed: Any, dt: DataType | str, elems: int) -> np.ndarray:
    """Unpack stream words, the inverse of :func:`pack_words`.

    Args:
        packed: uint8 ``[..., words, nbytes]`` with ``nbytes = roundup8(elems*b) / 8``.
        dt: element datatype.
        elems: elements per word.

    Returns:
        ``[..., words, elems]`` values: int64 for integer datatypes (BINARY,
        BIPOLAR as -1/+1, TERNARY, INTn, UINTn; uint64 for UINT64), float64
        for ``FIXED<w,i>``, float32 for FLOAT32/FLOAT16. Padding bits are ignored.

    Raises:
        CodegenError: if ``packed`` is not uint8, its last axis has the wrong
            byte count, or ``dt`` cannot be packed.
    """
    name = _name(dt)
    try:
        return _unpack_array(packed, name, int(elems))
    except ValueError as err:
        raise CodegenError(f"unpack_words: {err}") from err


def word_ints(folded: Any, dt: DataType | str) -> list[int]:
    """Stream words as Python integers (e.g. for HLS ``ap_uint`` literals).

    Args:
        folded: values ``[..., words, elems]`` of datatype ``dt``.
        dt: element datatype of ``b`` bits.

    Returns:
        One unsigned integer of ``elems*b`` bits per word, in C order over the
        leading axes; element ``i`` sits at bits ``[i*b, (i+1)*b)``.

    Raises:
        CodegenError: as :func:`pack_words`.
    """
    packed = pack_words(folded, dt)
    nbytes = packed.shape[-1]
    raw = packed.tobytes()
    return [int.from_bytes(raw[k : k + nbytes], "little") for k in range(0, len(raw), nbytes)]


def to_hex_words(folded: Any, dt: DataType | str, width: int | None = None, prefix: str = "0x") -> list[str]:
    """Stream words as zero-padded hexadecimal strings, e.g. ``"0x0a3"``.

    Args:
        folded: values ``[..., words, elems]`` of datatype ``dt``.
        dt: element datatype of ``b`` bits.
        width: word width in bits (default ``elems*b``); sets the number of
            hex digits, ``ceil(width / 4)``.
        prefix: text before the digits.

    Returns:
        One string per word, in C order over the leading axes.

    Raises:
        CodegenError: as :func:`pack_words`, or if ``width`` is below ``elems*b``.
    """
    values = np.asarray(folded)
    name = _name(dt)
    if values.ndim == 0:
        raise CodegenError("to_hex_words: need an array [..., elems], got a scalar")
    bits = values.shape[-1] * DataType.from_name(name).bitwidth()
    width = bits if width is None else int(width)
    if width < bits:
        raise CodegenError(f"to_hex_words: width {width} bits is below the {bits} bits of a {name} word")
    digits = -(-width // 4)
    return [f"{prefix}{word:0{digits}x}" for word in word_ints(values, name)]
