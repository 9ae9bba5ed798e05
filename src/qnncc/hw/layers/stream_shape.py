"""finn-plus's shape-only HW ops: ``Squeeze``, ``Unsqueeze`` and ``Reshape`` on a stream.

Semantics (finn-plus ``src/finn/custom_op/fpgadataflow/{squeeze,unsqueeze,reshape}.py``):
the output holds the input's elements in the same row-major order under the shape
``out_shape`` (``Squeeze``/``Unsqueeze`` drop/insert the size-1 ``axes``; ``Reshape`` any
shape of the same size). Attributes: ``inp_shape``, ``out_shape``; ``inp_dtype``/``out_dtype``
(``Squeeze``, ``Unsqueeze``) or ``dtype`` (``Reshape``); ``PE``.

Folding (FINN): ``PE`` elements per word on both streams, ``PE`` dividing the last axis of
the input and of the output. The element order is unchanged and a word is ``PE``
consecutive elements on both sides, so the hardware passes each word through
(``qnncc::stream_copy`` in ``reshape.hpp``): one word per cycle,
``prod(out_shape[:-1]) * out_shape[-1] / PE`` cycles (FINN ``get_exp_cycles``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import onnx
from onnx import helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.descriptor import CODEGEN_HLS, FINN_IMPORT, Estimator, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, layer_from_modules, prod
from qnncc.hw.sim.patterns import Program, program_from_runs

from .base import HWLayer, divisors
from .elementwise_binary import NO_RTL_FINN_PLUS, datatype_attr

__all__ = ["FinnReshape", "FinnSqueeze", "FinnUnsqueeze", "StreamShapeOp"]


class StreamShapeOp(HWLayer):
    """A HW op that reinterprets a stream's shape (``inp_shape`` -> ``out_shape``, same elements in order)."""

    folding_attrs = ("PE",)
    finn_impl_styles = ("hls", "rtl")
    num_inputs: ClassVar[tuple[int, ...] | None] = (1,)
    num_outputs = (1,)
    #: Attributes naming the input and the output datatype.
    dtype_attrs: ClassVar[tuple[str, str]] = ("inp_dtype", "out_dtype")

    def _shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in self.attrs[name])

    @override
    def validate(self) -> None:
        for name in self.dtype_attrs:
            datatype_attr(self, name)
        inp, out = self._shape("inp_shape"), self._shape("out_shape")
        if inp and out and math.prod(inp) != math.prod(out):
            raise UnsupportedOpError(
                f"{self.describe()}: inp_shape {list(inp)} and out_shape {list(out)} hold different element counts"
            )
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        inp, out = self._shape("inp_shape"), self._shape("out_shape")
        if not (inp and out):
            return {"PE": [1]}
        return {"PE": divisors(math.gcd(inp[-1], out[-1]))}

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return datatype_attr(self, self.dtype_attrs[0])

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        return datatype_attr(self, self.dtype_attrs[1])

    def _required_shape(self, name: str) -> tuple[int, ...]:
        shape = self._shape(name)
        if not shape:
            raise UnsupportedOpError(f"{self.describe()}: attribute {name} is missing")
        return shape

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._required_shape("inp_shape")

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._required_shape("out_shape")

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("RandomNormal", [], [self.node.output[0]], shape=list(self.normal_output_shape()))

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [self.output_datatype()]


class _AxesOp(StreamShapeOp):
    """finn-plus ``Squeeze``/``Unsqueeze``: the ``axes`` attribute, or a constant second input when it is unset."""

    num_inputs = (1, 2)
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "axes": AttrSpec("ints", default=[]),
        "inp_dtype": AttrSpec("s", default="FLOAT32"),
        "out_dtype": AttrSpec("s", default="FLOAT32"),
        "inp_shape": AttrSpec("ints", default=[]),
        "out_shape": AttrSpec("ints", default=[]),
        "PE": AttrSpec("i", default=1),
    }

    def _axes(self, rank: int, given: np.ndarray | None = None) -> list[int]:
        axes = self.attrs["axes"] or ([] if given is None else np.asarray(given).ravel().tolist())
        return sorted(int(a) % rank for a in axes)

    def _axes_input(self, inputs: Sequence[np.ndarray]) -> np.ndarray | None:
        return np.asarray(inputs[1]) if len(inputs) > 1 and not self.attrs["axes"] else None

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, out = self.node.input[0], self.node.output[0]
        rank = ctx.ranks.get(x)
        if rank is None:
            raise UnsupportedOpError(f"{self.describe()}: rank of {x!r} unknown; run InferShapes first")
        given = ctx.require_const(self, 1, "axes") if len(self.node.input) > 1 and not self.attrs["axes"] else None
        count = len(self.attrs["axes"]) or (0 if given is None else np.asarray(given).size)
        axes = self._axes(rank if self.op_type == "Squeeze" else rank + count, given)
        if ctx.opset >= 13:
            ctx.op(self.op_type, [x, ctx.const(axes, np.int64, "axes")], out)
        else:
            ctx.op(self.op_type, [x], out, axes=axes)


