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
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.sim.patterns import Program, frame_words, program_from_runs

from ._util import PassThroughType, identity_stand_in, parse_datatype, positive, stream_attributes
from .base import ChannelwiseLayer


class DuplicateStreams(PassThroughType, ChannelwiseLayer):
    """Fork; input ``x [..., C]``, ``NumOutputStreams`` outputs equal to ``x``."""

    op_type = "DuplicateStreams"
    finn_legacy_names = ("DuplicateStreams_Batch",)
    finn_impl_styles = ("hls",)
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


def duplicate_streams_program(layer: HWLayer, lat: int) -> Program:
    """DuplicateStreams: one word read and written to every output per iteration."""
    n_out = layer.num_output_streams()
    return program_from_runs([(1, (1 << n_out) - 1, frame_words(layer))], 1, n_out, lat)


def estimate_duplicate_streams(a: Attrs) -> LayerEstimate:
    """DuplicateStreams: copy one stream to ``NumOutputStreams`` outputs.

    Cycles: ``NumChannels/PE * prod(numInputVectors)`` (FINN
    ``duplicatestreams.py`` ``get_exp_cycles``). FINN has no resource
    estimate; qnncc's model: an output register per stream
    (``n * PE * bits`` FFs) and ``2 * n`` LUTs of handshake logic.
    """
    ch, pe = a.get_int("NumChannels"), a.get_int("PE")
    fold = a.divides("PE", pe, "NumChannels", ch)
    n_out = a.get_int("NumOutputStreams", 2)
    cycles = fold * prod(a.get_ints("numInputVectors", [1]))
    width = pe * a.get_dtype("inputDataType").bitwidth()
    return layer_from_modules(cycles, [ModuleEstimate("fork", cycles=cycles, lut=2 * n_out, ff=n_out * width)])


def duplicate_streams_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_dup`` (output registers of every copy) for the fitted resource model."""
    n = int(a.get("NumOutputStreams", 2))
    return {"const": 1.0, "width": float(int(a["PE"]) * fit.bits(a["inputDataType"]) * n)}


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    DuplicateStreams,
    lambda a, be, sp, part: estimate_duplicate_streams(a),
    duplicate_streams_program,
    1,
    (f"{TRANSFORMS_HW}:InferDuplicateStreamsLayer",),
    f"{CODEGEN_HLS}.duplicatestreams:duplicate_streams_code",
    "streams.hpp",
    rtl=f"{CODEGEN_RTL}.duplicatestreams:duplicate_streams_rtl",
    rtl_core="qnncc_dup.v",
    fit_features=duplicate_streams_fit_features,
)
