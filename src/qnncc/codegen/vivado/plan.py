"""Stitch plan: which cells a dataflow partition becomes in a Vivado block design and how they connect.

:func:`stitch_plan` reads the child model of a ``StreamingDataflowPartition``
(HW layer nodes, plus standard ``Reshape``/``Flatten`` (and ``Squeeze``/
``Unsqueeze``) nodes that a stream passes through unchanged) and returns a :class:`StitchPlan`: one cell per HW
node, the AXI-Stream connections between cells and the partition's external
inputs and outputs. The plan is pure data (:mod:`qnncc.codegen.vivado.cells`, whose names
this module re-exports); :mod:`qnncc.codegen.vivado.stitch` renders it to tcl and to the
interface catalogue the tcl checker reads.

Conventions (shared with the HLS code generator):

* HLS backend: a HW node ``N`` is cell ``safe_identifier(N.name)`` of IP
  ``qnncc.org:hls:<cell>:1.0`` whose repository is
  ``hls/<cell>/project_<cell>/sol1/impl/ip`` under the build directory;
  ``StreamingFIFO`` nodes are Xilinx ``axis_data_fifo`` cells instead; a
  FIFO deeper than one ``axis_data_fifo`` takes (:data:`AXIS_DATA_FIFO_MAX_DEPTH`
  words) becomes a chain of them, cells ``<cell>_chain<k>`` in stream order,
  whose depths add up to at least the node's depth;
* RTL backend (``backend="rtl"``): every HW node, FIFOs included, is a
  module reference (``create_bd_cell -type module -reference``) to its
  Verilog wrapper ``rtl/<module>.v`` (:func:`qnncc.codegen.rtl.layer.module_name`),
  the modules :func:`qnncc.codegen.rtl.generate_rtl` wrote and simulated;
* HLS ports are ``in<k>_V`` (stream inputs in node-input order, initializers
  skipped; a ``mem_mode="external"`` layer's weight stream comes after them and
  becomes a partition input after the data inputs, :attr:`ExternalStream.weights`) and
  ``out<k>_V``, TDATA ``roundup8`` of the stream width, clock
  ``ap_clk``, active-low reset ``ap_rst_n``.
"""

from __future__ import annotations

import dataclasses
import itertools

import onnx

from qnncc.codegen.names import roundup8, safe_identifier
from qnncc.codegen.render import CodegenError
from qnncc.codegen.vivado.cells import (
    Cell,
    Connection,
    ExternalStream,
    StitchBackend,
    StitchPlan,
    StreamMode,
    StreamPort,
    hls_ip_repo,
    hls_vlnv,
)
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import STREAM_PASS_THROUGH_OPS, only_partition_child
from qnncc.hw.layers import HW_DOMAIN, HWLayer
from qnncc.hw.layers.weight_stream import WeightStream, external_weight_stream

__all__ = [
    "AXIS_DATA_FIFO_MAX_DEPTH",
    "AXIS_DATA_FIFO_VLNV",
    "Cell",
    "Connection",
    "ExternalStream",
    "StitchBackend",
    "StitchPlan",
    "StreamPort",
    "hls_ip_repo",
    "hls_vlnv",
    "stitch_plan",
]

#: VLNV of the Xilinx AXI-Stream FIFO that a ``StreamingFIFO`` node becomes.
AXIS_DATA_FIFO_VLNV = "xilinx.com:ip:axis_data_fifo:2.0"
_FIFO_MEMORY = {"auto": "auto", "block": "block", "distributed": "distributed", "ultra": "ultra"}
#: Deepest ``axis_data_fifo`` (FIFO_DEPTH 16..32768, powers of two; Xilinx PG085).
AXIS_DATA_FIFO_MAX_DEPTH = 32768
_FIFO_MIN_DEPTH = 16


