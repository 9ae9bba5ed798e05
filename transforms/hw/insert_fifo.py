"""InsertFIFO: a StreamingFIFO node on every HW-to-HW stream (FINN's ``InsertFIFO``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import onnx
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import STREAM_PASS_THROUGH_OPS, is_hw
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.streamingfifo import MAX_LUT_BITS, MAX_SRL_DEPTH, fifo_style

from ._util import ensure_hw_domain, hw_node, new_tensor, unique_node_name

__all__ = ["InsertFIFO", "fifo_style"]


@dataclass(frozen=True)
class _Edge:
    """A stream to cut: ``tensor`` (written by ``producer`` or a graph input) read by ``consumers``."""

    tensor: str
    producer: onnx.NodeProto | None
    out_index: int
    consumers: tuple[tuple[onnx.NodeProto, int], ...]  # (node, stream input index)


def _stream_inputs(model: ModelWrapper, node: onnx.NodeProto) -> list[str]:
    return [t for t in node.input if t and model.get_initializer(t) is None]


def _layer(node: onnx.NodeProto) -> HWLayer:
    op = get_custom_op(node)
    assert isinstance(op, HWLayer)
    return op


def _declared_depth(layer: HWLayer, attr: str, index: int) -> int:
    """Entry ``index`` of a layer's ``inFIFODepths``/``outFIFODepths`` attribute, 0 if it has none."""
    depths = layer.attrs.get(attr) or []
    return int(depths[index]) if index < len(depths) else 0


