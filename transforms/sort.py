"""SortGraph: put ``graph.node`` in topological order."""

from __future__ import annotations

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from ._graph import replace_nodes


class SortGraph(Transformation):
    """Sort the nodes so every producer comes before its consumers.

    Mirrors FINN/QONNX ``SortGraph``. The order is the stable topological
    order of :meth:`ModelWrapper.topological_sort`: ties keep the current
    order, so an already sorted graph is left untouched and the pass is
    idempotent. One round always suffices (``changed`` is False).

    Raises:
        GraphError: if the graph has a cycle (one line naming its nodes).
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Reorder ``model.graph.node`` in place."""
        order = model.topological_sort()
        if [id(n) for n in order] != [id(n) for n in model.graph.node]:
            replace_nodes(model, order)
        return model, False
