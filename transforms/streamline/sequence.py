"""The default ``Streamline`` sequence."""

from __future__ import annotations

from onnx import TensorProto
from qnncc.transforms.identity import RemoveIdentityOps
from qnncc.transforms.infer import InferDataTypes, InferShapes
from qnncc.transforms.remove import RemoveUnusedTensors
from typing_extensions import override

from qnncc.core.errors import TransformationError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation

from .absorb import (
    Absorb1BitMulIntoConv,
    Absorb1BitMulIntoMatMul,
    AbsorbAddIntoMultiThreshold,
    AbsorbMulIntoMultiThreshold,
    AbsorbNegativeScaleIntoWeights,
    AbsorbSignBiasIntoMultiThreshold,
    FactorOutMulSignMagnitude,
    RoundAndClipThresholds,
)
from .collapse import CollapseRepeatedAdd, CollapseRepeatedMul
from .convert import BatchNormToAffine, ConvertDivToMul, ConvertSignToThres, ConvertSubToAdd, MergeEqualThresholds
from .depthwise import MoveMulPastDWConv
from .reorder import (
    MoveAddPastConv,
    MoveAddPastMul,
    MoveMulPastMaxPool,
    MoveScalarAddPastMatMul,
    MoveScalarLinearPastInvariants,
    MoveScalarMulPastConv,
    MoveScalarMulPastMatMul,
)
from .residual import MoveLinearPastFork, MoveSharedScalePastAdd
from .topk import AbsorbScalarMulAddIntoTopK


def streamline_passes() -> list[Transformation]:
    """Fresh instances of the streamlining passes in their default order.

    Absorption into thresholds (exact) is tried before reordering and
    collapsing (exact only up to float rounding), so a chain such as
    ``MatMul -> Mul -> Add -> MultiThreshold`` is absorbed op by op.
    """
    return [
        ConvertSubToAdd(),
        ConvertDivToMul(),
        BatchNormToAffine(),
        ConvertSignToThres(),
        RemoveIdentityOps(),
        MoveScalarLinearPastInvariants(),
        AbsorbSignBiasIntoMultiThreshold(),
        AbsorbAddIntoMultiThreshold(),
        FactorOutMulSignMagnitude(),
        AbsorbMulIntoMultiThreshold(),
        AbsorbNegativeScaleIntoWeights(),
        Absorb1BitMulIntoMatMul(),
        Absorb1BitMulIntoConv(),
        MoveAddPastMul(),
        MoveScalarAddPastMatMul(),
        MoveAddPastConv(),
        MoveScalarMulPastMatMul(),
        MoveScalarMulPastConv(),
        MoveMulPastDWConv(),
        MoveMulPastMaxPool(),
        MoveSharedScalePastAdd(),
        MoveLinearPastFork(),
        AbsorbScalarMulAddIntoTopK(),
        CollapseRepeatedAdd(),
        CollapseRepeatedMul(),
        InferShapes(),
        InferDataTypes(),
        RoundAndClipThresholds(),
        MergeEqualThresholds(),
        RemoveUnusedTensors(),
    ]


class Streamline(Transformation):
    """Run :func:`streamline_passes` repeatedly until the graph stops changing.

    Each round runs every pass to its own fixpoint; the sequence is repeated
    (at most ``max_rounds`` times) because one pass can enable another, e.g.
    a Mul moved past a MatMul becomes absorbable into the next thresholds.

    Raises:
        TransformationError: if the graph still changes after ``max_rounds`` rounds.
    """

    max_rounds = 20

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for _ in range(self.max_rounds):
            before = model.serialize()
            for step in streamline_passes():
                model = step.run(model)
            if model.serialize() == before:
                _annotate_index_constants(model)
                return model, False
        raise TransformationError(f"Streamline did not converge within {self.max_rounds} rounds")


def _annotate_index_constants(model: ModelWrapper) -> None:
    """Give integer-typed constants (shapes, top-k ``k``) their ONNX integer datatype annotation."""
    names = {TensorProto.INT64: "INT64", TensorProto.INT32: "INT32"}
    for init in model.graph.initializer:
        if init.data_type in names and model.get_tensor_datatype(init.name).is_float():
            model.set_tensor_datatype(init.name, names[init.data_type])
