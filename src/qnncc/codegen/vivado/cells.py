"""The block design as data: cells, their AXI-Stream pins, connections, external streams and the plan.

Pure data, no Vivado: :func:`qnncc.codegen.vivado.plan.stitch_plan` builds a
:class:`StitchPlan` from a dataflow partition, :mod:`qnncc.codegen.vivado.shell`
adds the Zynq shell's cells, and :mod:`qnncc.codegen.vivado.stitch` renders
the plan to tcl and to the interface catalogue the tcl checker reads. HLS IP
names follow Vitis HLS's export: VLNV ``qnncc.org:hls:<top>:1.0`` in the
repository ``hls/<top>/project_<top>/sol1/impl/ip`` of the build directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from qnncc.codegen.render import CodegenError

__all__ = [
    "Cell",
    "CellKind",
    "Connection",
    "ExternalStream",
    "StitchBackend",
    "StitchPlan",
    "StreamMode",
    "StreamPort",
    "hls_ip_repo",
    "hls_vlnv",
]

#: Direction of an AXI-Stream pin: ``master`` drives data, ``slave`` receives it.
StreamMode = Literal["master", "slave"]
#: What a cell is (see :class:`Cell`).
CellKind = Literal["hls", "rtl", "fifo", "dwc", "dma", "tlast", "ps", "smartconnect", "reset", "partition"]
#: Code generation backend whose layers a plan stitches.
StitchBackend = Literal["hls", "rtl"]


def hls_vlnv(top: str) -> str:
    """VLNV of the HLS IP with top function ``top`` (``qnncc.org:hls:<top>:1.0``)."""
    return f"qnncc.org:hls:{top}:1.0"


def hls_ip_repo(top: str) -> str:
    """IP repository folder of HLS IP ``top``, relative to the build directory."""
    return f"hls/{top}/project_{top}/sol1/impl/ip"


@dataclass(frozen=True)
class StreamPort:
    """An AXI-Stream interface pin of a cell.

    Attributes:
        name: Interface name, e.g. ``in0_V`` or ``M_AXIS``.
        mode: ``master`` (drives data) or ``slave`` (receives data).
        width: TDATA width in bits (a multiple of 8).
        bits: Payload bits the layer puts in a word (``width`` without padding).
    """

    name: str
    mode: StreamMode
    width: int
    bits: int


@dataclass(frozen=True)
class Cell:
    """One block-design cell.

    Attributes:
        name: Cell name (a safe tcl identifier).
        vlnv: IP VLNV, e.g. ``qnncc.org:hls:MVAU_0:1.0``.
        kind: ``hls`` (qnncc HLS IP of a HW node), ``rtl`` (module reference to
            the Verilog wrapper of a HW node), ``fifo`` (axis_data_fifo),
            ``dwc`` (axis_dwidth_converter), ``dma`` (axi_dma), ``tlast``
            (qnncc's TLAST-inserting HLS IP before a DMA's S2MM channel), or
            the Zynq shell's ``ps``, ``smartconnect`` and ``reset``
            (proc_sys_reset); ``partition`` is the packaged block design of
            one dataflow partition in a multi-partition design.
        node: Name of the ONNX node it implements (``""`` for shell cells).
        op_type: ONNX op type (``""`` for shell cells).
        config: ``CONFIG.*`` properties (names without the ``CONFIG.`` prefix).
        streams: AXI-Stream interface pins.
        clock: Clock input pins to connect to the design clock.
        reset: Active-low reset input pins to connect to the design reset.
        ip_repo: IP repository folder relative to the build dir (HLS IPs only).
        axi_lite: AXI-Lite (AXI memory-mapped) slave interface pins, e.g.
            ``s_axi_control`` of an HLS IP with an ``s_axilite`` bundle.
        reference: Verilog module of a module-reference cell (kind ``rtl``; ``vlnv`` is then empty).
    """

    name: str
    vlnv: str
    kind: CellKind
    node: str = ""
    op_type: str = ""
    config: Mapping[str, str] = field(default_factory=dict)
    streams: tuple[StreamPort, ...] = ()
    clock: tuple[str, ...] = ("ap_clk",)
    reset: tuple[str, ...] = ("ap_rst_n",)
    ip_repo: str = ""
    axi_lite: tuple[str, ...] = ()
    reference: str = ""

    def port(self, name: str) -> StreamPort:
        """The stream interface called ``name``.

        Raises:
            CodegenError: if the cell has no such interface.
        """
        for p in self.streams:
            if p.name == name:
                return p
        raise CodegenError(f"cell {self.name!r} has no stream interface {name!r}")


@dataclass(frozen=True)
class Connection:
    """An AXI-Stream connection ``src_cell/src_port -> dst_cell/dst_port`` carrying ``tensor``."""

    src_cell: str
    src_port: str
    dst_cell: str
    dst_port: str
    width: int
    tensor: str = ""


@dataclass(frozen=True)
class ExternalStream:
    """A partition input or output: graph tensor ``tensor`` enters/leaves at ``cell/port``.

    Attributes:
        name: External port name, ``s_axis_<k>`` for inputs, ``m_axis_<k>`` for outputs.
        tensor: Graph input or output tensor name.
        cell: Cell that consumes (input) or produces (output) the stream.
        port: Interface pin of that cell.
        width: TDATA width in bits.
        words: Words of ``width`` bits per frame (batch axis excluded), ``0``
            when unknown; set for partition outputs and weight streams.
        weights: For the weight stream of a ``mem_mode="external"`` layer
            (:mod:`qnncc.hw.layers.weight_stream`): the layer's node name; its
            ``tensor`` is the weight initializer. ``""`` for data streams.
    """

    name: str
    tensor: str
    cell: str
    port: str
    width: int
    words: int = 0
    weights: str = ""


@dataclass(frozen=True)
class StitchPlan:
    """Cells, connections and external streams of one dataflow partition, in topological order."""

    cells: tuple[Cell, ...]
    connections: tuple[Connection, ...]
    inputs: tuple[ExternalStream, ...]
    outputs: tuple[ExternalStream, ...]
    #: Backend of the layers; the zynq shell's TLAST inserters follow it (HLS IPs, or RTL module references).
    backend: StitchBackend = "hls"

    def cell(self, name: str) -> Cell:
        """The cell called ``name``.

        Raises:
            CodegenError: if there is none.
        """
        for c in self.cells:
            if c.name == name:
                return c
        raise CodegenError(f"stitch plan has no cell {name!r}")

    @property
    def data_inputs(self) -> tuple[ExternalStream, ...]:
        """The inputs that carry graph inputs (not weight streams)."""
        return tuple(s for s in self.inputs if not s.weights)

    @property
    def weight_inputs(self) -> tuple[ExternalStream, ...]:
        """The weight streams of ``mem_mode="external"`` layers, after the data inputs."""
        return tuple(s for s in self.inputs if s.weights)

    def hls_tops(self) -> list[str]:
        """Top-function names of the HLS IPs (one per HLS cell), in plan order."""
        return [c.name for c in self.cells if c.kind == "hls"]
