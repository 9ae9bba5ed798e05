"""qnncc: a quantized-neural-network compiler for FPGA streaming dataflow accelerators.

Top-level API::

    import qnncc
    model = qnncc.load("model.onnx")
    out = qnncc.execute(model, {"global_in": x})
"""

from qnncc.core import (
    DataType,
    ModelWrapper,
    Pipeline,
    QnnccError,
    Transformation,
)
from qnncc.execution import Executor, execute
from qnncc.ingest import load

__version__ = "0.1.0"

__all__ = [
    "DataType",
    "Executor",
    "ModelWrapper",
    "Pipeline",
    "QnnccError",
    "Transformation",
    "__version__",
    "execute",
    "load",
]
