"""StreamingDataWidthConverter: regroup a stream into wider or narrower words (FINN name).

Semantics (FINN ``StreamingDataWidthConverter``): the identity on the data.
The input ``[..., C]`` (``in_shape``) arrives in words of ``inWidth`` bits,
i.e. ``inWidth / bits(dataType)`` elements, and leaves in words of
``outWidth`` bits; ``out_shape`` is the consumer's shape (same number of
elements; the output is the input reshaped to it, batch kept).

Legal widths: multiples of the element width whose element counts divide the
last dimension of their shape. qnncc's ``hls`` implementation
(``hls_templates/include/qnncc/dwc.hpp``) converts between any two such
widths (finn-hlslib's needs one to be a multiple of the other).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.sim.patterns import Program, program_from_runs

from ._util import PassThroughType, parse_datatype, stream_attributes
from .base import divisors


class StreamingDataWidthConverter(PassThroughType):
    """Width converter; input ``in_shape``, output ``out_shape`` (same values)."""

    datatype_attr = "dataType"

    op_type = "StreamingDataWidthConverter"
    finn_legacy_names = ("StreamingDataWidthConverter_Batch",)
    finn_impl_styles = ("hls", "rtl")
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"dataType": AttrSpec("s", required=True)},
        in_shape=AttrSpec("ints", required=True),
        out_shape=AttrSpec("ints", required=True),
        inWidth=AttrSpec("i", required=True),
        outWidth=AttrSpec("i", required=True),
        impl_style=AttrSpec("s", default="hls", allowed=frozenset({"hls", "vivado", "rtl"})),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    def _shape(self, name: str) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self.attrs[name])
        if not shape or min(shape) < 1:
            raise UnsupportedOpError(f"{self.describe()}: {name}={list(shape)} is not a shape")
        return shape

    @override
    def validate(self) -> None:
        parse_datatype(self, "dataType")
        ishape, oshape = self._shape("in_shape"), self._shape("out_shape")
        if math.prod(ishape) != math.prod(oshape):
            raise UnsupportedOpError(f"{self.describe()}: in_shape {list(ishape)} and out_shape {list(oshape)} differ")
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        """Words of any divisor of the elements per frame (words of several vectors: ``MMV > 1`` neighbours)."""
        bits = self.input_datatype().bitwidth()
        return {
            "inWidth": [d * bits for d in divisors(math.prod(self._shape("in_shape")[1:]))],
            "outWidth": [d * bits for d in divisors(math.prod(self._shape("out_shape")[1:]))],
        }

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape("in_shape")

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._shape("out_shape")

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["inWidth"]) // self.input_datatype().bitwidth()

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["outWidth"]) // self.output_datatype().bitwidth()

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        tail = self._shape("out_shape")[1:]
        if x.ndim == 0 or x.size != x.shape[0] * math.prod(tail):
            raise ExecutionError(f"{self.describe()}: input of shape {list(x.shape)} does not fit {list(tail)}")
        return [x.reshape(x.shape[0], *tail).copy()]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, out = self.node.input[0], self.node.output[0]
        if self._shape("in_shape") == self._shape("out_shape"):
            ctx.op("Identity", [x], out)
        else:
            ctx.op("Reshape", [x, ctx.const([-1, *self._shape("out_shape")[1:]], np.int64, "shape")], out)


def dwc_program(layer: HWLayer, lat: int) -> Program:
    """StreamingDataWidthConverter: reads and writes interleaved by the in/out word ratio (``dwc.hpp``)."""
    i, o = layer.input_elems_per_word(), layer.output_elems_per_word()
    elems = math.prod(int(d) for d in layer.normal_input_shape()[1:])
    period = math.lcm(i, o)
    runs: list[tuple[int, int, int]] = []
    have = written = 0
    while written < period // o:  # dwc.hpp, one period of lcm(I, O) elements (have returns to 0)
        read = have < o
        if read:
            have += i
        write = have >= o
        if write:
            have -= o
            written += 1
        runs.append((int(read), int(write), 1))
    return program_from_runs(runs, 1, 1, lat, elems // period)


def estimate_dwc(a: Attrs) -> LayerEstimate:
    """StreamingDataWidthConverter: repack a stream from ``inWidth`` to ``outWidth`` bits.

    Cycles: ``max(input words, output words)`` per frame, words = elements *
    bits / width (one word per cycle on each side; FINN's DWC has no
    ``get_exp_cycles`` and reports 0). Latency: one intermediate word is
    filled and drained, ``lcm/inWidth + lcm/outWidth`` cycles.

    LUTs (FINN ``streamingdatawidthconverter.py`` ``lut_estimation``):
    shift-register model through an intermediate ``lcm(in, out)``-bit word,
    ``|ceil(log2(in/lcm))| + |ceil(log2(lcm/out))|`` counter LUTs plus the
    control-set LUTs of the widths that differ from ``lcm``.
    """
    in_w, out_w = a.get_int("inWidth"), a.get_int("outWidth")
    dtype = a.get_dtype("dataType") if a.has("dataType") else a.get_dtype("inputDataType")
    bits = dtype.bitwidth()
    in_shape = a.get_ints("in_shape") if a.has("in_shape") else a.get_ints("shape")
    out_shape = a.get_ints("out_shape", in_shape)
    if prod(in_shape) != prod(out_shape):
        raise a.error(f"in_shape {list(in_shape)} and out_shape {list(out_shape)} hold different element counts")
    if in_w % bits or out_w % bits:
        raise a.error(f"inWidth={in_w} and outWidth={out_w} must be multiples of the {bits}-bit {dtype} element")
    total_bits = prod(in_shape) * bits
    in_words, out_words = math.ceil(total_bits / in_w), math.ceil(total_bits / out_w)
    lcm = math.lcm(in_w, out_w)
    cnt_luts = cset_luts = 0
    if in_w != lcm:
        cnt_luts += abs(math.ceil(math.log2(in_w / lcm)))
        cset_luts += lcm
    if lcm != out_w:
        cnt_luts += abs(math.ceil(math.log2(lcm / out_w)))
        cset_luts += out_w
    cycles = max(in_words, out_words)
    module = ModuleEstimate("width_converter", cycles=cycles, lut=cnt_luts + cset_luts, ff=lcm + in_w + out_w)
    return layer_from_modules(cycles, [module], latency_cycles=lcm // in_w + lcm // out_w)


def dwc_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_dwc`` for the fitted model.

    Port widths; the k:1 output multiplexer of a narrowing converter (``i = k*o``; a widening one
    is a shift register without data multiplexers); the shifter buffer of any other ratio.
    """
    i, o = int(a["inWidth"]), int(a["outWidth"])
    general = i % o != 0 and o % i != 0
    return {
        "const": 1.0,
        "in_out": float(i + o),
        "narrow_mux": float(o * (i // o - 1)) if i % o == 0 else 0.0,
        "buffer": float(max(i, o) + math.lcm(i, o)) if general else 0.0,
    }


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    StreamingDataWidthConverter,
    lambda a, be, sp, part: estimate_dwc(a),
    dwc_program,
    1,
    (),
    f"{CODEGEN_HLS}.streamingdatawidthconverter:dwc_code",
    "dwc.hpp",
    inserted_by=f"{TRANSFORMS_HW}:InsertDWC",
    rtl=f"{CODEGEN_RTL}.streamingdatawidthconverter:dwc_rtl",
    rtl_core="qnncc_dwc.v",
    fit_features=dwc_fit_features,
)
