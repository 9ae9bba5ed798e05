"""FINN's ``StreamingConcat`` and ``StreamingSplit``: join or split streams along the channel axis.

Semantics (finn-plus ``src/finn/custom_op/fpgadataflow/{concat,split}.py``): ``StreamingConcat``
concatenates its inputs ``[*numInputVectors, ChannelsPerStream[i]]`` along the last axis;
``StreamingSplit`` cuts its input ``[*numInputVectors, sum(ChannelsPerStream)]`` into one output
per entry of ``ChannelsPerStream``. The concatenation's output datatype is FINN's: the smallest
``UINT``/``INT`` holding every input datatype's range (``FLOAT32`` if an input is not integer).

Folding (FINN): ``SIMD`` elements per word on every stream; ``SIMD`` divides every entry of
``ChannelsPerStream``. The hardware (``qnncc::concat_part``/``split_part`` in ``reshape.hpp``)
copies ``ChannelsPerStream[i] / SIMD`` words of stream ``i`` per vector, one word per cycle:
``prod(numInputVectors) * sum(ChannelsPerStream) / SIMD`` cycles (FINN ``get_exp_cycles``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import ExecutionError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec, LoweringContext
from qnncc.hw.layers.descriptor import CODEGEN_HLS, FINN_IMPORT, LayerDescriptor
from qnncc.hw.perf.estimate import Attrs, LayerEstimate, ModuleEstimate, ceil_log2, layer_from_modules, prod
from qnncc.hw.sim.patterns import Program, program_from_runs

from .base import HWLayer, divisors, vectors
from .elementwise_binary import NO_RTL_FINN_PLUS, datatype_attr

__all__ = ["StreamingConcat", "StreamingSplit", "concat_datatype"]


def concat_datatype(types: Sequence[DataType]) -> DataType:
    """FINN's output datatype of a concatenation: smallest UINT/INT holding all ``types`` (FLOAT32 otherwise)."""
    if not all(t.is_integer() for t in types):
        return DataType["FLOAT32"]
    lo, hi = min(min(t.min() for t in types), 0), max(max(t.max() for t in types), 0)
    return DataType.smallest_for_range(lo, hi)


class _ChannelStreams(HWLayer):
    """Shared shapes and folding of StreamingConcat and StreamingSplit."""

    folding_attrs = ("SIMD",)
    finn_impl_styles = ("hls", "rtl")

    def sizes(self) -> list[int]:
        """``ChannelsPerStream`` as ints."""
        return [int(c) for c in self.attrs["ChannelsPerStream"]]

    @override
    def validate(self) -> None:
        if not self.sizes() or min(self.sizes()) < 1:
            raise UnsupportedOpError(f"{self.describe()}: ChannelsPerStream={self.sizes()} must be positive sizes")
        super().validate()

    @override
    def legal_folding(self) -> dict[str, list[int]]:
        return {"SIMD": divisors(math.gcd(*self.sizes()))}

    def _part_shape(self, index: int) -> tuple[int, ...]:
        return (*vectors(self.attrs), self.sizes()[index])

    def _whole_shape(self) -> tuple[int, ...]:
        return (*vectors(self.attrs), sum(self.sizes()))


class StreamingConcat(_ChannelStreams):
    """FINN ``StreamingConcat``: inputs ``[..., ChannelsPerStream[i]]``, output ``[..., sum]``."""

    op_type = "StreamingConcat"
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "SIMD": AttrSpec("i", default=1),
        "ChannelsPerStream": AttrSpec("ints", required=True),
        "inputDataTypes": AttrSpec("strings", default=[]),
        "numInputVectors": AttrSpec("ints", default=[1]),
    }

    @override
    def validate(self) -> None:
        if len(self.node.input) != len(self.sizes()):
            raise UnsupportedOpError(
                f"{self.describe()}: {len(self.node.input)} inputs for ChannelsPerStream={self.sizes()}"
            )
        super().validate()

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        names = [v.decode() if isinstance(v, bytes) else str(v) for v in self.attrs["inputDataTypes"]]
        if len(names) != len(self.sizes()):
            raise UnsupportedOpError(f"{self.describe()}: inputDataTypes must name one datatype per input")
        try:
            return DataType.from_name(names[index])
        except Exception:
            raise UnsupportedOpError(f"{self.describe()}: {names[index]!r} is not a datatype") from None

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        return concat_datatype([self.input_datatype(i) for i in range(len(self.sizes()))])

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._part_shape(index)

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._whole_shape()

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        arrays = [np.asarray(v) for v in inputs]
        widths = [a.shape[-1] for a in arrays]
        if widths != self.sizes():
            raise ExecutionError(f"{self.describe()}: input widths {widths} != ChannelsPerStream")
        return [np.concatenate(arrays, axis=-1)]

    @override
    def lower(self, ctx: LoweringContext) -> None:
        ctx.op("Concat", list(self.node.input), self.node.output[0], axis=-1)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        return helper.make_node("Concat", list(self.node.input), [self.node.output[0]], axis=-1)

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [concat_datatype([model.get_tensor_datatype(t) for t in self.node.input])]


