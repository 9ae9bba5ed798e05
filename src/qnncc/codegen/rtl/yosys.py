"""Per-layer synthesis with Yosys ``synth_xilinx`` and resource counts in FINN's terms.

Each layer's wrapper, the library modules it instantiates (:func:`used_library`)
and its ROM files are written to a folder
under ``rtl_cache_dir()/yosys`` and synthesised there (Yosys sees only its
working directory, so every path is relative) with::

    read_verilog -sv -defer <library> <layer>.v   (modules elaborated with their parameters only)
    synth_xilinx -family xc7 -top <layer>
    tee -q -o stat.json stat -json

Cell counts become LUT (LUT1..LUT6, plus the LUTs of distributed RAM and
shift registers: RAM64M/RAM32M 4, RAM128X1D 4, RAM64X1D/RAM32X1D 2, *X1S 1,
SRL16E/SRLC32E 1), FF (FD*), CARRY (CARRY4), BRAM_18K (RAMB18E1 1,
RAMB36E1 2), URAM and DSP (DSP48E1). Results are cached by the SHA-256 of
everything Yosys reads plus the script, so an unchanged layer is never
synthesised twice; layers run in parallel as :mod:`qnncc.jobs` jobs (one
Yosys process each; a local process pool or a Dask cluster).

API for consumers (``qnncc synth``, the build's ``synth`` step, resource
models fitted on the measurements): :func:`synth_model` (a partition),
:func:`synth_layers` (given :class:`RtlLayer` s), :func:`synth_layer` (one),
:func:`synth_sources` (one module from its files; the job function),
:func:`total_resources` (sums) and :data:`RESOURCE_KEYS`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qnncc.core.model_wrapper import ModelWrapper

from .generate import library_files, partition_layers, render_rtl_layer
from .layer import RtlLayer
from .tools import RtlToolError, rtl_cache_dir, yosys_command, yosys_env

if TYPE_CHECKING:
    from qnncc.jobs import Executor

__all__ = [
    "RESOURCE_KEYS",
    "SynthResult",
    "count_resources",
    "layer_files",
    "synth_layer",
    "synth_layers",
    "synth_model",
    "synth_key",
    "synth_sources",
    "total_resources",
    "used_library",
]

#: The resource fields of :class:`SynthResult`, in report order.
RESOURCE_KEYS = ("lut", "lutram", "ff", "carry", "bram_18k", "uram", "dsp")

SCRIPT = "read_verilog -sv -defer {sources}; synth_xilinx -family xc7 -top {top}; tee -q -o stat.json stat -json"

#: LUTs per distributed-RAM / shift-register primitive (7-series).
LUTS_PER_CELL = {
    "RAM64M": 4,
    "RAM32M": 4,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM64X1D": 2,
    "RAM32X1D": 2,
    "RAM128X1S": 2,
    "RAM64X1S": 1,
    "RAM32X1S": 1,
    "SRL16E": 1,
    "SRLC32E": 1,
}


@dataclass(frozen=True)
class SynthResult:
    """Yosys resource counts of one layer (7-series primitives).

    Attributes:
        layer: module name.
        op_type: HW op type.
        lut: LUTs (logic, distributed RAM and shift registers).
        lutram: the LUTs of ``lut`` used as memory or shift registers.
        ff: flip-flops.
        carry: CARRY4 cells.
        bram_18k: block RAMs in 18 Kbit units.
        uram: UltraRAMs.
        dsp: DSP48 slices.
        cells: every cell type and its count.
    """

    layer: str
    op_type: str
    lut: int
    lutram: int
    ff: int
    carry: int
    bram_18k: int
    uram: int
    dsp: int
    cells: dict[str, int]


def count_resources(layer: str, op_type: str, cells: Mapping[str, int]) -> SynthResult:
    """Fold Yosys cell counts into LUT/FF/CARRY/BRAM_18K/URAM/DSP (see the module docstring)."""
    lutram = sum(LUTS_PER_CELL.get(c, 0) * n for c, n in cells.items())
    logic = sum(n for c, n in cells.items() if c.startswith("LUT") and c[3:].isdigit())
    ff = sum(n for c, n in cells.items() if c.startswith("FD"))
    bram = cells.get("RAMB18E1", 0) + 2 * cells.get("RAMB36E1", 0)
    dsp = sum(n for c, n in cells.items() if c.startswith("DSP48"))
    return SynthResult(
        layer, op_type, logic + lutram, lutram, ff, cells.get("CARRY4", 0), bram, cells.get("URAM288", 0), dsp,
        dict(cells),
    )  # fmt: skip


_MODULE_REF = re.compile(r"\b(qnncc_\w+)\b")


def used_library(texts: Mapping[str, str], library: Mapping[str, str]) -> dict[str, str]:
    """The library files (``<module>.v``) the Verilog in ``texts`` instantiates, transitively.

    A module name ``qnncc_*`` in a text pulls in the library file of that
    name, so a layer's synthesis (and its cache key) depends only on the
    cores it uses, not on edits to the others.
    """
    used: dict[str, str] = {}
    todo = [t for n, t in texts.items() if n.endswith(".v")]
    while todo:
        for name in _MODULE_REF.findall(todo.pop()):
            file = f"{name}.v"
            if file in library and file not in used:
                used[file] = library[file]
                todo.append(library[file])
    return used


def layer_files(rtl: RtlLayer) -> dict[str, str]:
    """What Yosys reads for one layer: file name -> text (wrapper, ROM files, used library modules)."""
    texts = render_rtl_layer(rtl)
    return {**used_library(texts, library_files()), **texts}


def synth_layer(rtl: RtlLayer, cache: Path | None = None) -> SynthResult:
    """Synthesise one layer with Yosys (cached by the hash of its sources and the script).

    Raises:
        RtlToolError: if Yosys is missing or fails (the last log lines are quoted).
    """
    return synth_sources(layer_files(rtl), rtl.name, rtl.op_type, str(cache) if cache is not None else None)


def synth_key(files: Mapping[str, str], top: str) -> str:
    """Cache key of a synthesis: the SHA-256 (32 hex digits) of the Yosys script and every file."""
    sources = " ".join(sorted(n for n in files if n.endswith(".v")))
    digest = hashlib.sha256(SCRIPT.format(sources=sources, top=top).encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:32]


def synth_sources(files: Mapping[str, str], top: str, op_type: str, cache: str | None = None) -> SynthResult:
    """Synthesise module ``top`` from ``files`` (name -> text: Verilog and ROM files) with Yosys.

    The job function of :func:`synth_layers` (plain arguments, so it runs in
    any worker process). Cached under ``cache/yosys`` (default
    ``rtl_cache_dir()``) by the SHA-256 of the script and every file.

    Raises:
        RtlToolError: if Yosys is missing or fails (the last log lines are quoted).
    """
    sources = " ".join(sorted(n for n in files if n.endswith(".v")))
    script = SCRIPT.format(sources=sources, top=top)
    folder = (Path(cache) if cache else rtl_cache_dir()) / "yosys"
    result_file = folder / f"{synth_key(files, top)}.json"
    if result_file.exists():
        return SynthResult(**json.loads(result_file.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="synth-", dir=folder))
    try:
        for name, text in files.items():
            (work / name).write_text(text)
        cmd = [*yosys_command(), "-q", "-p", script]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=yosys_env())
        if proc.returncode != 0 or not (work / "stat.json").exists():
            tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
            raise RtlToolError(f"Yosys synthesis of {top} ({op_type}) failed: {tail}")
        stat = json.loads((work / "stat.json").read_text())
        cells = stat["design"].get("num_cells_by_type", {})
        result = count_resources(top, op_type, {k: int(v) for k, v in cells.items()})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tmp = result_file.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(asdict(result)))
    os.replace(tmp, result_file)
    return result


def synth_layers(
    layers: Sequence[RtlLayer], executor: Executor | None = None, jobs: int = 2, cache: Path | None = None
) -> list[SynthResult]:
    """Synthesise layers in parallel, one :mod:`qnncc.jobs` job (one Yosys process) per layer.

    Args:
        layers: the layers' RTL (e.g. from :func:`~.generate.partition_layers`).
        executor: runs the jobs (None: a local pool of ``jobs`` processes).
        jobs: pool size when no executor is given.
        cache: result cache folder (default ``rtl_cache_dir()``).

    Returns:
        One :class:`SynthResult` per layer, in the order given.

    Raises:
        JobError: naming every layer whose synthesis failed and why.
    """
    from qnncc.jobs import Job, get_executor, values

    where = str(cache) if cache is not None else None
    batch = [
        Job(synth_sources, (layer_files(r), r.name, r.op_type, where), name=f"yosys {r.name}", cacheable=False)
        for r in layers
    ]
    if executor is not None:
        return values(executor.run(batch, cache=False))
    with get_executor(None, workers=max(1, min(jobs, len(batch) or 1))) as pool:
        return values(pool.run(batch, cache=False))


def total_resources(results: Sequence[SynthResult]) -> dict[str, int]:
    """Sum of every :data:`RESOURCE_KEYS` field over ``results``."""
    return {k: sum(int(getattr(r, k)) for r in results) for k in RESOURCE_KEYS}


def synth_model(
    model: ModelWrapper, jobs: int = 2, cache: Path | None = None, executor: Executor | None = None
) -> list[SynthResult]:
    """Synthesise every HW layer of a partition (``jobs`` Yosys processes in parallel).

    Args:
        model: a HW partition model or a model with one StreamingDataflowPartition node.
        jobs: parallel Yosys processes (when no ``executor`` is given).
        cache: result cache folder (default ``rtl_cache_dir()``).
        executor: a :mod:`qnncc.jobs` executor to run the per-layer jobs on.

    Returns:
        One :class:`SynthResult` per layer, in stream order.

    Raises:
        CodegenError: if a layer cannot be generated; JobError naming the layers Yosys failed on.
    """
    _, layers = partition_layers(model)
    return synth_layers(layers, executor, jobs, cache)
