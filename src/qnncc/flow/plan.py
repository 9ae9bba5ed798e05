"""The plan of a build: its named steps in flow order, the ones a configuration runs, what each writes.

Flow (:func:`step_names`)::

    load -> tidy -> qonnx_to_finn -> prepare_io -> streamline -> lower -> convert_to_hw -> names
         -> fold -> partition -> estimate -> insert_dwc -> fifo -> hls | rtl -> [synth] -> stitch -> driver -> verify

``hls`` runs with the HLS backend (the default), ``rtl`` with ``--backend rtl``
(:mod:`qnncc.flow.rtl_steps`), ``synth`` with ``--synth``.

The step names are static (:data:`qnncc.flow.config.BUILD_STEPS`); the steps from ``tidy`` to
``names`` are those of :func:`qnncc.flow.estimate.hw_pipeline`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from qnncc.core.errors import QnnccError
from qnncc.flow.config import BUILD_STEPS, BuildConfig

__all__ = ["STEP_OUTPUTS", "changes_model", "clear_outputs", "default_steps", "step_names"]


#: Steps that leave the model as it was (no checkpoint of their own; a resume loads the one before).
_READ_ONLY = frozenset({"estimate", "hls", "rtl", "synth", "stitch", "driver", "verify"})


def step_names() -> tuple[str, ...]:
    """Every build step in flow order (:data:`qnncc.flow.config.BUILD_STEPS`)."""
    return BUILD_STEPS


#: What each step writes besides checkpoints (relative to the build folder); a resume clears them first.
STEP_OUTPUTS: dict[str, tuple[str, ...]] = {
    "estimate": ("report",),
    "fifo": ("report/fifo_depths.json", "intermediate_models/dataflow_partition.onnx"),
    "hls": ("hls", "partitions"),
    "rtl": ("rtl", "partitions"),
    "synth": ("report/synth.json", "report/synth.md"),
    "stitch": ("stitch", "Makefile.vivado", "vitis"),
    "driver": ("driver",),
    "verify": ("verification",),
}


def clear_outputs(folder: Path, first: str) -> None:
    """Delete what step ``first`` and every later step wrote into ``folder`` (so no stale file survives a resume)."""
    names = step_names()
    for step, paths in STEP_OUTPUTS.items():
        if names.index(step) >= names.index(first):
            for rel in paths:
                path = folder / rel
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()


def changes_model(name: str) -> bool:
    """Whether a step changes the model (and so saves a checkpoint of its own)."""
    return name not in _READ_ONLY


def default_steps(config: BuildConfig) -> list[str]:
    """The steps a configuration runs: ``config.steps``, or all that its outputs need, cut by from/to step."""
    names = list(step_names())
    if config.steps is not None:
        plan = list(config.steps)
    else:
        outputs = set(config.generate_outputs)
        drop: set[str] = set()
        if not outputs & {"estimate_reports", "plots"}:
            drop.add("estimate")
        if "hls" not in outputs:
            drop.update({"hls", "rtl", "stitch"})
        drop.add("hls" if config.backend == "rtl" else "rtl")
        if not config.synth:
            drop.add("synth")
        if "driver" not in outputs:
            drop.add("driver")
        needs_partition_model = outputs & {"hls", "stitch", "driver"} or config.verify_data is not None or config.synth
        if not needs_partition_model and config.to_step not in ("insert_dwc", "fifo"):
            drop.update({"insert_dwc", "fifo"})  # they only prepare the partition for code generation
        if config.verify_data is None:
            drop.add("verify")
        plan = [s for s in names if s not in drop]
    if config.from_step is not None:
        if config.from_step not in plan:
            raise QnnccError(f"--from-step {config.from_step}: not among the steps to run ({', '.join(plan)})")
        plan = plan[plan.index(config.from_step) :]
    if config.to_step is not None:
        if config.to_step not in plan:
            raise QnnccError(f"--to-step {config.to_step}: not among the steps to run ({', '.join(plan)})")
        plan = plan[: plan.index(config.to_step) + 1]
    if "verify" in plan and config.verify_data is None:
        raise QnnccError("step 'verify' needs verification data (--verify-data FILE.npz)")
    return plan
