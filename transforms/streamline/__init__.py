"""Streamlining passes (Umuroglu & Jahre, "Streamlined Deployment for Quantized Neural Networks", 2017).

Turn a quantized graph into integer weights, integer thresholds and no
floating-point Mul/Add/BatchNorm between layers. :class:`Streamline` runs the
default sequence (:func:`streamline_passes`); every pass is usable alone.
"""

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
    MoveLinearPastEltwiseAdd,
    MoveLinearPastTranspose,
    MoveMulPastMaxPool,
    MoveScalarAddPastMatMul,
    MoveScalarLinearPastInvariants,
    MoveScalarMulPastConv,
    MoveScalarMulPastMatMul,
)
from .residual import MoveLinearPastFork, MoveSharedScalePastAdd
from .sequence import Streamline, streamline_passes
from .topk import AbsorbScalarMulAddIntoTopK, InsertInputScaling, InsertTopK

__all__ = [
    "Absorb1BitMulIntoConv",
    "Absorb1BitMulIntoMatMul",
    "AbsorbAddIntoMultiThreshold",
    "AbsorbMulIntoMultiThreshold",
    "AbsorbNegativeScaleIntoWeights",
    "AbsorbScalarMulAddIntoTopK",
    "AbsorbSignBiasIntoMultiThreshold",
    "BatchNormToAffine",
    "CollapseRepeatedAdd",
    "CollapseRepeatedMul",
    "ConvertDivToMul",
    "ConvertSignToThres",
    "ConvertSubToAdd",
    "FactorOutMulSignMagnitude",
    "InsertInputScaling",
    "InsertTopK",
    "MergeEqualThresholds",
    "MoveAddPastConv",
    "MoveAddPastMul",
    "MoveLinearPastEltwiseAdd",
    "MoveLinearPastFork",
    "MoveLinearPastTranspose",
    "MoveMulPastDWConv",
    "MoveMulPastMaxPool",
    "MoveScalarAddPastMatMul",
    "MoveScalarLinearPastInvariants",
    "MoveScalarMulPastConv",
    "MoveScalarMulPastMatMul",
    "MoveSharedScalePastAdd",
    "RoundAndClipThresholds",
    "Streamline",
    "streamline_passes",
]
