"""DuplicateStreams: copy one stream to several consumers (FINN ``DuplicateStreams``).

Semantics (FINN): each of the ``NumOutputStreams`` outputs equals the input
``x`` (shape ``numInputVectors + [NumChannels]``, datatype ``inputDataType``).
A stream can be read only once, so a tensor read by several HW layers (the
fork of a residual block) goes through this layer.

Folding: ``PE`` channels per word on every stream (``PE`` divides
``NumChannels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import onnx
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext

from ._util import PassThroughType, identity_stand_in, parse_datatype, positive, stream_attributes
from .base import ChannelwiseLayer


class DuplicateStreams(PassThroughType, ChannelwiseLayer):
    """Fork; input ``x [..., C]``, ``NumOutputStreams`` outputs equal to ``x``."""

    op_type = "DuplicateStreams"
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"inputDataType": AttrSpec("s", required=True)},
        NumChannels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        NumOutputStreams=AttrSpec("i", default=2),
        numInputVectors=AttrSpec("ints", default=[1]),
        outFIFODepths=AttrSpec("ints", default=[2, 2]),
    )
    num_inputs = (1,)

    @override
    def validate(self) -> None:
        positive(self, "NumChannels")
        parse_datatype(self, "inputDataType")
        streams = int(self.attrs["NumOutputStreams"])
        if streams < 2 or len(self.node.output) != streams:
            raise UnsupportedOpError(
                f"{self.describe()}: NumOutputStreams={streams} must be >= 2 and equal the "
                f"number of outputs ({len(self.node.output)})"
            )
        super().validate()

    @override
    def num_output_streams(self) -> int:
        return int(self.attrs["NumOutputStreams"])

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        """An ``If`` copying the input to every output (see :func:`._util.identity_stand_in`)."""
        return identity_stand_in(self.node, self.node.output)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        return [x.copy() for _ in self.node.output]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        for out in self.node.output:
            ctx.op("Identity", [self.node.input[0]], out)
