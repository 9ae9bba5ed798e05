"""qnncc: a quantized-neural-network compiler for FPGA streaming dataflow accelerators.

Top-level API::

    import qnncc
    model = qnncc.load("model.onnx")
    out = qnncc.execute(model, {"global_in": x})
    result = qnncc.build("model.onnx", qnncc.BuildConfig(output_dir="build", board="Pynq-Z1"))

``qnncc.build`` is the build function (the module is ``qnncc.build`` in
``sys.modules``: ``from qnncc.build import BuildResult`` works as usual).
The names load on first use (PEP 562), so ``import qnncc.cli`` (``qnncc --help``)
does not import onnx, onnxruntime and numpy.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from qnncc.core.errors import QnnccError
from qnncc.version import __version__

if TYPE_CHECKING:
    from qnncc.build import BuildConfig, BuildResult, build
    from qnncc.core import DataType, ModelWrapper, Pipeline, Transformation
    from qnncc.execution import Executor, execute
    from qnncc.ingest import load

#: Names loaded on first use, by module.
_LAZY = {
    "DataType": "qnncc.core",
    "ModelWrapper": "qnncc.core",
    "Pipeline": "qnncc.core",
    "Transformation": "qnncc.core",
    "Executor": "qnncc.execution",
    "execute": "qnncc.execution",
    "load": "qnncc.ingest",
    "BuildConfig": "qnncc.build",
    "BuildResult": "qnncc.build",
    "build": "qnncc.build",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        setattr(sys.modules[__name__], name, value)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """The package module: importing the submodule ``qnncc.build`` keeps ``qnncc.build`` the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "build" and isinstance(value, types.ModuleType):
            value = value.build
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
