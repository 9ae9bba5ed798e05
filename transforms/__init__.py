"""Graph passes of qnncc, importable by name: ``from qnncc.transforms import InferShapes``.

Subpackages: :mod:`.qonnx` (QONNX to FINN form), :mod:`.streamline`
(streamlining), :mod:`.lower` (Im2Col/MatMul lowering, NHWC, XNOR-popcount);
their passes are re-exported here.

Every pass is a :class:`qnncc.Transformation`; apply it with
``model = model.transform(Pass())`` (in place, see :class:`qnncc.ModelWrapper`).

Tidy passes (FINN/QONNX names and behaviour): :class:`InferShapes`,
:class:`InferDataTypes`, :class:`FoldConstants`, :class:`GiveUniqueNodeNames`,
:class:`GiveReadableTensorNames`, :class:`RemoveStaticGraphInputs`,
:class:`RemoveIdentityOps`, :class:`RemoveUnusedTensors`, :class:`SortGraph`;
:func:`tidy_passes` lists them in the usual order and :class:`Tidy` runs them.
"""

from .fold_constants import FoldConstants
from .identity import RemoveIdentityOps
from .infer import InferDataTypes, InferShapes
from .naming import GiveReadableTensorNames, GiveUniqueNodeNames
from .remove import RemoveStaticGraphInputs, RemoveUnusedTensors
from .sort import SortGraph
from .tidy import Tidy, tidy_passes

# isort: split
from . import lower, qonnx, streamline
from .lower import *  # noqa: F403
from .qonnx import *  # noqa: F403
from .streamline import *  # noqa: F403

__all__ = [
    "FoldConstants",
    "GiveReadableTensorNames",
    "GiveUniqueNodeNames",
    "InferDataTypes",
    "InferShapes",
    "RemoveIdentityOps",
    "RemoveStaticGraphInputs",
    "RemoveUnusedTensors",
    "SortGraph",
    "Tidy",
    "tidy_passes",
    *lower.__all__,
    *qonnx.__all__,
    *streamline.__all__,
]
