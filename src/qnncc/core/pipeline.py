"""Named pipelines of passes with per-step timing and optional checkpoints.

Example:
    >>> from qnncc.transforms import InferShapes, GiveUniqueNodeNames
    >>> pipe = Pipeline([("tidy", [InferShapes(), GiveUniqueNodeNames()])])
    >>> model = pipe.run(model)                     # doctest: +SKIP
    >>> [(r.name, round(r.seconds, 3)) for r in pipe.records]  # doctest: +SKIP
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qnncc.core.errors import PipelineError, TransformationError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

StepFn = Callable[[ModelWrapper], ModelWrapper]
StepBody = Transformation | Sequence[Transformation] | StepFn


@dataclass(frozen=True)
class StepRecord:
    """What one pipeline step did.

    Attributes:
        name: step name.
        seconds: wall-clock time of the step in seconds.
        checkpoint: path of the saved intermediate model, if any.
    """

    name: str
    seconds: float
    checkpoint: Path | None


class Pipeline:
    """Runs named steps in order; each step is a pass, a list of passes, or a function.

    Args:
        steps: ``(name, body)`` pairs. Names must be unique identifiers
            (letters, digits, ``_`` and ``-``).
        checkpoint_dir: if set, the model after step *k* is saved as
            ``<checkpoint_dir>/<k:02d>_<name>.onnx``.

    Raises:
        PipelineError: (a ValueError) on a duplicate or malformed step name.
    """

    def __init__(self, steps: Sequence[tuple[str, StepBody]], checkpoint_dir: str | Path | None = None) -> None:
        names = [n for n, _ in steps]
        for n in names:
            if not re.fullmatch(r"[A-Za-z0-9_\-]+", n):
                raise PipelineError(f"pipeline step name {n!r} must use letters, digits, '_' or '-'")
        if len(set(names)) != len(names):
            raise PipelineError(f"pipeline step names must be unique, got {names}")
        self.steps = list(steps)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.records: list[StepRecord] = []

    @property
    def step_names(self) -> list[str]:
        """Names of the steps in order."""
        return [n for n, _ in self.steps]

    def run(self, model: ModelWrapper, from_step: str | None = None) -> ModelWrapper:
        """Run the steps (from ``from_step`` on, if given) on ``model`` in place.

        Returns:
            The model after the last step.

        Raises:
            PipelineError: (a ValueError) if ``from_step`` is not a step name.
            TransformationError: if a step fails; the message names the step.
        """
        start = 0
        if from_step is not None:
            if from_step not in self.step_names:
                raise PipelineError(f"unknown step {from_step!r}; steps are {self.step_names}")
            start = self.step_names.index(from_step)
        self.records = []
        for k, (name, body) in enumerate(self.steps[start:], start=start):
            t0 = time.perf_counter()
            try:
                model = run_step_body(body, model)
            except TransformationError as exc:
                raise TransformationError(f"step {name!r}: {exc}") from exc
            seconds = time.perf_counter() - t0
            ckpt = None
            if self.checkpoint_dir is not None:
                ckpt = self.checkpoint_dir / f"{k:02d}_{name}.onnx"
                model.save(ckpt)
            self.records.append(StepRecord(name, seconds, ckpt))
        return model


def run_step_body(body: StepBody, model: ModelWrapper) -> ModelWrapper:
    """Run one step's body: a transformation, a sequence of them in order, or a function of the model."""
    if isinstance(body, Transformation):
        return body.run(model)
    if isinstance(body, Sequence):
        for t in body:
            model = t.run(model)
        return model
    return body(model)
