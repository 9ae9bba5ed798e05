"""Thresholding: per-channel multi-thresholding of a stream (FINN ``Thresholding``).

``y[..., c] = #{k : x[..., c] >= T[c, k]} + ActVal`` (``2n - 1`` for a BIPOLAR
output), with ``PE`` channels per cycle: ``NumChannels/PE · ∏numInputVectors``
cycles per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.custom_op.base import AttrSpec, LoweringContext

from .base import ChannelwiseLayer, hw_attributes
from .mvau import MEM_MODES, lower_activation, threshold_activation


class Thresholding(ChannelwiseLayer):
    """Thresholding layer; inputs ``(x [..., C], T [C or 1, numSteps])``."""

    op_type = "Thresholding"
    attributes: ClassVar[dict[str, AttrSpec]] = hw_attributes(
        NumChannels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        numSteps=AttrSpec("i", required=True),
        weightDataType=AttrSpec("s", required=True),
        ActVal=AttrSpec("i", default=0),
        numInputVectors=AttrSpec("ints", default=[1]),
        mem_mode=AttrSpec("s", default="internal_embedded", allowed=MEM_MODES),
        ram_style=AttrSpec("s", default="distributed", allowed=frozenset({"auto", "block", "distributed"})),
        runtime_writeable_weights=AttrSpec("i", default=0, allowed=frozenset({0, 1})),
    )
    num_inputs = (2,)
    num_outputs = (1,)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [threshold_activation(self, np.asarray(inputs[0]), inputs[1])]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        lower_activation(self, ctx, self.node.input[0], len(self.normal_input_shape()), 1)