def fifo_chain_depths(depth: int) -> list[int]:
    """``FIFO_DEPTH`` of each ``axis_data_fifo`` of a FIFO of ``depth`` words, in stream order.

    One FIFO (the next power of two, at least 16) up to
    :data:`AXIS_DATA_FIFO_MAX_DEPTH`; deeper, ``ceil(depth / 32768)`` FIFOs in
    series, all of the maximum depth but the last (the next power of two of
    the rest). The chain holds at least ``depth`` words, so a depth that the
    FIFO sizing proved deadlock-free stays so.

    Examples:
        >>> fifo_chain_depths(40), fifo_chain_depths(65536), fifo_chain_depths(70000)
        ([64], [32768, 32768], [32768, 32768, 8192])
    """
    full, rest = divmod(max(depth, 1), AXIS_DATA_FIFO_MAX_DEPTH)
    chain = [AXIS_DATA_FIFO_MAX_DEPTH] * full
    if rest or not chain:
        chain.append(max(_FIFO_MIN_DEPTH, 1 << (max(rest, 1) - 1).bit_length()))
    return chain


def _fifo_cells(name: str, node: onnx.NodeProto, layer: HWLayer) -> list[Cell]:
    """The ``axis_data_fifo`` cell(s) of a StreamingFIFO node (a chain when deeper than one IP takes)."""
    width = roundup8(layer.instream_width(0))
    depths = fifo_chain_depths(int(layer.attrs["depth"]))
    bits = layer.instream_width(0)
    memory = _FIFO_MEMORY.get(str(layer.attrs.get("ram_style", "auto")), "auto")
    return [
        Cell(
            name=name if len(depths) == 1 else f"{name}_chain{k}",
            vlnv=AXIS_DATA_FIFO_VLNV,
            kind="fifo",
            node=node.name,
            op_type=node.op_type,
            config={"FIFO_DEPTH": str(d), "TDATA_NUM_BYTES": str(width // 8), "FIFO_MEMORY_TYPE": memory},
            streams=(StreamPort("S_AXIS", "slave", width, bits), StreamPort("M_AXIS", "master", width, bits)),
            clock=("s_axis_aclk",),
            reset=("s_axis_aresetn",),
        )
        for k, d in enumerate(depths)
    ]


def _hls_cell(cell: str, node: onnx.NodeProto, layer: HWLayer, n_in: int) -> Cell:
    specs: list[tuple[str, StreamMode, int]] = [(f"in{k}_V", "slave", layer.instream_width(k)) for k in range(n_in)]
    stream = _weight_stream(node, layer, n_in)
    if stream is not None:
        specs.append((f"in{stream.port}_V", "slave", stream.width))
    specs += [(f"out{k}_V", "master", layer.outstream_width(k)) for k in range(layer.num_output_streams())]
    ports = tuple(StreamPort(name, mode, roundup8(bits), bits) for name, mode, bits in specs)
    return Cell(
        name=cell,
        vlnv=hls_vlnv(cell),
        kind="hls",
        node=node.name,
        op_type=node.op_type,
        streams=ports,
        ip_repo=hls_ip_repo(cell),
    )


def _weight_stream(node: onnx.NodeProto, layer: HWLayer, n_in: int) -> WeightStream | None:
    """The weight stream input of a ``mem_mode="external"`` layer (after its ``n_in`` data inputs).

    Raises:
        CodegenError: if the layer cannot stream its weights.
    """
    try:
        return external_weight_stream(layer, n_in)
    except ValueError as err:
        raise CodegenError(str(err)) from None


def _rtl_cell(node: onnx.NodeProto, layer: HWLayer, n_in: int) -> Cell:
    """Module-reference cell of a HW node: the wrapper module of the RTL backend, same ports as the HLS IP."""
    from qnncc.codegen.rtl.layer import module_name

    module = module_name(node)
    hls = _hls_cell(module, node, layer, n_in)
    return Cell(name=module, vlnv="", kind="rtl", node=node.name, op_type=node.op_type, streams=hls.streams,
                reference=module)  # fmt: skip


def _endpoint(cell: Cell, kind: str, index: int) -> str:
    """Port name of stream input/output ``index`` of ``cell``."""
    if cell.kind == "fifo":  # axis_data_fifo (HLS backend); the RTL backend's FIFO wrapper has in0_V/out0_V
        return "S_AXIS" if kind == "in" else "M_AXIS"
    return f"{kind}{index}_V"


def _words_per_frame(layer: HWLayer, index: int) -> int:
    """Words per frame of output stream ``index``: the folded shape without batch and elements axes."""
    words = 1
    for d in layer.folded_output_shape(index)[1:-1]:
        words *= int(d)
    return words


def _partition_child(model: ModelWrapper) -> ModelWrapper:
    """``model`` itself, or the child of its only ``StreamingDataflowPartition`` node."""
    try:
        return only_partition_child(model)
    except UnsupportedOpError as err:
        raise CodegenError(f"{err}; stitch each child model") from None


def stitch_plan(model: ModelWrapper | onnx.ModelProto, backend: StitchBackend = "hls") -> StitchPlan:
    """Plan the block design of a dataflow partition's child model.

    Args:
        model: The partition's child model (HW layer nodes in domain
            ``qnncc.hw``; standard ``Reshape``/``Flatten`` nodes are stream
            pass-throughs), e.g. ``get_custom_op(sdp_node).child_model()``,
            or a parent model with exactly one ``StreamingDataflowPartition``.
        backend: ``hls`` (HLS IP cells, ``axis_data_fifo`` FIFOs) or ``rtl``
            (module references to the RTL backend's wrappers, FIFOs included).

    Returns:
        The plan, cells in topological order.

    Raises:
        CodegenError: for a node that is neither a HW layer nor a
            pass-through, an unnamed node, two nodes with the same cell name, a
            stream read by two HW layers (insert DuplicateStreams), an unused
            stream, or a connection whose two ends have different widths
            (insert a StreamingDataWidthConverter).
    """
    mw = _partition_child(model if isinstance(model, ModelWrapper) else ModelWrapper(model))
    graph_inputs = mw.graph_input_names()
    graph_outputs = mw.graph_output_names()
    alias: dict[str, str] = {}  # pass-through output tensor -> its input tensor
    producer: dict[str, tuple[Cell, str, int]] = {}  # stream tensor -> (cell, port, bits)
    layers: dict[str, tuple[HWLayer, int]] = {}  # stream tensor -> (producing layer, output index)
    cells: list[Cell] = []
    links: list[Connection] = []  # between the cells of a FIFO chain
    by_name: dict[str, str] = {}
    weights: list[ExternalStream] = []  # weight streams of external layers, in stream order
    # stream tensor -> readers (cell, port, bits); cell None: graph output named by port
    consumers: dict[str, list[tuple[Cell | None, str, int]]] = {}

    def source(tensor: str) -> str:
        while tensor in alias:
            tensor = alias[tensor]
        return tensor

    for index, node in enumerate(mw.topological_sort()):
        what = f"node {node.name!r} ({node.op_type})" if node.name else f"node #{index} ({node.op_type})"
        if node.domain in ("", "ai.onnx") and node.op_type in STREAM_PASS_THROUGH_OPS:
            alias[node.output[0]] = node.input[0]
            continue
        if node.domain != HW_DOMAIN:
            raise CodegenError(f"{what} is not a HW layer and cannot be stitched into the block design")
        if not node.name:
            raise CodegenError(f"{what} has no name; give every node a unique name before stitching")
        op = get_custom_op(node)
        assert isinstance(op, HWLayer)
        name = safe_identifier(node.name)
        if name in by_name:
            raise CodegenError(f"nodes {by_name[name]!r} and {node.name!r} both map to cell name {name!r}")
        by_name[name] = node.name
        streams_in = [t for t in node.input if t and mw.get_initializer(t) is None]
        if backend == "rtl":
            if _weight_stream(node, op, len(streams_in)) is not None:
                raise CodegenError(f"{node.name}: mem_mode='external' (streamed weights) has no RTL implementation")
            first = cell = _rtl_cell(node, op, len(streams_in))
            cells.append(cell)
        else:
            chain = _fifo_cells(name, node, op) if node.op_type == "StreamingFIFO" else []
            for extra in chain if len(chain) > 1 else []:
                if extra.name in by_name:
                    raise CodegenError(
                        f"cell {extra.name!r} of FIFO {node.name!r} clashes with node {by_name[extra.name]!r}"
                    )
                by_name[extra.name] = node.name
            for a, b in itertools.pairwise(chain):
                links.append(Connection(a.name, "M_AXIS", b.name, "S_AXIS", a.port("M_AXIS").width, node.input[0]))
            first = chain[0] if chain else _hls_cell(name, node, op, len(streams_in))
            cell = chain[-1] if chain else first
            cells.extend(chain or [first])
        for k, tensor in enumerate(streams_in):
            port = _endpoint(first, "in", k)
            consumers.setdefault(source(tensor), []).append((first, port, op.instream_width(k)))
        stream = _weight_stream(node, op, len(streams_in)) if backend == "hls" else None
        if stream is not None:
            port = f"in{stream.port}_V"
            weights.append(ExternalStream("", stream.tensor, first.name, port, first.port(port).width,
                                          stream.words, node.name))  # fmt: skip
        for k in range(op.num_output_streams()):
            if k < len(node.output) and node.output[k]:
                producer[node.output[k]] = (cell, _endpoint(cell, "out", k), op.outstream_width(k))
                layers[node.output[k]] = (op, k)

    for out in graph_outputs:
        consumers.setdefault(source(out), []).append((None, out, -1))

    connections: list[Connection] = list(links)
    inputs: list[ExternalStream] = []
    outputs: list[ExternalStream] = [ExternalStream("", "", "", "", 0)] * len(graph_outputs)
    for tensor, readers in consumers.items():
        if len(readers) > 1:
            names = [r[0].name if r[0] else f"graph output {r[1]!r}" for r in readers]
            raise CodegenError(
                f"tensor {tensor!r} is read by {len(readers)} consumers ({', '.join(names)}); "
                "a stream has one reader, insert a DuplicateStreams node"
            )
        dst, dst_port, dst_bits = readers[0]
        if tensor in producer:
            src, src_port, src_bits = producer[tensor]
            if dst is None:  # graph output
                k = graph_outputs.index(dst_port)
                width = src.port(src_port).width
                words = _words_per_frame(*layers[tensor])
                outputs[k] = ExternalStream(f"m_axis_{k}", dst_port, src.name, src_port, width, words)
                continue
            if src_bits != dst_bits or src.port(src_port).width != dst.port(dst_port).width:
                raise CodegenError(
                    f"tensor {tensor!r}: {src.name}.{src_port} is {src_bits} bits wide but "
                    f"{dst.name}.{dst_port} expects {dst_bits} bits; insert a StreamingDataWidthConverter"
                )
            connections.append(Connection(src.name, src_port, dst.name, dst_port, src.port(src_port).width, tensor))
        elif tensor in graph_inputs:
            if dst is None:
                raise CodegenError(f"partition input {tensor!r} reaches output {dst_port!r} without a HW layer")
            inputs.append(ExternalStream("", tensor, dst.name, dst_port, dst.port(dst_port).width))
        else:
            reader = dst.name if dst else f"graph output {dst_port!r}"
            raise CodegenError(f"tensor {tensor!r} read by {reader} has no producer in the partition")

    unread = [t for t in producer if t not in consumers]
    if unread:
        cell = producer[unread[0]][0]
        raise CodegenError(f"stream {unread[0]!r} of cell {cell.name!r} is neither read nor a partition output")
    inputs.sort(key=lambda s: graph_inputs.index(s.tensor))
    inputs = [ExternalStream(f"s_axis_{k}", s.tensor, s.cell, s.port, s.width) for k, s in enumerate(inputs)]
    inputs += [dataclasses.replace(s, name=f"s_axis_{len(inputs) + j}") for j, s in enumerate(weights)]
    unused = [t for t in graph_inputs if t not in {s.tensor for s in inputs}]
    if unused and mw.get_initializer(unused[0]) is None:
        raise CodegenError(f"partition input {unused[0]!r} is not read by any HW layer")
    if not cells:
        raise CodegenError("the partition has no HW layer to stitch")
    order = {c.name: i for i, c in enumerate(cells)}
    connections.sort(key=lambda c: (order[c.src_cell], c.src_port))
    return StitchPlan(tuple(cells), tuple(connections), tuple(inputs), tuple(outputs), backend)
