"""Location of the ``ap_int``/``ap_fixed`` headers for C simulation.

They ship (Apache-2.0) inside the ``hls4ml`` wheel on PyPI, a dependency of
qnncc, under ``hls4ml/templates/vivado/ap_types``; the package is found
without importing it (importing hls4ml is slow and not needed).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from qnncc.codegen.render import CodegenError

__all__ = ["ap_types_dir"]


def ap_types_dir() -> Path:
    """Folder holding ``ap_int.h``.

    Raises:
        CodegenError: if hls4ml is not installed or lacks the headers.
    """
    spec = importlib.util.find_spec("hls4ml")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for base in locations:
        folder = Path(base) / "templates" / "vivado" / "ap_types"
        if (folder / "ap_int.h").is_file():
            return folder
    raise CodegenError("ap_int.h not found: install the hls4ml package (pip install hls4ml), which ships ap_types")
