"""ThresholdRelu: ``Relu`` becomes a threshold ReLU, ``y = x if x > tau else 0``.

fpgaConvNet's front end (``fpgaconvnet-torch``, ``sparsity/relu_utils.py``,
``ThresholdedReLULayer``) raises the ReLU threshold to create activation
sparsity, with one threshold per layer or one for the network. The ONNX
operator with exactly this function is ``ThresholdedRelu`` (``alpha = tau``,
opset >= 10; older models are converted first).
"""

from __future__ import annotations

from collections.abc import Mapping

from onnx import helper
from typing_extensions import override

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from .annotate import upgrade_opset

__all__ = ["ThresholdRelu"]


class ThresholdRelu(Transformation):
    """Replace ``Relu`` nodes by ``ThresholdedRelu(alpha=tau)``.

    Args:
        tau: one threshold for every ``Relu`` (float), or thresholds by node name
            (a mapping; other ``Relu`` nodes are left alone).

    After :meth:`apply`, :attr:`replaced` maps node names to their threshold.

    Raises:
        QnnccError: for a negative threshold or a name that is not a ``Relu`` node.
    """

    def __init__(self, tau: float | Mapping[str, float]) -> None:
        values = tau.values() if isinstance(tau, Mapping) else [tau]
        if any(not float(v) >= 0 for v in values):
            raise QnnccError(f"ReLU thresholds must be >= 0, got {tau}")
        self.tau = dict(tau) if isinstance(tau, Mapping) else float(tau)
        self.replaced: dict[str, float] = {}

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        relus = [n for n in model.graph.node if n.op_type == "Relu" and n.domain in ("", "ai.onnx")]
        if isinstance(self.tau, dict):
            unknown = sorted(set(self.tau) - {n.name for n in relus})
            if unknown:
                raise QnnccError(f"ThresholdRelu: no Relu node named {', '.join(map(repr, unknown))}")
            relus = [n for n in relus if n.name in self.tau]
        if not relus:
            return model, False
        upgrade_opset(model, minimum=10)
        self.replaced = {}
        for node in list(model.graph.node):
            if node.op_type != "Relu" or node.domain not in ("", "ai.onnx"):
                continue
            tau = self.tau.get(node.name) if isinstance(self.tau, dict) else self.tau
            if tau is None:
                continue
            new = helper.make_node(
                "ThresholdedRelu", list(node.input), list(node.output), name=node.name, alpha=float(tau)
            )
            idx = model.get_node_index(node)
            model.remove_node(node)
            model.graph.node.insert(idx, new)
            self.replaced[node.name or node.output[0]] = float(tau)
        return model, False
