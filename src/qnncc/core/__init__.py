"""Core IR of qnncc: datatypes, the model wrapper, errors and pass machinery."""

from qnncc.core.datatype import DataType
from qnncc.core.errors import (
    DataTypeError,
    ExecutionError,
    GraphError,
    ModelLoadError,
    PipelineError,
    QnnccError,
    TransformationError,
    UnsupportedOpError,
)
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import Pipeline, StepRecord
from qnncc.core.transformation import Transformation

__all__ = [
    "DataType",
    "DataTypeError",
    "ExecutionError",
    "GraphError",
    "ModelLoadError",
    "ModelWrapper",
    "Pipeline",
    "PipelineError",
    "QnnccError",
    "StepRecord",
    "Transformation",
    "TransformationError",
    "UnsupportedOpError",
]