class StreamingSplit(_ChannelStreams):
    """FINN ``StreamingSplit``: input ``[..., sum]``, one output ``[..., ChannelsPerStream[i]]`` each."""

    op_type = "StreamingSplit"
    attributes: ClassVar[dict[str, AttrSpec]] = {
        "SIMD": AttrSpec("i", default=1),
        "ChannelsPerStream": AttrSpec("ints", required=True),
        "inputDataType": AttrSpec("s", default="FLOAT32"),
        "numInputVectors": AttrSpec("ints", default=[1]),
    }

    @override
    def validate(self) -> None:
        if len(self.node.output) != len(self.sizes()):
            raise UnsupportedOpError(
                f"{self.describe()}: {len(self.node.output)} outputs for ChannelsPerStream={self.sizes()}"
            )
        datatype_attr(self, "inputDataType")
        super().validate()

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return datatype_attr(self, "inputDataType")

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        return self.input_datatype()

    @override
    def num_output_streams(self) -> int:
        return len(self.sizes())

    @override
    def normal_input_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._whole_shape()

    @override
    def normal_output_shape(self, index: int = 0) -> tuple[int, ...]:
        return self._part_shape(index)

    @override
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        if x.shape[-1] != sum(self.sizes()):
            raise ExecutionError(f"{self.describe()}: last axis {x.shape[-1]} != sum of ChannelsPerStream")
        return list(np.split(x, np.cumsum(self.sizes())[:-1], axis=-1))

    @override
    def lower(self, ctx: LoweringContext) -> None:
        x, sizes = self.node.input[0], self.sizes()
        if ctx.opset >= 13:
            node = helper.make_node("Split", [x, ctx.const(sizes, np.int64, "split")], list(self.node.output), axis=-1)
        else:
            node = helper.make_node("Split", [x], list(self.node.output), axis=-1, split=sizes)
        ctx.nodes.append(node)

    @override
    def shape_compatible_node(self) -> onnx.NodeProto:
        """An ``If`` on the input whose branches make constants of the outputs' shapes (shapes only)."""
        lead = vectors(self.attrs)

        def branch(tag: str) -> onnx.GraphProto:
            names = [f"{out}__{tag}" for out in self.node.output]
            nodes = [
                helper.make_node("RandomNormal", [], [name], shape=[*lead, size])
                for name, size in zip(names, self.sizes(), strict=True)
            ]
            infos = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names]
            return helper.make_graph(nodes, f"{self.node.output[0]}__split_{tag}", [], infos)

        return helper.make_node(
            "If", [self.node.input[0]], list(self.node.output), then_branch=branch("a"), else_branch=branch("b")
        )

    @override
    def infer_datatype(self, model: Any) -> list[DataType]:
        return [self.input_datatype()] * len(self.node.output)


