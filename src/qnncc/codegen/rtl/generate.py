"""RTL generation: one Verilog wrapper per HW layer and the stitched partition top.

Output layout under the build directory::

    rtl/<layer>.v               wrapper of one library core with AXI-Stream ports
    rtl/<layer>_weights.dat     weight ROM ($readmemh), thresholds in <layer>_thresholds.dat
    rtl/qnncc_*.v               qnncc's RTL library (a copy, so the folder is self-contained)
    rtl/qnncc_partition.v       the partition top chaining the layers by AXI-Stream wires

The ROM files are referenced by bare file name: simulate and synthesise with
the ``rtl`` folder as working directory.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import onnx

from qnncc.codegen.hls import hw_partition
from qnncc.codegen.hls.layer_code import Port
from qnncc.core.datatype import DataType
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import is_stream_pass_through
from qnncc.hw.layers.base import HWLayer

from ..render import CodegenError, render
from ..streams import internal_streams, stream_ends
from .builders import rtl_builders
from .layer import RtlLayer

__all__ = [
    "RtlProject",
    "generate_rtl",
    "library_dir",
    "library_files",
    "rtl_layer",
    "render_rtl_layer",
    "partition_top",
]

PARTITION_NAME = "qnncc_partition"


@dataclass
class RtlProject:
    """What :func:`generate_rtl` wrote.

    Attributes:
        root: the ``rtl`` folder.
        layers: generated RTL per HW node, in stream order.
        top: module name of the partition top.
        ports: the top's ports (graph inputs then outputs).
        files: every written file.
    """

    root: Path
    layers: list[RtlLayer]
    top: str
    ports: list[Port]
    files: list[Path] = field(default_factory=list)


def library_dir() -> Path:
    """Folder of qnncc's Verilog library (package data ``qnncc.hls_templates/rtl``)."""
    return Path(str(resources.files("qnncc.hls_templates"))) / "rtl"


def library_files() -> dict[str, str]:
    """File name -> text of every library module."""
    return {p.name: p.read_text() for p in sorted(library_dir().glob("*.v"))}


def rtl_layer(model: ModelWrapper, node: onnx.NodeProto) -> RtlLayer:
    """Build the RTL description of one HW node.

    Raises:
        CodegenError: if qnncc has no RTL core for the op type, or the node cannot be generated.
    """
    builder = rtl_builders().get(node.op_type)
    if builder is None:
        raise CodegenError(
            f"{node.name}: no RTL implementation for {node.op_type} (have: {', '.join(sorted(rtl_builders()))})"
        )
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    return builder(model, node, layer)


def _literal(value: int | str) -> str:
    if isinstance(value, str):
        if '"' in value or "\\" in value:
            raise CodegenError(f"RTL parameter string {value!r} contains a quote or backslash")
        return f'"{value}"'
    return str(int(value))


def _concat(items: list[str]) -> str:
    """Verilog concatenation with the first item in the low bits."""
    return "{" + ", ".join(reversed(items)) + "}"


#: Words every layer output holds in front of its port: the depth of an ``hls::stream`` between two HLS
#: layers, which the performance model and the cycle-level simulator assume for a stream without a
#: StreamingFIFO (:data:`qnncc.hw.sim.network.DEFAULT_STREAM_DEPTH`). A core stalls when its output
#: register is taken; without these words a producer that needs several cycles per word (a width
#: converter feeding an MVAU's burst of SF reads) could not run ahead as the HLS layer does.
OUTPUT_STREAM_DEPTH = 2


def output_stream_depth(rtl: RtlLayer) -> int:
    """Words buffered at each output of a layer's wrapper: :data:`OUTPUT_STREAM_DEPTH` (a StreamingFIFO: none)."""
    return 0 if rtl.op_type == "StreamingFIFO" else OUTPUT_STREAM_DEPTH


def _lane_bits(rtl: RtlLayer) -> tuple[int, int]:
    """Input and output bits of one lane of a layer with :attr:`RtlLayer.lanes` copies of its core.

    Raises:
        CodegenError: for lanes on a core of several streams or words that do not split into whole lanes.
    """
    if rtl.lanes == 1:
        return 0, 0
    if len(rtl.inputs) != 1 or len(rtl.outputs) != 1:
        raise CodegenError(f"{rtl.node_name}: {rtl.lanes} lanes need one input and one output stream")
    bits_in, bits_out = rtl.bits[rtl.inputs[0].name], rtl.bits[rtl.outputs[0].name]
    if rtl.lanes < 1 or bits_in % rtl.lanes or bits_out % rtl.lanes:
        raise CodegenError(f"{rtl.node_name}: {bits_in}/{bits_out}-bit words do not split into {rtl.lanes} lanes")
    return bits_in // rtl.lanes, bits_out // rtl.lanes


