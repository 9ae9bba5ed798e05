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
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.sim.patterns import Program, frame_words, program_from_runs

from ._util import positive, stream_attributes
from .base import ChannelwiseLayer


class AddStreams(ChannelwiseLayer):
    """Sum of two streams; inputs ``(a, b)`` of shape ``[..., C]``, output ``[..., C]``."""

    op_type = "AddStreams"
    finn_legacy_names = ("AddStreams_Batch",)
    finn_impl_styles = ("hls",)
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


def add_streams_program(layer: HWLayer, lat: int) -> Program:
    """AddStreams: one word read from both inputs and one written per iteration."""
    return program_from_runs([(3, 1, frame_words(layer))], 2, 1, lat)


def estimate_add_streams(a: Attrs) -> LayerEstimate:
    """AddStreams: element-wise sum of two streams.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN ``addstreams.py``
    ``get_exp_cycles``). FINN has no resource estimate; qnncc's model: ``PE``
    adders of ``max(in bits) + 1`` bits (one LUT per sum bit on the carry
    chain) and an output register.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    listed = list(a.get_dtypes("inputDataTypes")) if a.has("inputDataTypes") else []
    if listed:  # the layer's defaults list an empty inputDataTypes when inputDataType is set
        dtypes = listed
        if len(dtypes) != 2:
            raise a.error(f"attribute 'inputDataTypes' must list 2 datatypes, got {len(dtypes)}")
    else:
        dtypes = [a.get_dtype("inputDataType")] * 2
    sum_bits = max(dt.bitwidth() for dt in dtypes) + 1
    modules = [
        ModuleEstimate("adders", cycles=cycles, lut=pe * sum_bits, ff=pe * sum_bits),
        ModuleEstimate("control", cycles=cycles, lut=2 * ceil_log2(fold), ff=ceil_log2(fold)),
    ]
    return layer_from_modules(cycles, modules)


def add_streams_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_add`` (PE adders) for the fitted resource model."""
    return {"const": 1.0, "width": float(int(a["PE"]) * (fit.bits(str(a.get("inputDataType", "INT8"))) + 1))}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    AddStreams,
    lambda a, be, sp, part: estimate_add_streams(a),
    add_streams_program,
    2,
    (f"{TRANSFORMS_HW}:InferAddStreamsLayer",),
    f"{CODEGEN_HLS}.addstreams:add_streams_code",
    "streams.hpp",
    rtl=f"{CODEGEN_RTL}.addstreams:add_streams_rtl",
    rtl_core="qnncc_add.v",
    fit_features=add_streams_fit_features,
)
