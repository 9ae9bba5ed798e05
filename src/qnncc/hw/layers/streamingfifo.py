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

from ._util import BINARY_FLAG, RAM_STYLES, PassThroughType, parse_datatype, positive, stream_attributes


class StreamingFIFO(PassThroughType):
    """FIFO; one input, one output, both ``normal_shape``."""

    datatype_attr = "dataType"

    op_type = "StreamingFIFO"
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
