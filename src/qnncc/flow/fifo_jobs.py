"""FIFO sizing of several dataflow partitions at once: one :mod:`qnncc.jobs` job per partition.

Partitions are sized independently (each is its own stitched IP, a FIFO
never spans two), so ``--fifo-sizing sim`` of a design cut into partitions
(ResNet-50 on the U250: one per SLR) runs them in parallel on the build's
executor (the local pool, or the ``--scheduler`` cluster). Each job gets the
child model as ONNX bytes and returns the sized model and its report; the
minimisation budget is CPU time of the job's own process, so the depths do
not depend on how many jobs share the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import onnx

from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["size_partition", "size_partitions"]


def size_partition(model: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """``SetFIFODepths`` on one HW partition model (serialised ONNX): ``(sized model, sizing report)``."""
    from qnncc.transforms.hw.set_fifo_depths import SetFIFODepths

    child = ModelWrapper(onnx.load_from_string(model))
    sizer = SetFIFODepths()
    child.transform(sizer)
    report = sizer.result.report() if sizer.result is not None else None
    return child.model.SerializeToString(), report


def size_partitions(
    children: Sequence[ModelWrapper], scheduler: str | None = None
) -> list[tuple[ModelWrapper, dict[str, Any] | None]]:
    """Size every partition's FIFOs, one job per partition, in parallel: ``(sized child, report)`` in order.

    Args:
        children: the HW child model of each partition (not modified).
        scheduler: the executor (see :func:`qnncc.jobs.get_executor`); one
            partition runs in this process.

    Raises:
        JobError: naming the partitions whose sizing failed and why.
    """
    from qnncc.jobs import available_cores, get_executor

    blobs = [c.model.SerializeToString() for c in children]
    if len(blobs) == 1:
        results = [size_partition(blobs[0])]
    else:
        with get_executor(scheduler, workers=min(len(blobs), available_cores())) as executor:
            names = [f"fifo-sizing partition {k}" for k in range(len(blobs))]
            results = executor.map(size_partition, blobs, names=names)
    return [(ModelWrapper(onnx.load_from_string(m)), report) for m, report in results]
