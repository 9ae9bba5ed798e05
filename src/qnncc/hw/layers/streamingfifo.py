"""StreamingFIFO: a FIFO buffer between two layers (FINN ``StreamingFIFO``).

Semantics (FINN): the identity on the data. ``normal_shape`` is the tensor
shape, ``folded_shape`` the same tensor as ``[..., words, elems_per_word]``
(the producer's folded output shape; ``[N, words, elems_per_word]`` when a
word spans several vectors, ``MMV > 1``), so a word carries
``folded_shape[-1]`` elements of ``dataType``; ``depth`` is the capacity in
words. ``impl_style`` ``rtl`` (finn-rtllib ``Q_srl``) or ``vivado`` (AXI-Stream
FIFO IP); ``ram_style`` as FINN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.descriptor import CODEGEN_HLS, CODEGEN_RTL, TRANSFORMS_HW, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.perf.fitted import terms as fit
from qnncc.hw.perf.memory import BRAM18_BITS, MEM_PRIMITIVES, URAM_BITS, best_primitive, bram18_finn_r, uram_blocks

from ._util import BINARY_FLAG, RAM_STYLES, PassThroughType, parse_datatype, positive, stream_attributes


class StreamingFIFO(PassThroughType):
    """FIFO; one input, one output, both ``normal_shape``."""

    datatype_attr = "dataType"

    op_type = "StreamingFIFO"
    finn_legacy_names = ()
    finn_impl_styles = ("rtl",)
    attributes: ClassVar[dict[str, AttrSpec]] = stream_attributes(
        {"dataType": AttrSpec("s", required=True)},
        depth=AttrSpec("i", required=True),
        folded_shape=AttrSpec("ints", required=True),
        normal_shape=AttrSpec("ints", required=True),
        ram_style=AttrSpec("s", default="auto", allowed=RAM_STYLES),
        impl_style=AttrSpec("s", default="rtl", allowed=frozenset({"rtl", "vivado"})),
        depth_monitor=AttrSpec("i", default=0, allowed=BINARY_FLAG),
    )
    num_inputs = (1,)
    num_outputs = (1,)

    @override
    def validate(self) -> None:
        positive(self, "depth")
        parse_datatype(self, "dataType")
        normal = [int(d) for d in self.attrs["normal_shape"]]
        folded = [int(d) for d in self.attrs["folded_shape"]]
        split = len(folded) == len(normal) + 1 and folded[:-2] == normal[:-1] and folded[-2] * folded[-1] == normal[-1]
        # words spanning several vectors (MMV > 1): [N, words, elems_per_word]
        spanning = len(folded) == 3 and folded[0] == normal[0] and folded[1] * folded[2] == math.prod(normal[1:])
        if not normal or min(normal + folded) < 1 or not (split or spanning):
            raise UnsupportedOpError(
                f"{self.describe()}: folded_shape {folded} is not normal_shape {normal} with its last axis split"
                " (or [N, words, elems_per_word])"
            )
        super().validate()

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return tuple(int(d) for d in self.attrs["normal_shape"])

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self.normal_input_shape()

    @override
    def input_elems_per_word(self, index: int = 0) -> int:
        return int(self.attrs["folded_shape"][-1])

    @override
    def output_elems_per_word(self, index: int = 0) -> int:
        return self.input_elems_per_word()

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(inputs[0]).copy()]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        ctx.op("Identity", [self.node.input[0]], self.node.output[0])


#: Deepest FIFO built from shift registers (FINN's ``max_qsrl_depth``).
MAX_SRL_DEPTH = 256
#: Largest FIFO (depth x width bits) kept in LUTs: half a RAMB18 (18 Kbit), about 288 SRL32/LUTRAM LUTs.
MAX_LUT_BITS = 9216


def fifo_style(
    depth: int, width: int, max_srl_depth: int = MAX_SRL_DEPTH, max_lut_bits: int = MAX_LUT_BITS
) -> tuple[str, str]:
    """``(impl_style, ram_style)`` of a FIFO of ``depth`` words of ``width`` bits.

    The rule, on the storage ``bits = depth * width``:

    * ``bits <= max_lut_bits`` and ``depth <= max_srl_depth``: ``("rtl",
      "distributed")``, a shift-register FIFO (finn-rtllib ``Q_srl``, SRL32
      LUTs; the stitched ``axis_data_fifo`` gets LUT memory);
    * ``bits <= max_lut_bits`` but deeper: ``("vivado", "distributed")``,
      LUTRAM (a narrow deep FIFO fills a fraction of a BRAM);
    * larger: ``("vivado", "block")``, block RAM.

    Args:
        depth: capacity in words.
        width: bits per word.
        max_srl_depth: deepest shift-register FIFO.
        max_lut_bits: largest storage kept in LUTs.
    """
    bits = depth * width
    if bits <= max_lut_bits:
        return ("rtl", "distributed") if depth <= max_srl_depth else ("vivado", "distributed")
    return "vivado", "block"


FIFO_LATENCY_CYCLES = 2  # pipeline depth of a streaming FIFO (write to first read)


def estimate_fifo(a: Attrs) -> LayerEstimate:
    """StreamingFIFO of ``depth`` words of ``folded_shape[-1] * bits`` bits.

    Cycles: words per frame, ``prod(folded_shape[:-1])`` (a FIFO passes one
    word per cycle; FINN reports 0); latency :data:`FIFO_LATENCY_CYCLES`.

    Resources (FINN ``streamingfifo.py``): ``impl_style == "vivado"`` rounds
    the depth up to a power of two (``get_adjusted_depth``); BRAM
    :func:`bram18_finn_r` for ``vivado`` + ``block``; URAM
    ``ceil(depth/4096) * ceil(W/72)`` for ``vivado`` + ``ultra``; LUT
    ``2*ceil(log2(depth))`` address logic plus ``ceil(depth/32) * ceil(W/2)``
    for ``rtl`` (SRL) or ``vivado`` + ``distributed``. Deliberate difference:
    for ``vivado`` + ``auto`` FINN counts no storage at all; qnncc takes the
    least wasteful BRAM18/LUTRAM primitive.
    """
    depth = a.get_int("depth", minimum=1)
    folded = a.get_ints("folded_shape")
    if not folded:
        raise a.error("attribute 'folded_shape' must not be empty")
    dtype = a.get_dtype("dataType") if a.has("dataType") else a.get_dtype("inputDataType")
    width = folded[-1] * dtype.bitwidth()
    impl = a.get_str("impl_style", "rtl", choices=("rtl", "vivado"))
    style = a.get_str("ram_style", "auto", choices=("auto", "block", "distributed", "ultra"))
    if impl == "vivado":
        depth = 1 << (depth - 1).bit_length()
        if style == "auto":
            allowed = {k: v for k, v in MEM_PRIMITIVES.items() if not k.startswith("URAM")}
            style = "block" if best_primitive(width, depth, allowed)[0] == "BRAM18" else "distributed"
    address = 2 * ceil_log2(depth)
    bram = uram = ram_luts = 0
    if impl == "rtl" or style == "distributed":
        ram_luts = math.ceil(depth / 32) * math.ceil(width / 2)
    elif style == "block":
        bram = bram18_finn_r(width, depth)
    else:
        uram = uram_blocks(width, depth)
    words = prod(folded[:-1])
    module = ModuleEstimate("fifo", cycles=words, lut=address + ram_luts, ff=address + width, bram_18k=bram, uram=uram)
    return layer_from_modules(
        words,
        [module],
        latency_cycles=FIFO_LATENCY_CYCLES,
        bram_efficiency=width * depth / (bram * BRAM18_BITS) if bram else 1.0,
        uram_efficiency=width * depth / (uram * URAM_BITS) if uram else 1.0,
    )


def fifo_fit_features(a: fit.Attrs) -> dict[str, float]:
    """Cost terms of ``qnncc_fifo`` (width, LUT-held storage of small or distributed FIFOs, addresses)."""
    width = int(a["folded_shape"][-1]) * fit.bits(a["dataType"])
    depth = int(a["depth"])
    in_luts = fit.distributed(a) or depth <= 64  # small FIFOs and distributed ones live in LUT RAM
    return {
        "const": 1.0,
        "width": float(width),
        "mem_lut": fit.lutmem(width, depth) if in_luts else 0.0,
        "addr": fit.clog2(depth),
    }


#: Every facet of the layer (collected by :mod:`qnncc.hw.registry`).
DESCRIPTOR = LayerDescriptor(
    StreamingFIFO,
    lambda a, be, sp, part: estimate_fifo(a),
    None,
    0,
    (),
    f"{CODEGEN_HLS}.streamingfifo:fifo_code",
    "fifo.hpp",
    inserted_by=f"{TRANSFORMS_HW}:InsertFIFO",
    no_program="the simulator models a FIFO as the capacity of the stream it sits on",
    rtl=f"{CODEGEN_RTL}.streamingfifo:fifo_rtl",
    rtl_core="qnncc_fifo.v",
    fit_features=fifo_fit_features,
)
