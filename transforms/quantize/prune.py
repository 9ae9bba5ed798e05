"""PruneWeights: global magnitude pruning of Conv/Gemm/MatMul weights, ``|w| < tau -> 0``.

fpgaConvNet's front end (``fpgaconvnet-torch``, ``sparsity/prune_utils.py``,
``apply_weight_pruning``) zeroes every weight of magnitude below one global
threshold, after quantization and without fine-tuning. Here the weights of a
QONNX graph are pruned by the magnitude of their *quantized* value (the value
the reference compares) and the zero is written into the float weight that
feeds the ``Quant`` node, which maps it to exactly 0 (integer zero-point); a
float graph is pruned directly.
"""

from __future__ import annotations

import numpy as np
from typing_extensions import override

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op

from .annotate import WEIGHT_OPS

__all__ = ["PruneWeights"]


class PruneWeights(Transformation):
    """Zero every Conv/ConvTranspose/Gemm/MatMul weight with ``|w| < tau``.

    Args:
        tau: the global threshold (>= 0).

    After :meth:`apply`, :attr:`pruned` and :attr:`total` count the zeroed and all
    weights; :attr:`sparsity` is the fraction of zero weights afterwards.

    Raises:
        QnnccError: for a negative threshold.
    """

    def __init__(self, tau: float) -> None:
        if not tau >= 0:
            raise QnnccError(f"pruning threshold must be >= 0, got {tau}")
        self.tau = float(tau)
        self.pruned = 0
        self.total = 0
        self.zeros = 0

    @property
    def sparsity(self) -> float:
        """Fraction of zero weights after pruning."""
        return self.zeros / self.total if self.total else 0.0

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        self.pruned = self.total = self.zeros = 0
        done: set[str] = set()
        for node in model.graph.node:
            if node.op_type not in WEIGHT_OPS or len(node.input) < 2:
                continue
            name = node.input[1]
            weights, value = name, model.get_initializer(name)
            quant = model.find_producer(name) if value is None else None
            if quant is not None and quant.op_type == "Quant":
                consts = [model.get_initializer(t) for t in quant.input[:4]]
                if any(c is None for c in consts):
                    continue
                weights = quant.input[0]
                value = get_custom_op(quant).execute([c for c in consts if c is not None])[0]
            if value is None or weights in done:
                continue
            done.add(weights)
            w = model.get_initializer(weights)
            assert w is not None
            mask = np.abs(value) < self.tau
            newly = mask & (w != 0)
            self.pruned += int(newly.sum())
            self.total += int(w.size)
            pruned = np.where(mask, np.zeros_like(w), w)
            self.zeros += int((pruned == 0).sum())
            if newly.any():
                model.set_initializer(weights, pruned)
        return model, False
