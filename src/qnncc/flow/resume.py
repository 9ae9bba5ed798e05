"""Resuming a build: checkpoints, copying a previous build, and the settings a resume must keep.

``--from-step S`` loads the last model a previous build of the output folder
saved before ``S`` (:func:`resume`). The settings earlier steps used are in the
build state (:func:`build_options`); a resume whose settings differ where a
step before ``S`` used them is refused (:func:`check_resume_options`), naming
the first step to redo. On the command line the settings not given again are
those of the saved build (:func:`saved_settings`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.config import BuildConfig
from qnncc.flow.outdir import MARKER, is_build, mark, qnncc_entries

__all__ = [
    "OPTION_FIRST_STEP",
    "build_options",
    "check_resume_options",
    "checkpoint_path",
    "checkpoints",
    "resume",
    "saved_settings",
]

_CHECKPOINT = re.compile(r"^(?P<index>\d\d)_(?P<step>[A-Za-z0-9_\-]+)\.onnx$")


def checkpoints(folder: str | Path) -> dict[str, Path]:
    """Saved intermediate models of a build folder by step name, in flow order."""
    models = Path(folder) / "intermediate_models"
    found = []
    if models.is_dir():
        for path in models.iterdir():
            m = _CHECKPOINT.match(path.name)
            if m:
                found.append((int(m.group("index")), m.group("step"), path))
    return {step: path for _, step, path in sorted(found)}


def checkpoint_path(folder: Path, step: str) -> Path:
    """Where a build saves the model after ``step``: ``intermediate_models/<NN>_<step>.onnx``."""
    from qnncc.flow.plan import step_names

    return folder / "intermediate_models" / f"{step_names().index(step):02d}_{step}.onnx"


def _copy_build(out: Path, tmp: Path) -> None:
    """Copy the entries qnncc wrote in the build ``out`` (all, for a build without an entry list) to ``tmp``."""
    if tmp.exists():
        shutil.rmtree(tmp)
    ours = qnncc_entries(out)
    tmp.mkdir(parents=True)
    for entry in out.iterdir():
        if entry.name == MARKER or (ours and entry.name not in ours):
            continue
        if entry.is_dir():
            shutil.copytree(entry, tmp / entry.name)
        else:
            shutil.copy2(entry, tmp / entry.name)
    mark(tmp)


def resume(out: Path, tmp: Path, first: str) -> tuple[ModelWrapper, str]:
    """Prepare ``tmp`` from the previous build of ``out`` and load the model saved before step ``first``."""
    from qnncc.flow.plan import clear_outputs, step_names

    names = step_names()
    source = next((d for d in (tmp, out) if checkpoints(d)), None)
    if source is None:
        raise QnnccError(f"cannot resume at step {first!r}: no intermediate models in {out} or {tmp}")
    before = [(s, p) for s, p in checkpoints(source).items() if names.index(s) < names.index(first)]
    if not before:
        raise QnnccError(f"cannot resume at step {first!r}: {source} has no model saved before it")
    step, path = before[-1]
    if source != tmp:
        _copy_build(out, tmp)
    elif not is_build(tmp):
        mark(tmp)
    for s, p in checkpoints(tmp).items():
        if names.index(s) >= names.index(first):
            p.unlink()
    clear_outputs(tmp, first)
    model = ModelWrapper(str(tmp / "intermediate_models" / path.name))
    return model, f"{source.name}/intermediate_models/{path.name} (after step {step!r})"


#: Settings that change what a step makes, by the first step that uses them (a resume after it must keep them).
OPTION_FIRST_STEP = {
    "input_scale": "load",
    "input_datatype": "load",
    "insert_topk": "prepare_io",
    "board": "fold",
    "clock_ns": "fold",
    "folding": "fold",
    "target_fps": "fold",
    "folding_mode": "fold",
    "strict_folding": "fold",
    "fifo_sizing": "fifo",
    "shell": "hls",
}
_FLAG_NAMES = {"folding": "--folding (file contents)", "insert_topk": "insert_topk"}


def build_options(config: BuildConfig, board: str, clock_ns: float, shell: str) -> dict[str, Any]:
    """The settings of :data:`OPTION_FIRST_STEP` as a build uses them (JSON-ready; saved in the build state).

    The folding file is recorded by the SHA-256 of its contents.
    """
    folding = None
    if config.folding is not None and Path(config.folding).is_file():
        folding = hashlib.sha256(Path(config.folding).read_bytes()).hexdigest()
    return {
        "input_scale": config.input_scale,
        "input_datatype": config.input_datatype,
        "insert_topk": config.insert_topk,
        "board": board,
        "clock_ns": float(clock_ns),
        "folding": folding,
        "target_fps": config.target_fps,
        "folding_mode": config.folding_mode,
        "strict_folding": config.strict_folding,
        "fifo_sizing": config.fifo_sizing,
        "shell": shell,
    }


def check_resume_options(saved: dict[str, Any], now: dict[str, Any], first: str) -> None:
    """Refuse a resume at ``first`` whose settings differ from those the saved steps before it used.

    Raises:
        QnnccError: naming each changed setting and the earliest step to resume from instead.
    """
    from qnncc.flow.plan import step_names

    names = step_names()
    changed = [
        key
        for key, step in OPTION_FIRST_STEP.items()
        if key in saved and saved[key] != now.get(key) and names.index(step) < names.index(first)
    ]
    if not changed:
        return
    earliest = min((OPTION_FIRST_STEP[k] for k in changed), key=names.index)
    what = ", ".join(
        f"{_FLAG_NAMES.get(k, '--' + k.replace('_', '-'))} {_short(saved[k])} -> {_short(now.get(k))}" for k in changed
    )
    raise QnnccError(
        f"--from-step {first}: settings changed since the saved build ({what}); step {earliest!r} already used "
        f"them, so resuming would mix two builds: resume with --from-step {earliest} (or earlier), or keep the settings"
    )


def _short(value: Any) -> str:
    text = str(value)
    return text[:10] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def saved_settings(output_dir: str | Path) -> dict[str, Any]:
    """The settings of the previous build of ``output_dir`` (``build_config.json``), for a resume.

    Returns an empty dict when there is none; ``steps``, ``from_step``,
    ``to_step``, ``force``, ``output_dir`` and ``scheduler`` are left out.
    """
    from qnncc.flow.report import read_json

    out = Path(output_dir)
    for folder in (out.with_name(out.name + ".incomplete"), out):
        data = read_json(folder / "build_config.json")
        if isinstance(data, dict):
            for key in ("steps", "from_step", "to_step", "force", "output_dir", "scheduler"):
                data.pop(key, None)
            return {k: v for k, v in data.items() if v is not None}
    return {}
