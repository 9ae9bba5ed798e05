"""The build folder a user trusts: qnncc replaces only its own builds and deletes only its own files.

A build is written to ``<output>.incomplete`` and installed as ``<output>``
when it succeeded (:func:`install_output`). Every build folder carries the
marker file :data:`MARKER` (JSON: qnncc version and the top-level entries
qnncc wrote), so a later build knows what it may replace:

* ``<output>`` missing: the finished build is renamed into place;
* ``<output>`` a previous qnncc build (has the marker): the new build
  replaces it by two renames (the old build is moved aside, then deleted);
  entries the user added to the old build are moved into the new one;
* ``<output>`` anything else that is not empty: refused before the build
  starts (:func:`check_output_dir`) unless ``force`` is set; then only the
  entries qnncc writes are replaced and every other file stays.

The working directory itself (``-o .``, ``-o $PWD``) or a folder above it is
refused: it cannot be replaced as a whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from qnncc.core.errors import QnnccError

__all__ = ["MARKER", "check_output_dir", "install_output", "is_build", "mark", "qnncc_entries"]

#: Marker file of a qnncc build folder.
MARKER = ".qnncc_build"


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else {}


def is_build(folder: Path) -> bool:
    """Whether ``folder`` is a qnncc build (finished, failed or resumed): it holds the marker file."""
    return (folder / MARKER).is_file()


def qnncc_entries(folder: Path) -> set[str]:
    """Top-level entries of a build folder that qnncc wrote (from its marker; empty if none)."""
    data = _read_marker(folder) or {}
    entries = data.get("entries")
    return {str(e) for e in entries} if isinstance(entries, list) else set()


def mark(folder: Path, entries: list[str] | None = None) -> None:
    """Write the marker into ``folder``; ``entries`` (default: every entry but the marker) are qnncc's."""
    from qnncc.version import __version__

    names = sorted(p.name for p in folder.iterdir() if p.name != MARKER) if entries is None else sorted(entries)
    (folder / MARKER).write_text(json.dumps({"qnncc_version": __version__, "entries": names}, indent=1) + "\n")


def _flag(out: Path) -> str:
    return f"-o {out}"


def check_output_dir(out: Path, force: bool) -> Path:
    """Check that a build may write ``out`` (and ``<out>.incomplete``); the absolute path of ``out``.

    Raises:
        QnnccError: ``out`` is the working directory or above it, a file, or a
            non-empty folder that is not a qnncc build (without ``force``); or
            ``<out>.incomplete`` exists and is not a qnncc build.
    """
    target = Path(out).expanduser().absolute().resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents or target.parent == target:
        where = "the working directory" if target == cwd else "a folder containing the working directory"
        raise QnnccError(
            f"{_flag(out)}: {target} is {where}; a build folder is replaced as a whole when the build "
            "finishes, so give a folder of its own, such as -o build"
        )
    if target.exists() and not target.is_dir():
        raise QnnccError(f"{_flag(out)}: {target} is a file, not a folder")
    if target.is_dir() and not is_build(target) and any(target.iterdir()) and not force:
        raise QnnccError(
            f"{_flag(out)}: {target} is not empty and is not a qnncc build (no {MARKER} file); qnncc does not "
            "replace it: give a new folder, or --force to write the build's files into it (other files stay)"
        )
    tmp = target.with_name(target.name + ".incomplete")
    if tmp.exists() and not is_build(tmp):
        raise QnnccError(
            f"{_flag(out)}: {tmp} exists and is not a qnncc build; qnncc writes its unfinished build there: "
            "move it away or give another output folder"
        )
    return target


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def install_output(tmp: Path, out: Path) -> None:
    """Move the finished build ``tmp`` to ``out`` (see the module docstring); marks ``out`` as a build.

    ``check_output_dir`` must have accepted ``out`` (with ``force`` for a non-build folder).
    """
    mark(tmp)
    written = qnncc_entries(tmp)
    if not out.exists():
        tmp.rename(out)
        return
    if is_build(out):
        ours = qnncc_entries(out) | {MARKER}
        for entry in sorted(out.iterdir()):
            if entry.name not in ours and not (tmp / entry.name).exists():
                entry.rename(tmp / entry.name)  # the user's files move with the build
        aside = out.with_name(out.name + ".previous")
        if aside.exists():
            if not is_build(aside):
                raise QnnccError(f"cannot replace the build in {out}: {aside} exists and is not a qnncc build")
            shutil.rmtree(aside)
        out.rename(aside)
        tmp.rename(out)
        shutil.rmtree(aside)
        mark(out, sorted(written))
        return
    for name in sorted(written):  # --force into a folder of the user's: replace only what qnncc writes
        _remove(out / name)
        (tmp / name).rename(out / name)
    mark(out, sorted(written))
    shutil.rmtree(tmp)
