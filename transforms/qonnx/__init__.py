"""QONNX to qnncc/FINN form: integer weights, activations as ``MultiThreshold``.

:class:`ConvertQONNXtoFINN` runs :class:`GemmToMatMul`,
:class:`FoldQuantWeights`, :class:`ConvertTruncAvgPoolToMultiThreshold` and
:class:`ConvertQuantActToMultiThreshold`
(the names FINN users know from ``ConvertQONNXtoFINN``).
"""

from __future__ import annotations

from typing_extensions import override

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op.shapes import infer_shapes

from .act_to_thresholds import ConvertQuantActToMultiThreshold
from .fold_weights import FoldQuantWeights
from .gemm import GemmToMatMul
from .trunc import ConvertTruncAvgPoolToMultiThreshold


class ConvertQONNXtoFINN(Transformation):
    """Convert a QONNX graph: Gemm to MatMul, fold weight quantizers, truncating pools and activations to thresholds."""

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        infer_shapes(model)
        steps = (
            GemmToMatMul(),
            FoldQuantWeights(),
            ConvertTruncAvgPoolToMultiThreshold(),
            ConvertQuantActToMultiThreshold(),
        )
        for step in steps:
            model = step.run(model)
            infer_shapes(model)
        return model, False


__all__ = [
    "ConvertQONNXtoFINN",
    "ConvertQuantActToMultiThreshold",
    "ConvertTruncAvgPoolToMultiThreshold",
    "FoldQuantWeights",
    "GemmToMatMul",
]
