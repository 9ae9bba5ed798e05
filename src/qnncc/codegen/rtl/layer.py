"""What the RTL generator needs of one layer: ports, library module, parameters and ROM files.

A per-op RTL builder (:mod:`qnncc.codegen.rtl.builders`) turns a HW node into
an :class:`RtlLayer`; :mod:`qnncc.codegen.rtl.generate` renders it into a
Verilog wrapper ``<name>.v`` (template ``rtl_layer.v.j2``) that instantiates
one module of qnncc's RTL library (``hls_templates/rtl``) and its ROM files.
Conventions follow the HLS backend (:mod:`qnncc.codegen.layer_code`): module
name ``safe_identifier(node.name)``, AXI-Stream ports ``in0_V_TDATA/TVALID/
TREADY, ..., out0_V_...`` of ``roundup8(stream width)`` bits, clock ``ap_clk``,
active-low synchronous reset ``ap_rst_n``; stream words are packed as
:mod:`qnncc.codegen.packing` packs them, so test data equals cppsim data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

from qnncc.codegen.hls.layer_code import Port, stream_ports, top_name
from qnncc.codegen.hls.layers._common import int_list
from qnncc.core.datatype import DataType, Kind
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.hw.layers.base import HWLayer

from ..packing import to_hex_words
from ..render import CodegenError
from .keywords import VERILOG_KEYWORDS

__all__ = [
    "RAM_STYLES",
    "RtlLayer",
    "accumulator_bits",
    "activation_params",
    "dt_params",
    "int_list",
    "module_name",
    "new_rtl_layer",
    "ram_style",
    "rom_file",
    "same_stream_type",
    "threshold_rom",
]


@dataclass
class RtlLayer:
    """Generated RTL of one HW layer before rendering.

    Attributes:
        name: Verilog module name of the wrapper (safe identifier of the node name).
        node_name: the ONNX node name (comments only).
        op_type: HW op type.
        ports: AXI-Stream input ports then output ports (as the HLS backend's).
        bits: payload bits per port name (elements per word x element bits; TDATA is padded to bytes).
        core: library module instantiated by the wrapper, e.g. ``qnncc_mvau``.
        params: Verilog parameters of the core (ints or strings).
        roms: ROM files, file name -> ``$readmemh`` text.
        dtypes: element datatype per port name.
        single_stream: True when the core has ``in_*``/``out_*`` ports (one input, one output).
        lanes: copies of the core side by side (``MMV``, :mod:`qnncc.hw.layers.mmv`): lane ``m`` takes
            bits ``[m*B_in/lanes, (m+1)*B_in/lanes)`` of the input word and gives the same slice of the
            output word; the parameters describe one lane. Single-stream cores only.
    """

    name: str
    node_name: str
    op_type: str
    ports: list[Port]
    bits: dict[str, int]
    core: str
    params: dict[str, int | str]
    roms: dict[str, str] = field(default_factory=dict)
    dtypes: dict[str, DataType] = field(default_factory=dict)
    single_stream: bool = True
    lanes: int = 1

    @property
    def inputs(self) -> list[Port]:
        """Input ports in order."""
        return [p for p in self.ports if p.direction == "in"]

    @property
    def outputs(self) -> list[Port]:
        """Output ports in order."""
        return [p for p in self.ports if p.direction == "out"]


def new_rtl_layer(model: ModelWrapper, node: onnx.NodeProto, layer: HWLayer, core: str) -> RtlLayer:
    """An :class:`RtlLayer` with name, ports and payload widths filled in; the builder adds parameters."""
    ports = stream_ports(model, node, layer)
    ins = [p for p in ports if p.direction == "in"]
    outs = [p for p in ports if p.direction == "out"]
    bits = {p.name: p.elems * layer.input_datatype(i).bitwidth() for i, p in enumerate(ins)}
    bits.update({p.name: p.elems * layer.output_datatype(i).bitwidth() for i, p in enumerate(outs)})
    dtypes = {p.name: layer.input_datatype(i) for i, p in enumerate(ins)}
    dtypes.update({p.name: layer.output_datatype(i) for i, p in enumerate(outs)})
    return RtlLayer(module_name(node), node.name, node.op_type, ports, bits, core, {}, dtypes=dtypes)


def module_name(node: onnx.NodeProto) -> str:
    """Verilog module name of a HW node: its C++/tcl name (``safe_identifier``), ``n_`` before a Verilog keyword."""
    name = top_name(node)
    return f"n_{name}" if name in VERILOG_KEYWORDS else name


def dt_params(dt: DataType, prefix: str) -> dict[str, int | str]:
    """Verilog parameters ``<prefix>_BITS``, ``_SIGNED``, ``_BIPOLAR`` of an element datatype.

    Raises:
        CodegenError: for non-integer datatypes (float, fixed point).
    """
    if not (dt.is_integer() or dt.kind is Kind.BIPOLAR):
        raise CodegenError(f"{prefix}: datatype {dt.name} is not an integer type; RTL generation needs integer streams")
    bipolar = dt.kind is Kind.BIPOLAR
    return {
        f"{prefix}_BITS": dt.bitwidth(),
        f"{prefix}_SIGNED": int(dt.signed() and not bipolar),
        f"{prefix}_BIPOLAR": int(bipolar),
    }


def signed_bits(lo: int, hi: int) -> int:
    """Bits of the smallest two's complement type holding ``[lo, hi]`` (at least 2)."""
    bits = 2
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def rom_file(words: np.ndarray, dt: DataType | str) -> str:
    """``$readmemh`` text of ROM words ``[depth, lanes]`` (lane 0 in the low bits, as stream packing)."""
    return "\n".join(to_hex_words(np.asarray(words), dt, prefix="")) + "\n"


def threshold_rom(node_name: str, thresholds: np.ndarray, channels: int, pe: int) -> tuple[str, int, int]:
    """Threshold ROM of ``channels`` channels, PE per word.

    Args:
        node_name: for error messages.
        thresholds: ``[channels or 1, steps]``; float thresholds round up, which
            is exact for integer inputs (``x >= t <=> x >= ceil(t)``).
        channels: output channels (MH or NumChannels).
        pe: channels per word; word ``nf``, lane ``(p, k)`` holds threshold ``k`` of channel ``nf*PE + p``.

    Returns:
        ``(rom text, steps, bits per threshold)``.

    Raises:
        CodegenError: if the table does not fit ``channels`` or is not finite.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] not in (1, channels):
        raise CodegenError(f"{node_name}: thresholds of shape {list(t.shape)} do not fit {channels} channels")
    if not np.isfinite(t).all():
        raise CodegenError(f"{node_name}: thresholds must be finite")
    table = np.broadcast_to(np.ceil(t), (channels, t.shape[1])).astype(np.int64)
    steps = table.shape[1]
    bits = signed_bits(int(table.min()), int(table.max()))
    words = table.reshape(channels // pe, pe * steps)
    return rom_file(words, f"INT{bits}"), steps, bits


def same_stream_type(layer: HWLayer, node: onnx.NodeProto) -> DataType:
    """The stream datatype of a layer whose output datatype is its input's.

    Raises:
        CodegenError: if the datatypes differ or have no RTL encoding.
    """
    idt, odt = layer.input_datatype(), layer.output_datatype()
    if idt != odt:
        raise CodegenError(f"{node.name}: input {idt.name} and output {odt.name} datatypes must be equal")
    dt_params(idt, f"{node.name} stream")
    return idt


def ram_style(layer: HWLayer, default: str = "auto") -> str:
    """The node's ``ram_style`` attribute as a library ROM style."""
    style = str(layer.attrs.get("ram_style", default))
    return style if style in RAM_STYLES else "auto"


def accumulator_bits(mw: int, idt: DataType, wdt: DataType, xnor: bool) -> int:
    """Signed accumulator bits that hold every partial sum of ``mw`` products (no wrap-around).

    XNOR mode counts matches (``0..MW``); otherwise the bound is
    ``MW * max|x| * max|w|`` (partial sums of weights of both signs can exceed
    the final result's range).
    """
    if xnor:
        return mw.bit_length() + 1
    largest = mw * max(abs(idt.min()), abs(idt.max())) * max(abs(wdt.min()), abs(wdt.max()))
    return int(largest).bit_length() + 1


def activation_params(rtl: RtlLayer, layer: HWLayer, thresholds: np.ndarray, channels: int, pe: int) -> None:
    """Add the threshold ROM and the activation parameters (STEPS, T_W, ACT_VAL, BIPOLAR_OUT, T_FILE)."""
    text, steps, bits = threshold_rom(rtl.node_name, thresholds, channels, pe)
    filename = f"{rtl.name}_thresholds.dat"
    rtl.roms[filename] = text
    rtl.params.update(
        {
            "STEPS": steps,
            "T_W": bits,
            "ACT_VAL": int(layer.attrs.get("ActVal", 0)),
            "BIPOLAR_OUT": int(layer.output_datatype().name == "BIPOLAR"),
            "T_FILE": filename,
        }
    )


#: ram_style values passed to the library's ROMs (anything else becomes "auto").
RAM_STYLES = frozenset({"block", "distributed", "ultra", "auto"})