def concat_program(layer: HWLayer, lat: int) -> Program:
    """StreamingConcat: per vector, ``ChannelsPerStream[i] / SIMD`` iterations reading input ``i``, each writing."""
    if not isinstance(layer, StreamingConcat):
        raise UnsupportedOpError(f"{layer.describe()}: not a StreamingConcat")
    simd = int(layer.attrs["SIMD"])
    runs = [(1 << i, 1, size // simd) for i, size in enumerate(layer.sizes())]
    return program_from_runs(runs, len(runs), 1, lat, repeat=math.prod(layer.normal_output_shape()[1:-1]))


def split_program(layer: HWLayer, lat: int) -> Program:
    """StreamingSplit: per vector, ``ChannelsPerStream[j] / SIMD`` iterations writing output ``j``, each reading."""
    if not isinstance(layer, StreamingSplit):
        raise UnsupportedOpError(f"{layer.describe()}: not a StreamingSplit")
    simd = int(layer.attrs["SIMD"])
    runs = [(1, 1 << j, size // simd) for j, size in enumerate(layer.sizes())]
    return program_from_runs(runs, 1, len(runs), lat, repeat=math.prod(layer.normal_input_shape()[1:-1]))


def _channel_streams(a: Attrs) -> tuple[list[int], int, int]:
    """``(ChannelsPerStream, SIMD, cycles)``: FINN's ``prod(numInputVectors) * sum / SIMD`` cycles."""
    sizes = list(a.get_ints("ChannelsPerStream"))
    simd = a.get_int("SIMD", 1)
    if not sizes or min(sizes) < 1:
        raise a.error(f"ChannelsPerStream={sizes} must list positive sizes")
    for size in sizes:
        a.divides("SIMD", simd, "ChannelsPerStream", size)
    return sizes, simd, prod(a.get_ints("numInputVectors", [1])) * sum(sizes) // simd


def estimate_concat(a: Attrs) -> LayerEstimate:
    """StreamingConcat: ``n`` streams joined along the channel axis.

    Cycles: ``prod(numInputVectors) * sum(ChannelsPerStream) / SIMD`` (FINN ``concat.py``
    ``get_exp_cycles``). FINN has no resource estimate; qnncc's model of ``qnncc::concat_part``:
    an ``n``-way word multiplexer (``SIMD * bits * ceil(log2 n)`` LUTs) into the output register.
    """
    sizes, simd, cycles = _channel_streams(a)
    bits = concat_datatype(list(a.get_dtypes("inputDataTypes"))).bitwidth()
    n = len(sizes)
    modules = [
        ModuleEstimate("mux", cycles=cycles, lut=simd * bits * max(1, ceil_log2(n)), ff=simd * bits),
        ModuleEstimate("control", cycles=cycles, lut=2 * n + ceil_log2(cycles), ff=ceil_log2(cycles)),
    ]
    return layer_from_modules(cycles, modules)


def estimate_split(a: Attrs) -> LayerEstimate:
    """StreamingSplit: one stream cut into ``n`` along the channel axis.

    Cycles: ``prod(numInputVectors) * sum(ChannelsPerStream) / SIMD`` (FINN ``split.py``: one
    input word per cycle). FINN has no resource estimate; qnncc's model of ``qnncc::split_part``:
    an output register per stream and the handshake of each.
    """
    sizes, simd, cycles = _channel_streams(a)
    bits = a.get_dtype("inputDataType").bitwidth()
    n = len(sizes)
    modules = [
        ModuleEstimate("demux", cycles=cycles, lut=2 * n, ff=n * simd * bits),
        ModuleEstimate("control", cycles=cycles, lut=2 * n + ceil_log2(cycles), ff=ceil_log2(cycles)),
    ]
    return layer_from_modules(cycles, modules)


#: Every facet of StreamingConcat and StreamingSplit (collected by :mod:`qnncc.hw.registry`).
DESCRIPTORS: tuple[LayerDescriptor, ...] = (
    LayerDescriptor(
        StreamingConcat,
        lambda a, be, sp, part: estimate_concat(a),
        concat_program,
        1,
        (),
        f"{CODEGEN_HLS}.concat_split:concat_code",
        "reshape.hpp",
        imported_by=FINN_IMPORT,
        no_rtl=NO_RTL_FINN_PLUS,
    ),
    LayerDescriptor(
        StreamingSplit,
        lambda a, be, sp, part: estimate_split(a),
        split_program,
        1,
        (),
        f"{CODEGEN_HLS}.concat_split:split_code",
        "reshape.hpp",
        imported_by=FINN_IMPORT,
        no_rtl=NO_RTL_FINN_PLUS,
    ),
)
