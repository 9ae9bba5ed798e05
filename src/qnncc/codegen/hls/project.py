"""HLS C++ generation: one Vitis HLS project per HW layer, and the partition as one C++ function.

Output layout under the build directory::

    hls/<layer>/top_<layer>.cpp      top function with AXI-Stream ports
    hls/<layer>/params_<layer>.h     weights packed per PE/SIMD in the folded order
    hls/<layer>/thresh_<layer>.h     thresholds [pe][nf][step]
    hls/<layer>/hls_synth.tcl        Vitis HLS: csynth_design + export_design (IP catalog)
    hls/include/                     qnncc's header-only library (a copy, so the folder is self-contained)
    hls/csim/                        g++ stand-ins for hls_stream.h/ap_axi_sdata.h (C simulation only;
                                     never on the Vitis HLS include path)
    hls/partition/<name>.cpp         the partition as a DATAFLOW function chaining the layer tops
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from qnncc.codegen.hls.layer_code import LayerCode, Port
from qnncc.codegen.hls.layers import layer_builders
from qnncc.codegen.render import CodegenError, csim_include_dir, include_dir, render
from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import STREAM_PASS_THROUGH_OPS, is_stream_pass_through, only_partition_child
from qnncc.hw.layers.base import HWLayer

__all__ = [
    "HlsProject",
    "PASS_THROUGH_OPS",
    "generate_hls",
    "hw_partition",
    "layer_code",
    "partition_source",
    "render_layer",
    "render_layer_sim",
]

#: Standard ops that may sit inside a partition as pure stream pass-throughs (C order unchanged).
PASS_THROUGH_OPS = STREAM_PASS_THROUGH_OPS


@dataclass
class HlsProject:
    """What :func:`generate_hls` wrote.

    Attributes:
        root: the ``hls`` folder.
        layers: generated code per HW node, in stream order.
        partition_name: name of the partition function.
        partition_ports: its ports (graph inputs then outputs).
        files: every written file.
    """

    root: Path
    layers: list[LayerCode]
    partition_name: str
    partition_ports: list[Port]
    files: list[Path] = field(default_factory=list)


def hw_partition(model: ModelWrapper) -> ModelWrapper:
    """The HW-only model: ``model`` itself, or the child of its single StreamingDataflowPartition node.

    Raises:
        CodegenError: if there are several partitions, or a node that is neither
            a HW layer nor a stream pass-through.
    """
    try:
        child = only_partition_child(model)
    except UnsupportedOpError as err:
        raise CodegenError(f"{err}; generate each child model separately") from None
    for node in child.graph.node:
        if not is_stream_pass_through(node) and not isinstance(get_custom_op_or_none(node), HWLayer):
            raise CodegenError(f"node {node.name!r} ({node.op_type}) is not a HW layer; it cannot go into HLS")
    return child


def get_custom_op_or_none(node: onnx.NodeProto) -> object | None:
    """The custom-op object of ``node``, or None for standard ONNX ops."""
    try:
        return get_custom_op(node)
    except Exception:
        return None


def layer_code(model: ModelWrapper, node: onnx.NodeProto) -> LayerCode:
    """Build the code of one HW node.

    Raises:
        CodegenError: if qnncc has no HLS template for the op type.
    """
    builder = layer_builders().get(node.op_type)
    if builder is None:
        have = ", ".join(sorted(layer_builders()))
        raise CodegenError(f"{node.name}: no HLS implementation for {node.op_type} (have: {have})")
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    return builder(model, node, layer)


def render_layer(code: LayerCode) -> dict[str, str]:
    """File name -> text of a layer's top and parameter headers."""
    top = render(
        "layer_top.cpp.j2",
        {
            "node_name": code.node_name.replace("\n", " "),
            "op_type": code.op_type,
            "headers": code.headers,
            "param_headers": list(code.params),
            "name": code.name,
            "ports": code.ports,
            "pragmas": code.pragmas,
            "body": code.body,
        },
    )
    return {f"top_{code.name}.cpp": top, **code.params}


def render_layer_sim(code: LayerCode) -> tuple[dict[str, str], dict[str, bytes]]:
    """The C simulation's sources of a layer and the parameter files it reads at run time.

    As :func:`render_layer`, but every parameter header with a C-simulation
    twin (:mod:`~qnncc.codegen.hls.param_files`) is replaced by it: the
    sources then depend on the layer's shapes and types only.

    Returns:
        ``(file name -> text, data file name -> bytes)``; the bytes include the
        weight streams the test bench feeds (:attr:`LayerCode.feeds`).
    """
    files = render_layer(code)
    data: dict[str, bytes] = dict(code.feeds)
    for header, twin in code.runtime_params.items():
        files[header] = twin.header
        data[twin.file] = twin.data
    return files, data