class InsertFIFO(Transformation):
    """Insert a ``StreamingFIFO`` on every stream between two HW layers.

    Each output tensor of a HW layer read by a HW layer (directly or through
    Reshape/Flatten/Squeeze/Unsqueeze) gets a FIFO right after the producer;
    its ``normal_shape``/``folded_shape`` are the producer's output shapes,
    ``dataType`` its output datatype. The depth is ``depth`` or, if larger, the
    producer's ``outFIFODepths`` / consumer's ``inFIFODepths`` entry for that
    stream (FINN's rule; layers without those attributes count 0).
    ``impl_style`` and ``ram_style`` follow :func:`fifo_style`. With
    ``io_fifos``, every graph input read by a HW layer and every graph output
    written by one also gets a FIFO (FINN puts them at the partition's ends;
    the graph's tensor names are kept).

    Streams already starting or ending at a StreamingFIFO are skipped, so the
    pass is idempotent. A FIFO is the identity on the data: ``execute``
    results are unchanged.

    Args:
        depth: minimal FIFO depth in words (default 2, FINN's shallow FIFOs
            of ``create_shallow_fifos=True``).
        io_fifos: also put FIFOs on the partition's inputs and outputs.
        max_srl_depth: see :func:`fifo_style`.
        max_lut_bits: see :func:`fifo_style`.

    Raises:
        UnsupportedOpError: if ``depth < 1`` or a FIFO node is rejected by the
            StreamingFIFO layer.
    """

    def __init__(
        self,
        depth: int = 2,
        io_fifos: bool = False,
        max_srl_depth: int = MAX_SRL_DEPTH,
        max_lut_bits: int = MAX_LUT_BITS,
    ) -> None:
        if depth < 1:
            raise UnsupportedOpError(f"InsertFIFO: depth={depth} must be >= 1")
        self.depth = depth
        self.io_fifos = io_fifos
        self.max_srl_depth = max_srl_depth
        self.max_lut_bits = max_lut_bits

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        inserted = 0
        for edge in self._internal_edges(model):
            self._insert_after(model, edge)
            inserted += 1
        if self.io_fifos:
            for tensor in model.graph_input_names():
                inserted += self._insert_at_input(model, tensor)
            for tensor in model.graph_output_names():
                inserted += self._insert_at_output(model, tensor)
        if inserted:
            ensure_hw_domain(model)
        return model, False  # one round inserts every FIFO; a second would add none

    # ------------------------------------------------------------ edges
    def _hw_readers(self, model: ModelWrapper, tensor: str) -> list[tuple[onnx.NodeProto, int]]:
        """HW nodes reading ``tensor`` (through shape-only ops) with the stream input index they read it at."""
        found = []
        for node in model.find_consumers(tensor):
            if node.op_type in STREAM_PASS_THROUGH_OPS and node.domain in ("", "ai.onnx"):
                found += self._hw_readers(model, node.output[0])
            elif is_hw(node):
                streams = _stream_inputs(model, node)
                found += [(node, i) for i, t in enumerate(streams) if t == tensor]
        return found

    def _internal_edges(self, model: ModelWrapper) -> list[_Edge]:
        edges = []
        for producer in list(model.graph.node):
            if not is_hw(producer) or producer.op_type == "StreamingFIFO":
                continue
            for k, tensor in enumerate(producer.output):
                if not tensor:
                    continue
                readers = self._hw_readers(model, tensor)
                if not readers or any(n.op_type == "StreamingFIFO" for n, _ in readers):
                    continue
                edges.append(_Edge(tensor, producer, k, tuple(readers)))
        return edges

    # ------------------------------------------------------------ insertion
    def _fifo(
        self,
        model: ModelWrapper,
        src: str,
        dst: str,
        shape: tuple[int, ...],
        folded: tuple[int, ...],
        dt: DataType,
        depth: int,
    ) -> onnx.NodeProto:
        impl, ram = fifo_style(depth, folded[-1] * dt.bitwidth(), self.max_srl_depth, self.max_lut_bits)
        node = hw_node(
            "StreamingFIFO",
            [src],
            [dst],
            unique_node_name(model, "StreamingFIFO_"),
            depth=depth,
            folded_shape=list(folded),
            normal_shape=list(shape),
            dataType=dt.name,
            impl_style=impl,
            ram_style=ram,
        )
        if node is None:
            raise UnsupportedOpError(
                f"InsertFIFO: no legal FIFO for {src!r} (shape {list(shape)}, folded {list(folded)})"
            )
        return node

    def _depth(self, edge: _Edge) -> int:
        depth = self.depth
        if edge.producer is not None:
            depth = max(depth, _declared_depth(_layer(edge.producer), "outFIFODepths", edge.out_index))
        for node, index in edge.consumers:
            depth = max(depth, _declared_depth(_layer(node), "inFIFODepths", index))
        return depth

    def _insert_after(self, model: ModelWrapper, edge: _Edge) -> None:
        """FIFO right after the producer: it reads ``edge.tensor``, every former reader reads its output."""
        assert edge.producer is not None
        prod = _layer(edge.producer)
        shape = prod.normal_output_shape(edge.out_index)
        dt = prod.output_datatype(edge.out_index)
        new = new_tensor(model, f"{edge.tensor}_fifo", list(shape), dt)
        fifo = self._fifo(
            model, edge.tensor, new, shape, prod.folded_output_shape(edge.out_index), dt, self._depth(edge)
        )
        for node in model.find_consumers(edge.tensor):
            node.input[:] = [new if t == edge.tensor else t for t in node.input]
        model.graph.node.insert(model.get_node_index(edge.producer) + 1, fifo)

    def _insert_at_input(self, model: ModelWrapper, tensor: str) -> int:
        readers = self._hw_readers(model, tensor)
        if not readers or any(n.op_type == "StreamingFIFO" for n, _ in readers):
            return 0
        node, index = readers[0]
        cons = _layer(node)
        shape, elems = cons.normal_input_shape(index), cons.input_elems_per_word(index)
        if node not in model.find_consumers(tensor):  # read through a Reshape: the FIFO carries the input's shape
            recorded = model.get_tensor_shape(tensor)
            if not recorded or math.prod(recorded[1:]) != math.prod(shape[1:]) or recorded[-1] % elems:
                return 0
            shape = tuple(int(d) for d in recorded)
        dt = cons.input_datatype(index)
        new = new_tensor(model, f"{tensor}_fifo", list(shape), dt)
        depth = self._depth(_Edge(tensor, None, 0, tuple(readers)))
        folded = (*shape[:-1], shape[-1] // elems, elems)
        fifo = self._fifo(model, tensor, new, shape, folded, dt, depth)
        for reader in model.find_consumers(tensor):
            reader.input[:] = [new if t == tensor else t for t in reader.input]
        model.graph.node.insert(0, fifo)
        return 1

    def _insert_at_output(self, model: ModelWrapper, tensor: str) -> int:
        producer = model.find_producer(tensor)
        if producer is None or not is_hw(producer) or producer.op_type == "StreamingFIFO":
            return 0
        prod = _layer(producer)
        k = list(producer.output).index(tensor)
        shape = prod.normal_output_shape(k)
        dt = prod.output_datatype(k)
        new = new_tensor(model, f"{tensor}_pre_fifo", list(shape), dt)
        producer.output[k] = new
        for reader in model.find_consumers(tensor):  # other readers of the graph output keep reading the same values
            reader.input[:] = [new if t == tensor else t for t in reader.input]
        depth = self._depth(_Edge(tensor, producer, k, ()))
        fifo = self._fifo(model, new, tensor, shape, prod.folded_output_shape(k), dt, depth)
        model.graph.node.insert(model.get_node_index(producer) + 1, fifo)
        return 1
