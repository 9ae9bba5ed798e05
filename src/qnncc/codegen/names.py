"""Safe identifiers for names that reach C++, tcl and file names."""

from __future__ import annotations

import re

__all__ = ["roundup8", "safe_identifier"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
#: Words that may not name a C++ function or a Vivado cell.
_RESERVED = frozenset({"main", "int", "void", "return", "class", "struct", "namespace", "template", "const", "top"})


def safe_identifier(name: str, prefix: str = "n") -> str:
    """``name`` as a C/tcl identifier: ``[A-Za-z_][A-Za-z0-9_]*``, not a reserved word.

    Unsafe characters become ``_``; a leading digit, an empty result or a
    reserved word gets ``prefix + "_"`` in front. Distinct inputs may map to
    the same identifier; callers that need uniqueness check for clashes.

    Examples: ``"MVAU_0" -> "MVAU_0"``, ``"conv/1:0" -> "conv_1_0"``, ``"0a" -> "n_0a"``.
    """
    ident = _UNSAFE.sub("_", name)
    if not ident or ident[0].isdigit() or ident in _RESERVED:
        ident = f"{prefix}_{ident}"
    return ident


def roundup8(bits: int) -> int:
    """``bits`` rounded up to a whole number of bytes (AXI-Stream TDATA widths), at least 8."""
    return max(8, -(-bits // 8) * 8)
