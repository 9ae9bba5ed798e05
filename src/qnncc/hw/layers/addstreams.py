"""AddStreams: elementwise sum of two streams (FINN ``AddStreams``).

Semantics (FINN): ``y = a + b`` for two inputs of shape
``numInputVectors + [NumChannels]``, e.g. the two branches of a residual
block. Input datatypes: FINN's single ``inputDataType`` for both inputs, or
``inputDataTypes = [dt_a, dt_b]`` when they differ (one of the two must be
set). The output datatype is the smallest integer type holding
``[min_a + min_b, max_a + max_b]`` (FINN's ``2*min``/``2*max`` rule when the
types are equal).

Folding: ``PE`` channels per word on all three streams (``PE`` divides
``NumChannels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, QnnccError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext, float_type

from ._util import positive, stream_attributes
from .base import ChannelwiseLayer


class AddStreams(ChannelwiseLayer):
    """Sum of two streams; inputs ``(a, b)`` of shape ``[..., C]``, output ``[..., C]``."""

    op_type = "AddStreams"
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"inputDataType": AttrSpec("s", default=""), "inputDataTypes": AttrSpec("strings", default=[])},
        NumChannels=AttrSpec("i", required=True),
        PE=AttrSpec("i", default=1),
        numInputVectors=AttrSpec("ints", default=[1]),
        inFIFODepths=AttrSpec("ints", default=[2, 2]),
    )
    num_inputs = (2,)
    num_outputs = (1,)

    def _datatype_names(self) -> list[str]:
        listed = [v.decode() if isinstance(v, bytes) else str(v) for v in self.attrs["inputDataTypes"]]
        single = self.attrs["inputDataType"]
        if bool(listed) == bool(single) or (listed and len(listed) != 2):
            raise UnsupportedOpError(
                f"{self.describe()}: set either inputDataType or inputDataTypes (two names), "
                f"got {single!r} and {listed}"
            )
        return listed or [single, single]

    @override
    def validate(self) -> None:
        positive(self, "NumChannels")
        for name in self._datatype_names():
            try:
                DataType.from_name(name)
            except QnnccError:
                raise UnsupportedOpError(f"{self.describe()}: {name!r} is not a datatype") from None
        super().validate()

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return DataType.from_name(self._datatype_names()[index])

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        a, b = self.input_datatype(0), self.input_datatype(1)
        return DataType.smallest_for_range(a.min() + b.min(), a.max() + b.max())

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        ft = float_type(*inputs)
        a, b = np.asarray(inputs[0], ft), np.asarray(inputs[1], ft)
        if a.shape != b.shape:
            raise ExecutionError(f"{self.describe()}: inputs of shapes {list(a.shape)} and {list(b.shape)} differ")
        return [a + b]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        ctx.op("Add", list(self.node.input), self.node.output[0])
