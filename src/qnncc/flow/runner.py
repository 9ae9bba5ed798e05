"""The one step runner of the flows: ``qnncc estimate`` and ``qnncc build`` run their named steps here.

A plan is a list of step names (:mod:`qnncc.flow.plan`); each step is a function of the
:class:`~qnncc.flow.steps.BuildContext` and the model (:func:`qnncc.flow.steps.run_step`).
:func:`run_steps` runs them in order, times each, tells an observer, and hands each result to an
``after_step`` hook (the build saves its checkpoints there); ``ctx.step`` names the step running,
so a caller that catches an error knows where the flow stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import StepRecord

if TYPE_CHECKING:
    from qnncc.flow.steps import BuildContext

__all__ = ["AfterStep", "StepObserver", "run_steps"]

log = logging.getLogger("qnncc.build")

#: Called with each step's name and resulting model; returns the checkpoint it saved, if any.
AfterStep = Callable[[str, ModelWrapper], Path | None]


@runtime_checkable
class StepObserver(Protocol):
    """Receives progress events (e.g. a progress bar); ``build(..., progress=observer)``."""

    def step_started(self, name: str, index: int, total: int) -> None:
        """Step ``name`` (number ``index`` of ``total``, from 1) starts."""

    def step_finished(self, name: str, seconds: float) -> None:
        """Step ``name`` finished after ``seconds``."""


def run_steps(
    plan: Sequence[str],
    ctx: BuildContext,
    model: ModelWrapper | None,
    *,
    observer: StepObserver | None = None,
    after_step: AfterStep | None = None,
) -> tuple[ModelWrapper | None, list[StepRecord]]:
    """Run the steps of ``plan`` in order on ``model`` (None before ``load``).

    Args:
        plan: step names in flow order.
        ctx: the flow's shared context; ``ctx.step`` is set to each step before it runs.
        model: the model before the first step.
        observer: told when each step starts and finishes.
        after_step: called after each step with its name and model (e.g. to save a checkpoint).

    Returns:
        The model after the last step, and one record (name, seconds, checkpoint) per step.

    Raises:
        Whatever a step raises, unchanged (``ctx.step`` names the step).
    """
    from qnncc.flow.steps import run_step

    records: list[StepRecord] = []
    for index, step in enumerate(plan, start=1):
        ctx.step = step
        if observer is not None:
            observer.step_started(step, index, len(plan))
        log.info("step %s: start", step)
        start = time.perf_counter()
        model = run_step(step, ctx, model)
        seconds = time.perf_counter() - start
        checkpoint = after_step(step, model) if after_step is not None else None
        records.append(StepRecord(step, seconds, checkpoint))
        log.info("step %s: done in %.3f s", step, seconds)
        if observer is not None:
            observer.step_finished(step, seconds)
    return model, records
