"""Lowering passes: convolutions to Im2Col + MatMul, NHWC layouts, XNOR-popcount.

The FINN/QONNX passes that prepare a streamlined graph for HW conversion,
under the names FINN users know:

* :class:`LowerConvsToMatMul`: ``Conv`` -> ``Transpose, Im2Col, MatMul, Transpose``
  (depthwise convolutions with a block-sparse weight matrix);
* :class:`InferDataLayouts`: ``NCHW``/``NHWC``/``NC``/... annotations;
* :class:`MakeMaxPoolNHWC`: ``MaxPool`` next to transposes -> ``MaxPoolNHWC``;
* :class:`AbsorbTransposeIntoMultiThreshold`: ``MultiThreshold`` in NHWC;
* :class:`MoveTransposeBeforeMultiThreshold`: ``MultiThreshold -> Transpose(NCHW->NHWC)``
  becomes ``Transpose -> MultiThreshold`` in NHWC (e.g. the input quantizer);
* :class:`MoveTransposePastJoinAdd`: equal transposes on both inputs of an ``Add``
  move past it (residual joins);
* :class:`MergeParallelTransposes`: equal transposes of one tensor become one;
* :class:`RemoveConsecutiveTransposes`: transpose pairs that cancel;
* :class:`ConvertBipolarMatMulToXnorPopcount`: bipolar ``MatMul`` ->
  ``XnorPopcountMatMul`` on binary encodings.

Typical order after streamlining::

    model = model.transform(LowerConvsToMatMul())
    model = model.transform(MakeMaxPoolNHWC())
    model = model.transform(AbsorbTransposeIntoMultiThreshold())
    model = model.transform(RemoveConsecutiveTransposes())
    model = model.transform(InferDataLayouts())
"""

from .conv import LowerConvsToMatMul
from .flatten import (
    AbsorbTransposeIntoFlatten,
    CollapseConsecutiveReshapes,
    ConvertToNHWC,
    TransposeToReshape,
    channels_last_passes,
    reshape_cleanup_passes,
)
from .layouts import InferDataLayouts
from .nhwc import (
    AbsorbTransposeIntoMultiThreshold,
    MakeMaxPoolNHWC,
    MoveTransposeBeforeMultiThreshold,
    RemoveConsecutiveTransposes,
)
from .transpose_joins import MergeParallelTransposes, MoveTransposePastJoinAdd
from .xnor import ConvertBipolarMatMulToXnorPopcount

__all__ = [
    "AbsorbTransposeIntoFlatten",
    "CollapseConsecutiveReshapes",
    "ConvertToNHWC",
    "TransposeToReshape",
    "AbsorbTransposeIntoMultiThreshold",
    "ConvertBipolarMatMulToXnorPopcount",
    "InferDataLayouts",
    "LowerConvsToMatMul",
    "MakeMaxPoolNHWC",
    "MergeParallelTransposes",
    "MoveTransposeBeforeMultiThreshold",
    "MoveTransposePastJoinAdd",
    "RemoveConsecutiveTransposes",
    "channels_last_passes",
    "reshape_cleanup_passes",
]