def render_rtl_layer(rtl: RtlLayer) -> dict[str, str]:
    """File name -> text of a layer's wrapper and ROM files.

    Each output of the core passes through a ``qnncc_fifo`` of
    :func:`output_stream_depth` words before its port (the wrapper's stream).
    """
    ins, outs = rtl.inputs, rtl.outputs
    depth = output_stream_depth(rtl)
    lane_in, lane_out = _lane_bits(rtl)
    sig = "core_" if depth else ""
    text = render(
        "rtl_layer.v.j2",
        {
            "name": rtl.name,
            "node_name": rtl.node_name.replace("\n", " "),
            "op_type": rtl.op_type,
            "core": rtl.core,
            "ports": rtl.ports,
            "outputs": outs,
            "bits": rtl.bits,
            "params": [(k, _literal(v)) for k, v in rtl.params.items()],
            "in_data": _concat([f"{p.name}_TDATA[{rtl.bits[p.name] - 1}:0]" for p in ins]),
            "in_valid": _concat([f"{p.name}_TVALID" for p in ins]),
            "in_ready": _concat([f"{p.name}_TREADY" for p in ins]),
            "out_data": _concat([f"{p.name}_{sig}data" for p in outs]),
            "out_valid": _concat([f"{p.name}_{sig}{'valid' if depth else 'TVALID'}" for p in outs]),
            "out_ready": _concat([f"{p.name}_{sig}{'ready' if depth else 'TREADY'}" for p in outs]),
            "stream_depth": depth,
            "lanes": rtl.lanes,
            "lane_in": lane_in,
            "lane_out": lane_out,
        },
    )
    return {f"{rtl.name}.v": text, **rtl.roms}


def partition_top(
    model: ModelWrapper, layers: list[RtlLayer], name: str = PARTITION_NAME
) -> tuple[str, list[Port], dict[str, DataType]]:
    """Verilog of the partition top, its ports and their element datatypes (by port name).

    Every tensor between two HW nodes becomes one AXI-Stream wire bundle;
    pass-through nodes (Reshape, Flatten, ...) alias their output to their input.

    Raises:
        CodegenError: if a tensor feeds two layers (needs DuplicateStreams), a
            graph port touches no layer, or two connected ports disagree in
            width or words (needs a StreamingDataWidthConverter).
    """
    alias, producers, consumers = stream_ends(model, layers)
    ports: list[Port] = []
    dtypes: dict[str, DataType] = {}
    signal: dict[tuple[str, str], str] = {}
    for direction, tensors, table in (
        ("in", [alias.get(t.name, t.name) for t in model.graph.input], consumers),
        ("out", [alias.get(t.name, t.name) for t in model.graph.output], producers),
    ):
        for i, tensor in enumerate(tensors):
            if tensor not in table:
                raise CodegenError(f"partition {direction}put {tensor!r} touches no HW layer")
            rtl, port = table[tensor]
            ports.append(Port(f"{direction}{i}_V", direction, port.width, port.elems, port.ctype, port.words, tensor))
            signal[(rtl.name, port.name)] = f"{direction}{i}_V"
            dtypes[f"{direction}{i}_V"] = rtl.dtypes[port.name]
    streams = []
    graph_out = {p.tensor for p in ports if p.direction == "out"}
    for var, width, (src, sport), (dst, dport) in internal_streams(producers, consumers, graph_out):
        streams.append({"name": var, "width": width})
        signal[(src.name, sport.name)] = signal[(dst.name, dport.name)] = var
    instances = [{"module": r.name, "conns": [(p.name, signal[(r.name, p.name)]) for p in r.ports]} for r in layers]
    text = render("rtl_partition.v.j2", {"name": name, "ports": ports, "streams": streams, "instances": instances})
    return text, ports, dtypes


def partition_layers(model: ModelWrapper) -> tuple[ModelWrapper, list[RtlLayer]]:
    """The HW partition of ``model`` and the RTL of its layers in topological order.

    Raises:
        CodegenError: for nodes without an RTL core or two nodes with the same module name.
    """
    child = hw_partition(model)
    layers = [rtl_layer(child, n) for n in child.topological_sort() if not is_stream_pass_through(n)]
    seen: dict[str, str] = {}
    for rtl in layers:
        if rtl.name in seen or rtl.name.startswith("qnncc_"):
            raise CodegenError(
                f"nodes {seen.get(rtl.name, rtl.name)!r} and {rtl.node_name!r} map to the Verilog module "
                f"{rtl.name!r} (taken); rename one (e.g. GiveUniqueNodeNames)"
            )
        seen[rtl.name] = rtl.node_name
    return child, layers


def generate_rtl(model: ModelWrapper, out_dir: str | Path) -> RtlProject:
    """Write the Verilog of every HW layer, the library and the partition top under ``out_dir/rtl``.

    Args:
        model: a HW partition model, or a model with one StreamingDataflowPartition node.
        out_dir: build directory (``rtl/`` is created inside; an existing one is replaced).

    Returns:
        The :class:`RtlProject` describing what was written.

    Raises:
        CodegenError: for layers qnncc cannot generate (the message names the node).
    """
    child, layers = partition_layers(model)
    texts: dict[str, str] = {}
    for rtl in layers:
        texts.update(render_rtl_layer(rtl))
    top, ports, _ = partition_top(child, layers)
    texts[f"{PARTITION_NAME}.v"] = top
    texts.update(library_files())
    root = Path(out_dir) / "rtl"
    tmp = root.with_name("rtl.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for filename, text in texts.items():
        (tmp / filename).write_text(text)
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
    return RtlProject(root, layers, PARTITION_NAME, ports, [root / f for f in texts])