def partition_source(model: ModelWrapper, codes: list[LayerCode], name: str) -> tuple[str, list[Port]]:
    """C++ of the partition as one DATAFLOW function, and its ports.

    Every tensor between two HW nodes becomes an ``hls::stream``; pass-through
    nodes alias their output to their input stream.

    Raises:
        CodegenError: if a tensor feeds two HW nodes (needs DuplicateStreams) or
            two connected ports disagree in width or elements per word (needs a
            StreamingDataWidthConverter).
    """
    from qnncc.codegen.streams import internal_streams, stream_ends

    alias, producers, consumers = stream_ends(model, codes)
    graph_in = [alias.get(t.name, t.name) for t in model.graph.input]
    graph_out = [alias.get(t.name, t.name) for t in model.graph.output]
    ports: list[Port] = []
    args: dict[tuple[str, str], str] = {}
    for i, tensor in enumerate(graph_in):
        if tensor not in consumers:
            raise CodegenError(f"partition input {tensor!r} feeds no HW layer")
        code, port = consumers[tensor]
        ports.append(Port(f"in{i}_V", "in", port.width, port.elems, port.ctype, port.words, tensor))
        args[(code.name, port.name)] = f"in{i}_V"
    for i, tensor in enumerate(graph_out):
        if tensor not in producers:
            raise CodegenError(f"partition output {tensor!r} comes from no HW layer")
        code, port = producers[tensor]
        ports.append(Port(f"out{i}_V", "out", port.width, port.elems, port.ctype, port.words, tensor))
        args[(code.name, port.name)] = f"out{i}_V"
    for code in codes:  # weight streams from outside (mem_mode="external"): partition inputs after the data
        for port in code.inputs:
            if port.feed:
                k = sum(p.direction == "in" for p in ports)
                ports.insert(k, _renamed(port, f"in{k}_V"))
                args[(code.name, port.name)] = f"in{k}_V"
    streams = []
    for var, width, (src, sport), (dst, dport) in internal_streams(producers, consumers, graph_out):
        streams.append({"name": var, "width": width})
        args[(src.name, sport.name)] = var
        args[(dst.name, dport.name)] = var
    calls = [{"name": c.name, "args": [args[(c.name, p.name)] for p in c.ports]} for c in codes]
    functions = [{"name": c.name, "ports": c.ports} for c in codes]
    text = render(
        "partition_top.cpp.j2",
        {"name": name, "functions": functions, "ports": ports, "streams": streams, "calls": calls},
    )
    return text, ports


def _renamed(port: Port, name: str) -> Port:
    return dataclasses.replace(port, name=name)


def generate_hls(
    model: ModelWrapper, out_dir: str | Path, part: str = "xc7z020clg400-1", clock_ns: float = 10.0
) -> HlsProject:
    """Write the HLS sources of every HW layer and the partition function under ``out_dir/hls``.

    Args:
        model: a HW partition model, or a model with one StreamingDataflowPartition node.
        out_dir: build directory (``hls/`` is created inside).
        part: FPGA part for the Vitis HLS scripts.
        clock_ns: clock period for ``create_clock`` (ns).

    Returns:
        The :class:`HlsProject` describing what was written.

    Raises:
        CodegenError: for layers qnncc cannot generate (message names the node).
    """
    child = hw_partition(model)
    codes = [layer_code(child, n) for n in child.topological_sort() if not is_stream_pass_through(n)]
    _check_unique(codes)
    root = Path(out_dir) / "hls"
    files: list[Path] = []
    for code in codes:
        layer_dir = root / code.name
        layer_dir.mkdir(parents=True, exist_ok=True)
        texts = render_layer(code)
        texts["hls_synth.tcl"] = render(
            "hls_synth.tcl.j2",
            {"node_name": code.node_name, "name": code.name, "part": part, "clock_ns": f"{clock_ns:g}"},
        )
        for filename, text in texts.items():
            (layer_dir / filename).write_text(text)
            files.append(layer_dir / filename)
    lib = root / "include"
    if lib.exists():
        shutil.rmtree(lib)
    shutil.copytree(include_dir(), lib)
    shutil.copytree(csim_include_dir(), root / "csim", dirs_exist_ok=True)
    name = "qnncc_partition"
    text, ports = partition_source(child, codes, name)
    (root / "partition").mkdir(parents=True, exist_ok=True)
    (root / "partition" / f"{name}.cpp").write_text(text)
    files.append(root / "partition" / f"{name}.cpp")
    return HlsProject(root, codes, name, ports, files)


def _check_unique(codes: list[LayerCode]) -> None:
    seen: dict[str, str] = {}
    for code in codes:
        if code.name in seen:
            raise CodegenError(
                f"nodes {seen[code.name]!r} and {code.node_name!r} map to the same C++ name {code.name!r}; "
                "rename one (e.g. GiveUniqueNodeNames)"
            )
        seen[code.name] = code.node_name