class FinnSqueeze(_AxesOp):
    """finn-plus ``Squeeze``: drop the size-1 ``axes``."""

    op_type = "Squeeze"

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        try:
            return [np.squeeze(x, axis=tuple(self._axes(x.ndim, self._axes_input(inputs))))]
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None


class FinnUnsqueeze(_AxesOp):
    """finn-plus ``Unsqueeze``: insert size-1 ``axes`` (indices of the output)."""

    op_type = "Unsqueeze"

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x, given = np.asarray(inputs[0]), self._axes_input(inputs)
        count = len(self.attrs["axes"]) or (0 if given is None else given.size)
        return [np.expand_dims(x, axis=tuple(self._axes(x.ndim + count, given)))]


class FinnReshape(StreamShapeOp):
    """finn-plus ``Reshape``: the input as ``out_shape`` (the batch axis follows the input's at run time)."""

    op_type = "Reshape"
    dtype_attrs = ("dtype", "dtype")
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "inp_shape": AttrSpec("ints", required=True),
        "out_shape": AttrSpec("ints", required=True),
        "dtype": AttrSpec("s", required=True),
        "PE": AttrSpec("i", default=1),
    }

    def _target(self, x: np.ndarray) -> list[int]:
        out = list(self.normal_output_shape())
        per_frame = math.prod(out[1:])
        if out and per_frame and x.size % per_frame == 0 and x.size // per_frame != out[0]:
            out[0] = x.size // per_frame  # a run-time batch
        return out

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        try:
            return [x.reshape(self._target(x))]
        except ValueError as exc:
            raise ExecutionError(f"{self.describe()}: {exc}") from None

    @override
    def lower(self, ctx: LoweringContext) -> None:
        shape = [-1, *self.normal_output_shape()[1:]]
        ctx.op("Reshape", [self.node.input[0], ctx.const(shape, np.int64, "shape")], self.node.output[0])


def stream_shape_program(layer: HWLayer, lat: int) -> Program:
    """Squeeze/Unsqueeze/Reshape: one word in and one out per iteration (``qnncc::stream_copy``)."""
    words = math.prod(layer.normal_input_shape()[1:]) // layer.input_elems_per_word()
    return program_from_runs([(1, 1, words)], 1, 1, lat)


def _shape(a: Attrs, name: str) -> tuple[int, ...]:
    shape = a.get_ints(name)
    if not shape or min(shape) < 1:
        raise a.error(f"attribute {name!r} must be a non-empty shape of positive sizes, got {list(shape)}")
    return shape


def estimate_stream_shape(a: Attrs, dtype_attr: str) -> LayerEstimate:
    """Squeeze/Unsqueeze/Reshape: each word passed through.

    Cycles: ``prod(out_shape[:-1]) * out_shape[-1] / PE`` (finn-plus ``squeeze.py``,
    ``unsqueeze.py``, ``reshape.py`` ``get_exp_cycles``). FINN has no resource estimate;
    qnncc's model of ``qnncc::stream_copy``: a ``PE * bits`` output register and its handshake.
    """
    inp, out = _shape(a, "inp_shape"), _shape(a, "out_shape")
    if prod(inp) != prod(out):
        raise a.error(f"inp_shape {list(inp)} and out_shape {list(out)} hold different element counts")
    pe = a.get_int("PE", 1)
    a.divides("PE", pe, "inp_shape[-1]", inp[-1])
    cycles = prod(out[:-1]) * a.divides("PE", pe, "out_shape[-1]", out[-1])
    width = pe * a.get_dtype(dtype_attr).bitwidth()
    return layer_from_modules(cycles, [ModuleEstimate("register", cycles=cycles, lut=2, ff=width)])


def _estimator(dtype_attr: str) -> Estimator:
    """The descriptor's estimate of a shape op whose datatype attribute is ``dtype_attr``."""
    return lambda a, be, sp, part: estimate_stream_shape(a, dtype_attr)


#: Every facet of Squeeze, Unsqueeze and Reshape (collected by :mod:`qnncc.hw.registry`).
DESCRIPTORS: tuple[LayerDescriptor, ...] = tuple(
    LayerDescriptor(
        cls,
        _estimator(cls.dtype_attrs[0]),
        stream_shape_program,
        1,
        (),
        f"{CODEGEN_HLS}.stream_shape:stream_shape_code",
        "reshape.hpp",
        imported_by=FINN_IMPORT,
        no_rtl=NO_RTL_FINN_PLUS,
    )
    for cls in (FinnSqueeze, FinnUnsqueeze, FinnReshape)
)
