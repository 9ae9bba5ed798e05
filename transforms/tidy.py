"""The tidy pipeline: ``tidy_passes()`` and the :class:`Tidy` pass that runs them."""

from __future__ import annotations

from typing import ClassVar

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from .fold_constants import FoldConstants
from .identity import RemoveIdentityOps
from .infer import InferDataTypes, InferShapes
from .naming import GiveReadableTensorNames, GiveUniqueNodeNames
from .remove import RemoveStaticGraphInputs, RemoveUnusedTensors
from .sort import SortGraph


def tidy_passes() -> list[Transformation]:
    """Fresh instances of the tidy passes in the usual FINN order.

    Returns:
        ``[InferShapes, FoldConstants, RemoveIdentityOps,
        RemoveStaticGraphInputs, RemoveUnusedTensors, GiveUniqueNodeNames,
        GiveReadableTensorNames, InferDataTypes, SortGraph]``, a new list of
        new objects on every call (safe to use in a
        :class:`qnncc.Pipeline` step).
    """
    return [
        InferShapes(),
        FoldConstants(),
        RemoveIdentityOps(),
        RemoveStaticGraphInputs(),
        RemoveUnusedTensors(),
        GiveUniqueNodeNames(),
        GiveReadableTensorNames(),
        InferDataTypes(),
        SortGraph(),
    ]


class Tidy(Transformation):
    """Run every pass of :func:`tidy_passes` (each to its fixpoint), until nothing changes.

    The counterpart of the tidy-up step that FINN's builder runs first
    (``step_tidy_up``). One round runs the whole list; ``changed`` is True
    when the round altered the serialized model, so :meth:`run` repeats it
    until a round leaves the model byte for byte unchanged (usually the
    second round, e.g. after removing an identity made a node foldable).

    Raises:
        TransformationError: if the passes do not settle within
            ``max_iterations`` rounds or a pass fails.
        GraphError: for a cycle or failed shape inference.
        UnsupportedOpError: for an unknown custom op.
    """

    max_iterations: ClassVar[int] = 10

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Run one round of the tidy passes on ``model`` in place."""
        before = model.serialize()
        for transformation in tidy_passes():
            model = transformation.run(model)
        return model, model.serialize() != before
