"""Passes that map a streamlined graph onto streaming HW layers."""

from .infer_mlp import (
    InferBinaryMatrixVectorActivation,
    InferLabelSelectLayer,
    InferQuantizedMatrixVectorActivation,
    InferThresholdingLayer,
)

__all__ = [
    "InferBinaryMatrixVectorActivation",
    "InferLabelSelectLayer",
    "InferQuantizedMatrixVectorActivation",
    "InferThresholdingLayer",
]
