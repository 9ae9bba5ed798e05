"""Core IR of qnncc: datatypes, the model wrapper, errors and pass machinery.

The errors are imported at once; the other names load on first use (PEP 562),
so ``from qnncc.core.errors import QnnccError`` (e.g. the command line's
start-up) does not import onnx and numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from qnncc.core.datatype import DataType
    from qnncc.core.model_wrapper import ModelWrapper
    from qnncc.core.pipeline import Pipeline, StepRecord
    from qnncc.core.transformation import Transformation

#: Names loaded on first use, by module.
_LAZY = {
    "DataType": "qnncc.core.datatype",
    "ModelWrapper": "qnncc.core.model_wrapper",
    "Pipeline": "qnncc.core.pipeline",
    "StepRecord": "qnncc.core.pipeline",
    "Transformation": "qnncc.core.transformation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
