"""Parameter tables of the C simulation, read from binary files at run time instead of compiled in.

Vitis HLS needs weights and thresholds as ROM arrays with initialisers
(``params_<layer>.h``), but g++ spends its time on those initialisers (every
wide word is a constructor call): the C simulation of CNV-W2A2 compiled for
minutes, and any weight change recompiled the layer. The C simulation
therefore compiles a twin of each parameter header that declares the same
table without values and fills it before ``main`` from
``$QNNCC_PARAM_DIR/<what>_<layer>.bin`` (``qnncc/param_file.hpp``). The twin
depends only on the table's type and shape, so the compile time does not
grow with the weight count and a layer is not compiled again when only its
weights change (the object cache of :mod:`qnncc.codegen.hls.cppsim` is keyed
by the source).

File layout (read by ``qnncc::load_param_file``): the table's elements in C
order, each as ``ceil(W / 64)`` little-endian 64-bit chunks of its ``W``-bit
two's complement pattern, chunk 0 holding bits 0..63.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qnncc.codegen.hls.layer_code import RuntimeParams
from qnncc.codegen.packing import pack_words
from qnncc.codegen.render import CodegenError, render
from qnncc.core.datatype import DataType

__all__ = ["TableData", "int_table", "read_param_files", "runtime_params", "store_param_files", "word_table"]


@dataclass(frozen=True)
class TableData:
    """The values of one parameter table in the file layout of the module docstring.

    Attributes:
        bits: element width ``W`` (bits of the ``ap_uint<W>``/``ap_int<W>`` element).
        count: elements in the table.
        data: ``count * ceil(W / 64) * 8`` bytes.
    """

    bits: int
    count: int
    data: bytes


def word_table(words: np.ndarray, dt: DataType, where: str) -> TableData:
    """Packed words ``[count, elems]`` of ``dt`` values (element 0 in the LSBs), ``W = elems * bits``.

    The packing is the stream packing of :func:`~qnncc.codegen.packing.pack_words`,
    the same as the ROM literals of :func:`~qnncc.codegen.hls.literals.word_literals`.

    Raises:
        CodegenError: if a value is not representable in ``dt``, naming ``where``.
    """
    words = np.asarray(words)
    try:
        packed = pack_words(words.reshape(-1, words.shape[-1]), dt)  # [count, nbytes], little-endian
    except CodegenError as err:
        raise CodegenError(f"{where}: {err}") from None
    bits = words.shape[-1] * dt.bitwidth()
    chunks = -(-bits // 64)
    out = np.zeros((packed.shape[0], chunks * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return TableData(bits, packed.shape[0], out.tobytes())


def int_table(values: np.ndarray, bits: int) -> TableData:
    """Integers (any shape, C order) as elements of ``bits <= 64`` bits.

    Raises:
        CodegenError: if ``bits`` exceeds 64 or a value is not an integer of that width.
    """
    flat = np.asarray(values).reshape(-1)
    if not 1 <= bits <= 64:
        raise CodegenError(f"parameter elements of {bits} bits: the file layout takes 1..64")
    ints = flat.astype(np.int64)
    if flat.size and not np.array_equal(ints, flat):
        raise CodegenError("parameter table holds non-integer values")
    return TableData(bits, int(flat.size), ints.astype("<i8").tobytes())


def runtime_params(
    *,
    what: str,
    layer: str,
    node_name: str,
    ctype: str,
    var: str,
    dims: str,
    first: str,
    table: TableData,
    headers: list[str],
    comment: str = "",
) -> RuntimeParams:
    """The C-simulation twin of the parameter header ``<what>_<layer>.h``.

    Args:
        what: header kind (``params``, ``thresh``).
        layer: the layer's C++ name.
        node_name: the ONNX node name (comment only).
        ctype: C++ type of the table (``ap_uint<W>``, ``qnncc::Thresholds<...>``).
        var: the table's variable name.
        dims: array dimensions, e.g. ``[4][16]`` (empty for a struct).
        first: C++ address of element 0, e.g. ``&weights_MVAU_0[0][0]`` (an
            ``ap_uint<W>*`` or ``ap_int<W>*`` with ``W == table.bits``).
        table: the values.
        headers: library headers the type needs.
        comment: a comment line for the header.

    Returns:
        The twin header (text without values) and its data file.
    """
    file = f"{what}_{layer}.bin"
    text = render(
        "params_sim.h.j2",
        {
            "what": what,
            "node_name": node_name,
            "comment": comment,
            "guard": f"QNNCC_{what.upper()}_{layer.upper()}_H",
            "headers": headers,
            "ctype": ctype,
            "var": var,
            "dims": dims,
            "first": first,
            "count": table.count,
            "file": file,
        },
    )
    return RuntimeParams(text, file, table.data)


def store_param_files(folder: Path, data: Mapping[str, bytes]) -> Path | None:
    """The folder ``folder/<hash>`` holding the data files ``data`` (written once; None if there are none).

    The name is the SHA-256 of the file names and contents, so simulations of
    different weights never share a folder and an existing folder is complete
    (it is renamed into place only when fully written).
    """
    if not data:
        return None
    digest = hashlib.sha256()
    for name in sorted(data):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data[name]).digest())
    target = folder / digest.hexdigest()[:32]
    if target.is_dir():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tmp", dir=folder))
    for name, content in data.items():
        (tmp / name).write_bytes(content)
    try:
        os.rename(tmp, target)
    except OSError:  # another process stored the same folder first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_param_files(folder: Path | None) -> dict[str, bytes]:
    """File name -> bytes of a folder written by :func:`store_param_files` (empty for None)."""
    if folder is None:
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
