"""qnncc: a quantized-neural-network compiler for FPGA streaming dataflow accelerators.

Top-level API::

    import qnncc
    model = qnncc.load("model.onnx")
    out = qnncc.execute(model, {"global_in": x})
    result = qnncc.build("model.onnx", qnncc.BuildConfig(output_dir="build", board="Pynq-Z1"))

``qnncc.build`` is the build function (the module is ``qnncc.build`` in
``sys.modules``: ``from qnncc.build import BuildResult`` works as usual).
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

# after the imports above: binds the name ``build`` to the function, not the submodule
from qnncc.build import BuildConfig, BuildResult, build  # isort: skip

from qnncc.version import __version__

__all__ = [
    "BuildConfig",
    "BuildResult",
    "DataType",
    "Executor",
    "ModelWrapper",
    "Pipeline",
    "QnnccError",
    "Transformation",
    "__version__",
    "build",
    "execute",
    "load",
]
