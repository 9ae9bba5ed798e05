"""Result cache of :mod:`qnncc.jobs`: pickled job results in a folder, keyed by content hash.

Entries are written atomically (temporary file + rename), so concurrent
writers and an interrupted run never leave a half-written entry; an entry
that cannot be read is treated as missing.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["ResultCache", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$QNNCC_CACHE_DIR/jobs`` if set, else ``~/.cache/qnncc/jobs``."""
    env = os.environ.get("QNNCC_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "qnncc") / "jobs"


class ResultCache:
    """Folder of job results ``<folder>/<key[:2]>/<key>.pkl``.

    Args:
        folder: where entries live (created on first write).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` if ``key`` is stored and readable, else ``(False, None)``."""
        path = self._path(key)
        try:
            with path.open("rb") as f:
                return True, pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            return False, None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (atomic; the last writer wins)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __contains__(self, key: str) -> bool:
        return self._path(key).exists()

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*.pkl")) if self.folder.exists() else 0
