"""clang ``-fsyntax-only`` of generated HLS tops in synthesis mode (``__SYNTHESIS__`` defined).

Vitis HLS parses C++ with clang, which rejects code g++ accepts (two-phase
name lookup, missing ``typename``/``template``, narrowing in braces), and
compiles the ``__SYNTHESIS__`` branches that the g++ C simulation never
sees. This check runs Debian's ``clang++`` over every ``top_*.cpp`` with the
shim ``hls_templates/synth_shim/qnncc_synth_shim.h`` forced in: the real
(hls4ml) ``ap_int`` headers in their C-model form, then ``__SYNTHESIS__`` and
``__VITIS_HLS__`` defined for qnncc's library and the top, and declaration-only
``hls_stream.h``/``ap_axi_sdata.h``. The csim stand-ins are not on the path.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from qnncc.codegen.hls.ap_types import ap_types_dir
from qnncc.codegen.render import include_dir, template_dir

__all__ = ["find_clang", "syntax_check_top", "syntax_check_hls_dir", "synth_shim_dir"]


def synth_shim_dir() -> Path:
    """Folder of the synthesis-mode shim headers (package data ``qnncc.hls_templates/synth_shim``)."""
    return template_dir().parent / "synth_shim"


def find_clang() -> str | None:
    """Path of ``clang++`` (Debian package ``clang``), or None if it is not installed."""
    return shutil.which("clang++")


def syntax_check_top(top: Path | list[Path], library: Path | None = None, clang: str | None = None) -> list[str]:
    """Error lines of ``clang++ -fsyntax-only`` on generated tops (empty when they parse).

    Several tops are parsed as one translation unit (one ``#include`` each,
    so each finds its parameter headers next to it): the ap_int headers are
    parsed once, the costly part.

    Args:
        top: a ``top_<name>.cpp`` (its folder holds its parameter headers), or several.
        library: folder of ``qnncc/*.hpp`` (default: :func:`~qnncc.codegen.render.include_dir`).
        clang: the compiler (default: :func:`find_clang`).

    Raises:
        FileNotFoundError: if clang is not installed.
    """
    compiler = clang or find_clang()
    if compiler is None:
        raise FileNotFoundError("clang++ not found (Debian: apt-get install clang)")
    tops = [top] if isinstance(top, Path) else list(top)
    if not tops:
        return []
    shim = synth_shim_dir()
    cmd = [compiler, "-fsyntax-only", "-std=c++14", "-Wno-everything", "-ferror-limit=50"]
    cmd += ["-include", str(shim / "qnncc_synth_shim.h"), "-I", str(shim)]
    cmd += ["-I", str(library or include_dir()), "-I", str(ap_types_dir()), "-x", "c++", "-"]
    unit = "".join(f'#include "{t.resolve()}"\n' for t in tops)
    proc = subprocess.run(cmd, input=unit, capture_output=True, text=True)
    if proc.returncode == 0:
        return []
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    return errors or [proc.stderr.strip()[-500:]]


def syntax_check_hls_dir(hls_dir: str | Path, clang: str | None = None) -> list[str]:
    """:func:`syntax_check_top` of every ``top_*.cpp`` under a build's ``hls/`` (its own ``include/``).

    Returns:
        clang's error lines (each names its file); empty when every top parses.
    """
    root = Path(hls_dir)
    tops = sorted(root.glob("*/top_*.cpp"))
    library = root / "include" if (root / "include" / "qnncc").is_dir() else None
    return syntax_check_top(tops, library, clang)
