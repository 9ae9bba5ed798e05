"""SetFIFODepths: StreamingFIFO nodes sized by cycle-level simulation (FINN's name, no RTL simulation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import onnx
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import partition_child
from qnncc.hw.layers.base import HWLayer
from qnncc.hw.layers.streamingfifo import MAX_LUT_BITS, MAX_SRL_DEPTH, fifo_style
from qnncc.hw.sim.fifo_sizing import DEFAULT_MINIMIZE_SECONDS, FIFOSizing, size_fifos
from qnncc.hw.sim.network import DEFAULT_STREAM_DEPTH, Network, SimStream, build_network

from ._util import ensure_hw_domain, hw_node, new_tensor, unique_node_name

__all__ = ["SetFIFODepths"]


class SetFIFODepths(Transformation):
    """Size the FIFOs of a dataflow partition with :func:`qnncc.hw.sim.fifo_sizing.size_fifos`.

    For every stream between two HW layers (and, with ``size_io`` or where a
    FIFO exists already, from the inputs and to the outputs) the pass sets
    the depth the simulation chose:

    * a stream with a ``StreamingFIFO`` node gets ``depth``, ``impl_style``
      and ``ram_style`` (:func:`~.insert_fifo.fifo_style` of depth x width);
      several FIFO nodes in series become one; with ``remove_shallow`` a
      FIFO of depth <= 2 is removed (FINN's ``RemoveShallowFIFOs``: the
      stream itself holds 2 words);
    * a stream without one gets a new ``StreamingFIFO`` right after its
      producer when it needs more than 2 words (the same attributes as
      :class:`~.insert_fifo.InsertFIFO`).

    The model is a HW-only partition model or a parent with one
    ``StreamingDataflowPartition`` (its child graph is rewritten), after
    :class:`~.insert_dwc.InsertDWC` (streams must carry the same words on
    both ends), with or without :class:`~.insert_fifo.InsertFIFO`. FIFOs are
    identities on the data, so ``execute`` results are unchanged. Layer
    hints ``inFIFODepths``/``outFIFODepths`` are not used: the simulation decides.

    Attributes:
        result: the :class:`~qnncc.hw.sim.fifo_sizing.FIFOSizing` of the last
            run (depths, occupancies, intervals, ``report()`` for build reports).

    Args:
        frames: frames per simulation.
        remove_shallow: remove FIFO nodes whose chosen depth is <= 2.
        size_io: also size (insert FIFOs on) the partition's input and output streams.
        minimize: shrink depths by search after the occupancy-based choice.
        slack: margin in words added to a searched depth before rounding.
        latencies: pipeline depth overrides by node name or op type.
        max_srl_depth: see :func:`~.insert_fifo.fifo_style`.
        max_lut_bits: see :func:`~.insert_fifo.fifo_style`.
        engine: simulation engine (``"auto"``: compiled C++ when available).
        minimize_seconds: CPU-time budget of the depth minimisation (None: unbounded).
        measure: input of the occupancy measurement, ``"smooth"`` or ``"frames"``
            (see :func:`~qnncc.hw.sim.fifo_sizing.size_fifos`).
        search: depth minimisation, ``"groups"`` or ``"serial"`` (ditto).
    """

    def __init__(
        self,
        frames: int = 4,
        *,
        remove_shallow: bool = True,
        size_io: bool = False,
        minimize: bool = True,
        slack: int = 4,
        latencies: Mapping[str, int] | None = None,
        max_srl_depth: int = MAX_SRL_DEPTH,
        max_lut_bits: int = MAX_LUT_BITS,
        engine: Literal["auto", "cpp", "python"] = "auto",
        minimize_seconds: float | None = DEFAULT_MINIMIZE_SECONDS,
        measure: Literal["smooth", "frames"] = "smooth",
        search: Literal["groups", "serial"] = "groups",
    ) -> None:
        self.frames = frames
        self.remove_shallow = remove_shallow
        self.size_io = size_io
        self.minimize = minimize
        self.slack = slack
        self.latencies = latencies
        self.max_srl_depth = max_srl_depth
        self.max_lut_bits = max_lut_bits
        self.engine: Literal["auto", "cpp", "python"] = engine
        self.minimize_seconds = minimize_seconds
        self.measure: Literal["smooth", "frames"] = measure
        self.search: Literal["groups", "serial"] = search
        self.result: FIFOSizing | None = None

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        sdps = model.get_nodes_by_op_type("StreamingDataflowPartition")
        if len(sdps) > 1:
            raise UnsupportedOpError(f"SetFIFODepths: {len(sdps)} dataflow partitions; size each child model")
        if not sdps:
            self._size(model)
            return model, False
        attr = next(a for a in sdps[0].attribute if a.name == "model")
        child = partition_child(model, sdps[0])
        self._size(child)
        attr.g.CopyFrom(child.graph)
        return model, False

    # ------------------------------------------------------------ sizing
    def _size(self, model: ModelWrapper) -> None:
        net = build_network(model, self.latencies)
        sizing = size_fifos(
            net,
            self.frames,
            size_io=self.size_io,
            minimize=self.minimize,
            slack=self.slack,
            engine=self.engine,
            minimize_seconds=self.minimize_seconds,
            measure=self.measure,
            search=self.search,
        )
        self.result = sizing
        inserted = 0
        for i in sizing.sized:
            stream, depth = net.streams[i], sizing.depths[i]
            impl, ram = fifo_style(depth, stream.width, self.max_srl_depth, self.max_lut_bits)
            if stream.fifo_nodes:
                self._update(model, stream, depth, impl, ram)
            elif depth > DEFAULT_STREAM_DEPTH:
                inserted += self._insert(model, net, stream, depth, impl, ram)
        if inserted:
            ensure_hw_domain(model)

    def _update(self, model: ModelWrapper, stream: SimStream, depth: int, impl: str, ram: str) -> None:
        nodes = [model.get_node_by_name(n) for n in stream.fifo_nodes]
        fifos = [n for n in nodes if n is not None]
        for extra in fifos[1:]:
            _remove_fifo(model, extra)
        first = fifos[0]
        if depth <= DEFAULT_STREAM_DEPTH and self.remove_shallow and _remove_fifo(model, first):
            return
        model.set_nodeattr(first, "depth", depth)
        model.set_nodeattr(first, "impl_style", impl)
        model.set_nodeattr(first, "ram_style", ram)

    def _insert(self, model: ModelWrapper, net: Network, stream: SimStream, depth: int, impl: str, ram: str) -> int:
        producer = net.layers[stream.producer].node
        if producer is None:  # a partition input without a FIFO: left to InsertFIFO(io_fifos=True)
            return 0
        layer = get_custom_op(producer)
        assert isinstance(layer, HWLayer)
        k = stream.producer_port
        shape = layer.normal_output_shape(k)
        dt = layer.output_datatype(k)
        tensor = stream.name
        if tensor in model.graph_output_names():
            return 0  # an output stream without a FIFO: left to InsertFIFO(io_fifos=True)
        new = new_tensor(model, f"{tensor}_fifo", list(shape), dt)
        fifo = hw_node(
            "StreamingFIFO",
            [tensor],
            [new],
            unique_node_name(model, "StreamingFIFO_"),
            depth=depth,
            folded_shape=list(layer.folded_output_shape(k)),
            normal_shape=list(shape),
            dataType=dt.name,
            impl_style=impl,
            ram_style=ram,
        )
        if fifo is None:
            raise UnsupportedOpError(f"SetFIFODepths: no legal FIFO for {tensor!r} (shape {list(shape)})")
        for node in model.find_consumers(tensor):
            node.input[:] = [new if t == tensor else t for t in node.input]
        model.graph.node.insert(model.get_node_index(producer) + 1, fifo)
        return 1


def _remove_fifo(model: ModelWrapper, fifo: onnx.NodeProto) -> bool:
    """Remove a FIFO node, joining its input and output tensors; False if both are graph I/O (kept)."""
    src, dst = fifo.input[0], fifo.output[0]
    outputs = model.graph_output_names()
    if dst in outputs:
        if src in model.graph_input_names() or src in outputs:
            return False
        producer = model.find_producer(src)
        assert producer is not None
        model.remove_node(fifo)
        producer.output[:] = [dst if t == src else t for t in producer.output]
        for node in model.find_consumers(src):
            node.input[:] = [dst if t == src else t for t in node.input]
        return True
    model.remove_node(fifo)
    for node in model.find_consumers(dst):
        node.input[:] = [src if t == dst else t for t in node.input]
    return True
