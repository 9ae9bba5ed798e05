"""What the HLS generator needs of one layer: ports, C++ types, body and parameter files.

A per-op builder (:mod:`qnncc.codegen.hls.layers`) turns a HW node into a
:class:`LayerCode`; :mod:`qnncc.codegen.hls` renders it into
``top_<name>.cpp`` and its parameter headers, and :mod:`qnncc.codegen.hls.cppsim`
into test benches. Conventions (shared with the stitch script): the top
function is named ``safe_identifier(node.name)``, its AXI-Stream ports are
``in0_V, in1_V, ...`` (stream inputs in node order, initializer inputs
skipped) and ``out0_V, ...``, each ``roundup8(stream width)`` bits wide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import onnx

from qnncc.codegen.names import roundup8, safe_identifier
from qnncc.codegen.render import CodegenError
from qnncc.core.datatype import DataType, Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

__all__ = [
    "MAX_STREAM_BITS",
    "LayerCode",
    "Port",
    "RuntimeParams",
    "check_stream_width",
    "cpp_datatype",
    "stream_inputs",
    "stream_ports",
]

#: Widest AXI-Stream TDATA qnncc generates (bits): the AXI4-Stream limit (ARM IHI 0051, TDATA <= 512 bytes)
#: and Vitis HLS's ``AP_INT_MAX_W`` ceiling used by the generated tops.
MAX_STREAM_BITS = 4096


def check_stream_width(bits: int, where: str) -> int:
    """``bits`` if it is a legal stream width.

    Raises:
        CodegenError: if ``bits`` exceeds :data:`MAX_STREAM_BITS` (names ``where``; fold less wide).
    """
    if bits > MAX_STREAM_BITS:
        raise CodegenError(
            f"{where}: stream of {bits} bits exceeds the {MAX_STREAM_BITS}-bit AXI-Stream limit; "
            "lower PE/SIMD of the layer"
        )
    return bits


@dataclass(frozen=True)
class Port:
    """One AXI-Stream port of a generated function.

    Attributes:
        name: C++ parameter / IP port name, e.g. ``in0_V``.
        direction: ``"in"`` or ``"out"``.
        width: TDATA width in bits (word bits rounded up to bytes).
        elems: elements per word (e.g. SIMD or PE).
        ctype: C++ element datatype, e.g. ``qnncc::UInt<8>``.
        words: words per frame.
        tensor: the ONNX tensor the stream carries.
        feed: for a weight stream from outside the accelerator (``mem_mode="external"``,
            :mod:`qnncc.hw.layers.weight_stream`): the data file of one pass of its words,
            which the C simulation's test bench writes ``words / feed_words`` times per frame
            (``""`` for a data stream).
        feed_words: words in ``feed``.
    """

    name: str
    direction: str
    width: int
    elems: int
    ctype: str
    words: int
    tensor: str
    feed: str = ""
    feed_words: int = 0

    @property
    def frame_elems(self) -> int:
        """Elements per frame (``words * elems``)."""
        return self.words * self.elems


@dataclass(frozen=True)
class RuntimeParams:
    """The C-simulation twin of a parameter header: the table is filled from a file at run time.

    Attributes:
        header: text of the header the simulation compiles instead of the
            ROM initialiser (declares the table and loads it before ``main``,
            ``qnncc/param_file.hpp``), independent of the values.
        file: name of the data file the simulation reads from ``$QNNCC_PARAM_DIR``.
        data: its bytes (layout in ``param_file.hpp``).
    """

    header: str
    file: str
    data: bytes


@dataclass
class LayerCode:
    """Generated code of one HW layer before rendering.

    Attributes:
        name: top function name (safe identifier of the node name).
        node_name: the ONNX node name (for comments only).
        op_type: HW op type.
        ports: input ports then output ports.
        headers: library headers to include, e.g. ``qnncc/mvau.hpp``.
        params: parameter headers, file name -> rendered text.
        body: C++ statements of the top function (one per line).
        pragmas: extra ``#pragma HLS`` lines (without the prefix).
        runtime_params: parameter header name -> its C-simulation twin (values
            read at run time; headers without a twin are compiled in as they are).
        feeds: data file name -> bytes of the weight streams the test bench feeds
            (:attr:`Port.feed`, layout of :mod:`~qnncc.codegen.hls.param_files`).
    """

    name: str
    node_name: str
    op_type: str
    ports: list[Port]
    headers: list[str]
    body: list[str]
    params: dict[str, str] = field(default_factory=dict)
    pragmas: list[str] = field(default_factory=list)
    runtime_params: dict[str, RuntimeParams] = field(default_factory=dict)
    feeds: dict[str, bytes] = field(default_factory=dict)

    @property
    def inputs(self) -> list[Port]:
        """Input ports in order."""
        return [p for p in self.ports if p.direction == "in"]

    @property
    def outputs(self) -> list[Port]:
        """Output ports in order."""
        return [p for p in self.ports if p.direction == "out"]


def cpp_datatype(dt: DataType, where: str) -> str:
    """C++ element datatype of ``dt`` in qnncc's library (``types.hpp``).

    Raises:
        CodegenError: for non-integer datatypes (float, fixed point), naming ``where``.
    """
    if dt.kind is Kind.BIPOLAR:
        return "qnncc::Bipolar"
    if dt.kind is Kind.TERNARY:
        return "qnncc::Int<2>"
    if dt.kind is Kind.INT:
        return f"qnncc::{'Int' if dt.signed() else 'UInt'}<{dt.bitwidth()}>"
    raise CodegenError(f"{where}: datatype {dt.name} is not an integer type; HLS generation needs integer streams")


def stream_inputs(model: ModelWrapper, node: onnx.NodeProto) -> list[str]:
    """The node's input tensors that are streams (initializers are weights/thresholds, not streams)."""
    return [t for t in node.input if t and model.get_initializer(t) is None]


def stream_ports(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer) -> list[Port]:
    """Input and output ports of a HW node by the naming conventions above."""
    ports = []
    for i, tensor in enumerate(stream_inputs(model, node)):
        elems = layer.input_elems_per_word(i)
        shape = layer.folded_input_shape(i)
        ctype = cpp_datatype(layer.input_datatype(i), f"{node.name} input {tensor!r}")
        words = _words_per_frame(shape)
        width = check_stream_width(roundup8(layer.instream_width(i)), f"{node.name} input {tensor!r}")
        ports.append(Port(f"in{i}_V", "in", width, elems, ctype, words, tensor))
    for i, tensor in enumerate(node.output):
        elems = layer.output_elems_per_word(i)
        shape = layer.folded_output_shape(i)
        ctype = cpp_datatype(layer.output_datatype(i), f"{node.name} output {tensor!r}")
        words = _words_per_frame(shape)
        width = check_stream_width(roundup8(layer.outstream_width(i)), f"{node.name} output {tensor!r}")
        ports.append(Port(f"out{i}_V", "out", width, elems, ctype, words, tensor))
    return ports


def _words_per_frame(folded: tuple[int, ...]) -> int:
    """Words per frame of a folded shape ``[N, ..., words, elems]`` (the batch axis excluded)."""
    words = 1
    for d in folded[1:-1]:
        words *= int(d)
    return words


def top_name(node: onnx.NodeProto) -> str:
    """Top function / IP name of a HW node."""
    return safe_identifier(node.name or node.op_type)
