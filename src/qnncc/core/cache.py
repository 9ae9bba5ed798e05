"""Where qnncc keeps compiled artefacts between runs (C++ simulations, the cycle simulator engine)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """Folder of cached objects and binaries: ``$QNNCC_CACHE_DIR`` or ``~/.cache/qnncc/cppsim``."""
    env = os.environ.get("QNNCC_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "qnncc" / "cppsim"
