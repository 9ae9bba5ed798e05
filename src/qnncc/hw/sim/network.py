"""The simulator's view of a dataflow partition: layers with token programs, joined by bounded streams.

:func:`build_network` reads a HW model (the child of a
``StreamingDataflowPartition``, or a parent with one such node) the way the
code generator does (:func:`qnncc.codegen.hls.partition_source`): every HW
node but ``StreamingFIFO`` becomes a layer with its :class:`~.patterns.Program`,
every tensor between two layers a stream. Shape-only nodes
(Reshape/Flatten/Squeeze/Unsqueeze) are looked through. A ``StreamingFIFO``
node is not a layer: it gives its stream a capacity of ``depth`` words
(its own two-cycle latency and the registers of the links around it are
not modelled, which errs on the side of less buffering; the stitched
``axis_data_fifo`` is at least as deep); a stream without one has
:data:`DEFAULT_STREAM_DEPTH` (an ``hls::stream``'s default depth, also
about what an AXI-Stream register slice between two stitched IPs holds).
Each graph input becomes a *source* (the DMA, one word per cycle when
there is space) and each graph output a *sink* (one word per cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import onnx

from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import is_hw, is_stream_pass_through, only_partition_child
from qnncc.hw.layers.base import HWLayer

from .patterns import Program, SimulationError, layer_latency, layer_program, sink_program, source_program

__all__ = ["DEFAULT_STREAM_DEPTH", "Network", "SimLayer", "SimStream", "build_network", "hw_model"]

#: Capacity in words of a stream without a StreamingFIFO node (``hls::stream`` default depth).
DEFAULT_STREAM_DEPTH = 2


@dataclass(frozen=True)
class SimLayer:
    """A layer of the network.

    Attributes:
        name: node name (``"<input>"``/``"<output>"`` tags for sources and sinks).
        op_type: node op type, ``"Source"`` or ``"Sink"``.
        program: per-frame token pattern.
        inputs: stream index of each input port.
        outputs: stream index of each output port.
        node: the ONNX node (None for sources and sinks).
    """

    name: str
    op_type: str
    program: Program
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    node: onnx.NodeProto | None = None

    @property
    def is_io(self) -> bool:
        """Whether this is a source or a sink."""
        return self.node is None


@dataclass(frozen=True)
class SimStream:
    """A stream from one layer's output port to another layer's input port.

    Attributes:
        name: the tensor written by the producer (the graph tensor for a source).
        producer: index of the producing layer; ``producer_port`` its output port.
        consumer: index of the consuming layer; ``consumer_port`` its input port.
        capacity: words the stream holds (FIFO depth, or :data:`DEFAULT_STREAM_DEPTH`).
        fifo_nodes: names of the StreamingFIFO nodes on the stream (in stream order).
        width: bits per word.
        words: words per frame.
        consumer_tensor: the tensor the consumer reads (after FIFOs and reshapes).
    """

    name: str
    producer: int
    producer_port: int
    consumer: int
    consumer_port: int
    capacity: int
    fifo_nodes: tuple[str, ...]
    width: int
    words: int
    consumer_tensor: str


@dataclass
class Network:
    """Layers and streams of one dataflow partition.

    Attributes:
        layers: sources, HW layers (graph order) and sinks.
        streams: every stream; index = position.
        model: the HW model the network was built from.
    """

    layers: list[SimLayer]
    streams: list[SimStream]
    model: ModelWrapper | None = None
    _by_name: dict[str, int] = field(default_factory=dict, repr=False)

    def stream_index(self, name: str) -> int:
        """Index of the stream named ``name`` (the producer's tensor), or of a FIFO node's name."""
        if not self._by_name:
            for i, s in enumerate(self.streams):
                self._by_name[s.name] = i
                for f in s.fifo_nodes:
                    self._by_name[f] = i
        try:
            return self._by_name[name]
        except KeyError:
            raise SimulationError(f"no stream {name!r}; streams: {[s.name for s in self.streams]}") from None

    def is_io(self, stream: int) -> bool:
        """Whether the stream starts at a source or ends at a sink."""
        s = self.streams[stream]
        return self.layers[s.producer].is_io or self.layers[s.consumer].is_io

    def describe_stream(self, stream: int) -> str:
        """``'tensor' (producer -> consumer)``."""
        s = self.streams[stream]
        return f"{s.name!r} ({self.layers[s.producer].name} -> {self.layers[s.consumer].name})"

    def capacities(self) -> list[int]:
        """Current capacity of every stream."""
        return [s.capacity for s in self.streams]


def hw_model(model: ModelWrapper) -> ModelWrapper:
    """The HW-only model: ``model`` or the child of its single StreamingDataflowPartition.

    Raises:
        SimulationError: for several partitions.
    """
    try:
        return only_partition_child(model)
    except UnsupportedOpError as err:
        raise SimulationError(f"{err}; simulate each child model separately") from None


def _looked_through(node: onnx.NodeProto) -> bool:
    """A standard shape-only op or a StreamingFIFO (the simulator follows the stream through it)."""
    return is_stream_pass_through(node) or node.op_type == "StreamingFIFO"


def _layer(node: onnx.NodeProto) -> HWLayer:
    op = get_custom_op(node)
    if not isinstance(op, HWLayer):
        raise SimulationError(f"node {node.name!r} ({node.op_type}) is not a HW layer")
    return op


@dataclass(frozen=True)
class _Edge:
    """A stream before indexing: root tensor, FIFOs, producer (endpoint, port), consumer (endpoint, port)."""

    root: str
    fifos: tuple[onnx.NodeProto, ...]
    producer: int
    producer_port: int
    consumer: int
    consumer_port: int
    consumer_tensor: str


def build_network(model: ModelWrapper, latencies: Mapping[str, int] | None = None) -> Network:
    """Layers, programs and streams of a HW model.

    Args:
        model: HW-only model (or a parent with one dataflow partition).
        latencies: pipeline depth overrides by node name or op type (see
            :func:`~.patterns.layer_latency`).

    Returns:
        The :class:`Network`: sources (one per graph input), HW layers in
        graph order, sinks (one per graph output).

    Raises:
        SimulationError: for a node that is neither a HW layer nor a shape-only
            op, a tensor read by two layers (needs DuplicateStreams), an unused
            output, or a stream whose producer writes a different number of
            words per frame than its consumer reads (e.g. a missing width
            converter).
    """
    model = hw_model(model)
    producers: dict[str, onnx.NodeProto] = {}
    for node in model.graph.node:
        if not is_hw(node) and not is_stream_pass_through(node):
            raise SimulationError(f"node {node.name!r} ({node.op_type}) is neither a HW layer nor a shape-only op")
        producers.update(dict.fromkeys(node.output, node))

    def trace(tensor: str) -> tuple[str, tuple[onnx.NodeProto, ...]]:
        """Root tensor (HW layer output or graph input) behind ``tensor`` and the FIFO nodes on the way."""
        fifos: list[onnx.NodeProto] = []
        while tensor in producers and _looked_through(producers[tensor]):
            if producers[tensor].op_type == "StreamingFIFO":
                fifos.append(producers[tensor])
            tensor = producers[tensor].input[0]
        return tensor, tuple(fifos[::-1])

    hw_nodes = [n for n in model.graph.node if is_hw(n) and n.op_type != "StreamingFIFO"]
    if len({n.name for n in hw_nodes}) != len(hw_nodes):
        raise SimulationError("HW node names must be unique (run GiveUniqueNodeNames)")
    hw_layers = {n.name: _layer(n) for n in hw_nodes}
    programs = {n.name: layer_program(hw_layers[n.name], layer_latency(n.op_type, n.name, latencies)) for n in hw_nodes}

    # endpoints: sources, HW layers in graph order, sinks
    inputs, outputs = model.graph_input_names(), model.graph_output_names()
    endpoint: list[tuple[str, str]] = [("source", t) for t in inputs]
    endpoint += [("layer", n.name) for n in hw_nodes] + [("sink", t) for t in outputs]
    position = {key: i for i, key in enumerate(endpoint)}

    def produced_by(root: str, reader: str) -> tuple[int, int]:
        if root in inputs:
            return position[("source", root)], 0
        node = producers.get(root)
        if node is None or _looked_through(node):
            raise SimulationError(f"stream {root!r} read by {reader} comes from no HW layer or graph input")
        return position[("layer", node.name)], list(node.output).index(root)

    edges: list[_Edge] = []
    readers: dict[str, str] = {}
    for node in hw_nodes:
        streams_in = [t for t in node.input if t and model.get_initializer(t) is None]
        for port, tensor in enumerate(streams_in):
            root, fifos = trace(tensor)
            if root in readers:
                raise SimulationError(
                    f"tensor {root!r} feeds both {readers[root]} and {node.name}; insert a DuplicateStreams layer"
                )
            readers[root] = node.name
            edges.append(
                _Edge(root, fifos, *produced_by(root, node.name), position[("layer", node.name)], port, tensor)
            )
    for t in outputs:
        root, fifos = trace(t)
        if root in readers:
            raise SimulationError(f"tensor {root!r} is both a graph output and read by {readers[root]}")
        readers[root] = "<output>"
        edges.append(_Edge(root, fifos, *produced_by(root, "<output>"), position[("sink", t)], 0, t))
    for node in hw_nodes:
        for t in node.output:
            if t and t not in readers:
                raise SimulationError(f"{node.name}: output {t!r} is read by no HW layer and is no graph output")
    for t in inputs:
        if t not in readers:
            raise SimulationError(f"graph input {t!r} feeds no HW layer")

    streams: list[SimStream] = []
    ins: list[dict[int, int]] = [{} for _ in endpoint]
    outs: list[dict[int, int]] = [{} for _ in endpoint]
    for e in edges:
        (kind_p, name_p), (kind_c, name_c) = endpoint[e.producer], endpoint[e.consumer]
        if kind_p == "layer":
            words, width = programs[name_p].writes(e.producer_port), hw_layers[name_p].outstream_width(e.producer_port)
        else:
            words, width = programs[name_c].reads(e.consumer_port), hw_layers[name_c].instream_width(e.consumer_port)
        if kind_p == "layer" and kind_c == "layer" and programs[name_c].reads(e.consumer_port) != words:
            raise SimulationError(
                f"{name_p} writes {words} words per frame to {e.root!r} but {name_c} reads "
                f"{programs[name_c].reads(e.consumer_port)} (a missing StreamingDataWidthConverter?)"
            )
        depth = sum(int(_layer(f).attrs["depth"]) for f in e.fifos) if e.fifos else DEFAULT_STREAM_DEPTH
        outs[e.producer][e.producer_port] = ins[e.consumer][e.consumer_port] = len(streams)
        names = tuple(f.name for f in e.fifos)
        streams.append(
            SimStream(e.root, e.producer, e.producer_port, e.consumer, e.consumer_port, depth, names, width, words,
                      e.consumer_tensor)
        )  # fmt: skip

    layers: list[SimLayer] = []
    nodes = {n.name: n for n in hw_nodes}
    for i, (kind, name) in enumerate(endpoint):
        if kind == "layer":
            program = programs[name]
            if len(ins[i]) != program.n_in or len(outs[i]) != program.n_out:
                raise SimulationError(
                    f"{name}: {len(ins[i])} input and {len(outs[i])} output streams, "
                    f"its pattern has {program.n_in} and {program.n_out}"
                )
            layer = SimLayer(name, nodes[name].op_type, program, _ports(ins[i]), _ports(outs[i]), nodes[name])
        elif kind == "source":
            program = source_program(streams[outs[i][0]].words)
            layer = SimLayer(f"<input {name}>", "Source", program, (), _ports(outs[i]))
        else:
            program = sink_program(streams[ins[i][0]].words)
            layer = SimLayer(f"<output {name}>", "Sink", program, _ports(ins[i]), ())
        layers.append(layer)
    return Network(layers, streams, model)


def _ports(ports: dict[int, int]) -> tuple[int, ...]:
    return tuple(ports[k] for k in range(len(ports)))
