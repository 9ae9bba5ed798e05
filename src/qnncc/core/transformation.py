"""Pass machinery: the ``Transformation`` base class and a bounded fixpoint.

The calling convention is FINN's and QONNX's: a pass implements
``apply(model) -> (model, changed)`` and users write
``model = model.transform(MyPass())``. ``transform`` repeats ``apply`` while it
reports a change and raises :class:`~qnncc.core.errors.TransformationError`
naming the pass if the fixpoint is not reached within :func:`round_limit`
rounds (FINN loops without a bound). This is qnncc's one fixpoint loop: a pass
rewrites every match it finds in a round, and the bound grows with the graph,
so a large legal graph (ResNet-50: ~160 quantizers, ~50 residual adds) cannot
hit it, while a pass that never settles still stops with a clear error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from qnncc.core.errors import QnnccError, TransformationError

if TYPE_CHECKING:
    from qnncc.core.model_wrapper import ModelWrapper


class Transformation(ABC):
    """Base class of every graph pass.

    Subclasses implement :meth:`apply`, which edits the model in place and
    returns ``(model, changed)``; ``changed=True`` asks for another round.

    Attributes:
        max_iterations: the least bound on the rounds of :meth:`run` (the bound grows with the
            graph, see :func:`round_limit`).
    """

    max_iterations: ClassVar[int] = 100

    @abstractmethod
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Run one round of the pass.

        Args:
            model: the model to edit (in place).

        Returns:
            ``(model, changed)``: the model and whether another round is needed.
        """

    @property
    def name(self) -> str:
        """Name of the pass (its class name)."""
        return type(self).__name__

    def run(self, model: ModelWrapper) -> ModelWrapper:
        """Apply the pass until it reports no change.

        Raises:
            TransformationError: if it still changes the model after
                :func:`round_limit` rounds, or fails with an unexpected error.
        """
        limit = round_limit(self.max_iterations, len(model.graph.node))
        for _ in range(limit):
            model.mark_changed()  # a pass may edit initializer bytes in place
            try:
                model, changed = self.apply(model)
            except QnnccError:
                raise
            except Exception as exc:
                raise TransformationError(f"pass {self.name} failed: {type(exc).__name__}: {exc}") from exc
            if not changed:
                return model
        raise TransformationError(f"pass {self.name} did not reach a fixpoint within {limit} rounds")


def round_limit(max_iterations: int, nodes: int) -> int:
    """Rounds :meth:`Transformation.run` allows a pass on a graph of ``nodes`` nodes.

    At least ``max_iterations``, and one round per node plus that: a pass that rewrites one
    match per round (or whose rewrites expose new matches, each round a step further along the
    graph) settles within a number of rounds that grows with the graph, not a constant.
    """
    return max(max_iterations, nodes + max_iterations)
