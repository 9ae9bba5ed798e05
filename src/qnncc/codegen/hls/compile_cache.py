"""g++ for the C++ simulation: the toolchain, the precompiled common header and the object cache.

A translation unit (a layer's top and headers, or a test bench) compiles to
one object file named by the SHA-256 of its sources, the toolchain key (the
compiler version, every library and stand-in header, the flags) and nothing
else, under ``<cache>/obj``; an object already there is never compiled again,
so parallel workers and later runs share it. The units still to compile run as
:mod:`qnncc.jobs` jobs (:func:`compile_job`), on this machine or a cluster's
workers, whose objects come back as bytes. :mod:`qnncc.codegen.hls.cppsim`
links the objects into a simulation binary.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from qnncc.codegen.hls.ap_types import ap_types_dir
from qnncc.codegen.render import CodegenError, csim_include_dir, include_dir
from qnncc.jobs import Executor, Job, get_executor

__all__ = [
    "CXXFLAGS",
    "PCH_TEXT",
    "SYNTHESIS_PATH_DEFINE",
    "Toolchain",
    "compile_all",
    "compile_job",
    "compile_unit",
    "object_path",
    "precompiled_header",
    "unit_hash",
]

#: g++ flags of every simulation build.
CXXFLAGS = ("-O2", "-std=c++14", "-w")

#: Define that turns every C-simulation fast path of the library off (the synthesis code path).
SYNTHESIS_PATH_DEFINE = "-DQNNCC_SYNTHESIS_PATH"


@dataclass(frozen=True)
class Toolchain:
    """Compiler flags and library folder of one kind of simulation build."""

    flags: tuple[str, ...]
    library: Path

    @staticmethod
    def of(synthesis_path: bool, library: Path | None) -> Toolchain:
        """The toolchain of a simulation build: ``synthesis_path`` adds :data:`SYNTHESIS_PATH_DEFINE`."""
        flags = CXXFLAGS + ((SYNTHESIS_PATH_DEFINE,) if synthesis_path else ())
        return Toolchain(flags, Path(library) if library is not None else include_dir())

    def includes(self) -> list[str]:
        """``-I`` options: the csim stand-ins, the library, the ap_int headers."""
        return ["-I", str(csim_include_dir()), "-I", str(self.library), "-I", str(ap_types_dir())]

    @property
    def key(self) -> str:
        """SHA-256 of the compiler version, the headers and the flags."""
        return _toolchain_key(self.flags, self.library)


@functools.lru_cache(maxsize=8)
def _toolchain_key(flags: tuple[str, ...], library: Path) -> str:
    compiler = shutil.which("g++")
    if compiler is None:
        raise CodegenError("g++ not found; C++ simulation needs a C++14 compiler on PATH")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    digest = hashlib.sha256(version.encode())
    for folder in (csim_include_dir(), library, ap_types_dir()):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    digest.update(" ".join(flags).encode())
    return digest.hexdigest()


def unit_hash(files: Mapping[str, str], tc: Toolchain) -> str:
    """Cache key of a translation unit: its files (name -> text) under toolchain ``tc``."""
    digest = hashlib.sha256(tc.key.encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:32]


#: Headers every translation unit needs, precompiled once per toolchain (g++ ``.gch``).
PCH_TEXT = """// qnncc cppsim precompiled header (generated)
#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096
#endif
#include <ap_int.h>
#include <hls_stream.h>
#include <cstdio>
#include <vector>
#include "qnncc/types.hpp"
"""


def precompiled_header(cache: Path, tc: Toolchain) -> Path:
    """Path of the precompiled common header (built on first use; about 3x faster compiles)."""
    folder = cache / "pch" / tc.key[:32]
    header = folder / "qnncc_pch.h"
    if (folder / "qnncc_pch.h.gch").exists():
        return header
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"tmp{os.getpid()}.h"
    tmp.write_text(PCH_TEXT)
    cmd = ["g++", *tc.flags, *tc.includes(), "-x", "c++-header", str(tmp)]
    proc = subprocess.run([*cmd, "-o", f"{tmp}.gch"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CodegenError(f"g++ failed to precompile the common header: {proc.stderr[-300:]}")
    os.replace(tmp, header)
    os.replace(f"{tmp}.gch", f"{header}.gch")
    return header


def compile_unit(files: Mapping[str, str], source: str, cache: Path, tc: Toolchain) -> tuple[Path, bool]:
    """Object file of one translation unit (``source`` plus the other files it includes); True if compiled."""
    obj = object_path(cache, files, tc)
    if obj.exists():
        return obj, False
    obj.parent.mkdir(parents=True, exist_ok=True)
    pch = precompiled_header(cache, tc)
    with tempfile.TemporaryDirectory(prefix="qnncc-cc-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        out = Path(tmp) / "unit.o"
        cmd = ["g++", *tc.flags, "-I", tmp, *tc.includes(), "-include", str(pch)]
        proc = subprocess.run([*cmd, "-c", str(Path(tmp) / source), "-o", str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            errors = [line for line in proc.stderr.splitlines() if "error" in line][:3]
            raise CodegenError(f"g++ failed on {source}: {' | '.join(errors) or proc.stderr[-500:]}")
        os.replace(out, obj)  # atomic: parallel test workers may race on the same object
    return obj, True


def compile_job(files: Mapping[str, str], source: str, cache: str, tc: Toolchain | None = None) -> tuple[bytes, str]:
    """One translation unit compiled by a worker: ``(object file bytes, the worker's toolchain key)``.

    The worker uses ``cache`` (this machine's cache folder, created if needed)
    for its precompiled header and object; the bytes let the caller keep the
    object when the worker is another machine.

    Raises:
        CodegenError: if g++ fails.
    """
    tc = tc or Toolchain.of(False, None)
    obj, _ = compile_unit(files, source, Path(cache), tc)
    return obj.read_bytes(), tc.key


def compile_all(
    units: list[tuple[dict[str, str], str]], cache: Path, executor: Executor | None, tc: Toolchain | None = None
) -> list[bool]:
    """Compile the units whose objects are not cached (as jobs); True per unit that was compiled.

    Raises:
        CodegenError: naming the first unit g++ failed on, or a worker with another toolchain.
    """
    tc = tc or Toolchain.of(False, None)
    todo = [i for i, (files, _) in enumerate(units) if not object_path(cache, files, tc).exists()]
    if not todo:
        return [False] * len(units)
    if executor is None and len(todo) == 1:
        compile_unit(*units[todo[0]], cache, tc)
        return [i in todo for i in range(len(units))]
    jobs = [
        Job(compile_job, (units[i][0], units[i][1], str(cache), tc), name=f"g++ {units[i][1]}", cacheable=False)
        for i in todo
    ]
    ex = executor or get_executor()
    try:
        results = ex.run(jobs)  # per-job progress and failures on the qnncc.jobs logger
    finally:
        if executor is None:
            ex.close()
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        raise CodegenError(f"{failed.name}: {failed.error.removeprefix('CodegenError: ')}")
    for i, result in zip(todo, results, strict=True):
        data, toolchain = result.value
        if toolchain != tc.key:
            raise CodegenError(f"{result.name} ran on {result.worker} whose g++ or headers differ from this machine's")
        obj = object_path(cache, units[i][0], tc)
        if not obj.exists():  # the worker was another machine
            obj.parent.mkdir(parents=True, exist_ok=True)
            tmp = obj.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, obj)
    return [i in todo for i in range(len(units))]


def object_path(cache: Path, files: Mapping[str, str], tc: Toolchain) -> Path:
    """Where the object file of the unit ``files`` is cached under ``cache``."""
    return cache / "obj" / f"{unit_hash(files, tc)}.o"
