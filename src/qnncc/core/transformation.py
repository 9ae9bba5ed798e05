"""Pass machinery: the ``Transformation`` base class and a bounded fixpoint.

The calling convention is FINN's and QONNX's: a pass implements
``apply(model) -> (model, changed)`` and users write
``model = model.transform(MyPass())``. ``transform`` repeats ``apply`` while it
reports a change, up to :attr:`Transformation.max_iterations` rounds, and
raises :class:`~qnncc.core.errors.TransformationError` naming the pass if the
fixpoint is not reached (FINN loops without a bound).
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
        max_iterations: bound on the rounds of :meth:`run` before it raises.
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
                ``max_iterations`` rounds, or fails with an unexpected error.
        """
        for _ in range(self.max_iterations):
            model.mark_changed()  # a pass may edit initializer bytes in place
            try:
                model, changed = self.apply(model)
            except QnnccError:
                raise
            except Exception as exc:
                raise TransformationError(f"pass {self.name} failed: {type(exc).__name__}: {exc}") from exc
            if not changed:
                return model
        raise TransformationError(f"pass {self.name} did not reach a fixpoint within {self.max_iterations} rounds")
