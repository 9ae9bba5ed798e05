"""TLAST inserters: the small HLS (or RTL) IPs that end each AXI DMA receive transfer (zynq mode).

qnncc's layer IPs stream TDATA only (``hls::stream<ap_uint<W>>``), but an AXI
DMA's S2MM channel ends a transfer on TLAST. In zynq mode the block design
(:mod:`qnncc.codegen.vivado.shell`) puts a TLAST inserter ``qnncc_tlast_<k>``
right before the S2MM channel of ``axi_dma_<k>``, after the width converter if
there is one, so it works at the DMA stream width:

* ``in0_V``: ``hls::stream<ap_uint<W>>`` (W = DMA stream width);
* ``out0_V``: ``hls::stream<ap_axiu<W, 0, 0, 0>>`` with TKEEP/TSTRB all ones
  and TLAST on the last word of the batch;
* AXI-Lite bundle ``control`` (interface ``s_axi_control``): the scalar
  ``frames`` (frames in the batch, offset ``0x10``) and ``ap_ctrl_hs`` on
  ``return`` (``CTRL`` at ``0x00``: bit 0 ``ap_start``, bit 2 ``ap_idle``).

The words per frame at the DMA width are a compile-time constant; the PYNQ
driver writes ``frames`` and sets ``ap_start`` before each receive transfer.

Output layout under the build directory (next to the layers of
:func:`qnncc.codegen.hls.generate_hls`)::

    hls/qnncc_tlast_<k>/top_qnncc_tlast_<k>.cpp   the top, instantiating qnncc/tlast.hpp
    hls/qnncc_tlast_<k>/hls_synth.tcl             Vitis HLS: csynth_design + export_design
    hls/include/                                  qnncc's header library (shared with the layers)

With the RTL backend (:func:`write_tlast_rtl`) each inserter is instead the
Verilog module ``rtl/qnncc_tlast_<k>.v`` (ports named as the HLS IP's, plus
``out0_V_TLAST/TKEEP/TSTRB`` and the ``s_axi_control_*`` AXI-Lite slave) around
the library core ``qnncc_tlast`` (``hls_templates/rtl/qnncc_tlast.v``), with the
same register map, used as a module reference in the stitch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx

from qnncc.codegen.names import safe_identifier
from qnncc.codegen.render import CodegenError, csim_include_dir, include_dir, render
from qnncc.codegen.vivado.cells import StitchPlan
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.shell import tlast_specs
from qnncc.core.model_wrapper import ModelWrapper

__all__ = [
    "TLAST_AP_IDLE",
    "TLAST_AP_START",
    "TLAST_CTRL_OFFSET",
    "TLAST_FRAMES_OFFSET",
    "tlast_sources",
    "tlast_rtl_sources",
    "write_plan_tlast_ips",
    "write_tlast_ips",
    "write_tlast_rtl",
]

#: AXI-Lite offset of the ``ap_ctrl_hs`` control register (Vitis HLS ``s_axilite``).
TLAST_CTRL_OFFSET = 0x00
#: AXI-Lite offset of the ``frames`` argument (the first scalar of an ``s_axilite`` bundle).
TLAST_FRAMES_OFFSET = 0x10
#: ``ap_start`` bit of the control register.
TLAST_AP_START = 0x1
#: ``ap_idle`` bit of the control register.
TLAST_AP_IDLE = 0x4
#: Widest AXI-Stream word the generated top allows (``AP_INT_MAX_W``).
_MAX_WIDTH = 4096
#: Largest compile-time words-per-frame constant (an ``unsigned`` template argument).
_MAX_WORDS = 2**32 - 1


def tlast_sources(port_width_bits: int, words_per_frame: int, name: str, what: str = "") -> dict[str, str]:
    """Sources of one TLAST inserter HLS IP.

    Args:
        port_width_bits: TDATA width W of ``in0_V`` and ``out0_V`` (a multiple
            of 8, at most 4096).
        words_per_frame: W-bit words per frame (compile-time constant).
        name: Top function / IP name, e.g. ``qnncc_tlast_0`` (a safe identifier).
        what: Description for the header comment (default: derived from the arguments).

    Returns:
        File name to text: ``top_<name>.cpp``.

    Raises:
        CodegenError: for a width that is not a positive multiple of 8 up to
            4096, a words-per-frame count outside ``1..2**32-1`` or a name that
            is not a safe identifier.
    """
    width, words = int(port_width_bits), int(words_per_frame)
    if width < 8 or width % 8 or width > _MAX_WIDTH:
        raise CodegenError(f"TLAST inserter {name!r}: width {width} bits is not a multiple of 8 in 8..{_MAX_WIDTH}")
    if not 1 <= words <= _MAX_WORDS:
        raise CodegenError(f"TLAST inserter {name!r}: {words} words per frame is outside 1..{_MAX_WORDS}")
    if safe_identifier(name) != name:
        raise CodegenError(f"TLAST inserter name {name!r} is not a C/tcl identifier")
    context = {
        "name": name,
        "what": (what or f"{words} words of {width} bits per frame").replace("\n", " "),
        "width": width,
        "words_per_frame": words,
    }
    return {f"top_{name}.cpp": render("tlast_top.cpp.j2", context)}


def tlast_rtl_sources(port_width_bits: int, words_per_frame: int, name: str, what: str = "") -> dict[str, str]:
    """The Verilog module ``<name>.v`` of one RTL TLAST inserter (arguments as :func:`tlast_sources`).

    Raises:
        CodegenError: as :func:`tlast_sources`.
    """
    tlast_sources(port_width_bits, words_per_frame, name, what)  # the same checks
    context = {
        "name": name,
        "what": (what or f"{words_per_frame} words of {port_width_bits} bits per frame").replace("\n", " "),
        "width": int(port_width_bits),
        "words_per_frame": int(words_per_frame),
    }
    return {f"{name}.v": render("rtl_tlast.v.j2", context)}


def write_tlast_rtl(plan: StitchPlan, out_dir: str | Path) -> list[str]:
    """Write the RTL TLAST inserters of a (``rtl`` backend) stitch plan's outputs under ``out_dir/rtl`` (zynq mode).

    One module ``qnncc_tlast_<k>.v`` per partition output ``k`` (see
    :func:`qnncc.codegen.vivado.shell.tlast_specs`) and the library core
    ``qnncc_tlast.v`` (already there when the folder holds a partition's RTL).

    Returns:
        The module (cell) names written, in output order.

    Raises:
        CodegenError: see :func:`write_plan_tlast_ips`.
    """
    from qnncc.codegen.rtl.generate import library_files

    specs = tlast_specs(plan)
    clash = {c.name for c in plan.cells} & {s.name for s in specs}
    if clash:
        raise CodegenError(f"HW node cell name {sorted(clash)[0]!r} clashes with a TLAST inserter; rename the node")
    root = Path(out_dir) / "rtl"
    root.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        texts = tlast_rtl_sources(spec.width, spec.words_per_frame, spec.name, f"partition output {spec.index}")
        for filename, text in texts.items():
            (root / filename).write_text(text)
    if specs:
        (root / "qnncc_tlast.v").write_text(library_files()["qnncc_tlast.v"])
        (root / "qnncc_fifo.v").write_text(library_files()["qnncc_fifo.v"])
    return [s.name for s in specs]


def write_tlast_ips(
    model: ModelWrapper | onnx.ModelProto,
    out_dir: str | Path,
    part: str = "xc7z020clg400-1",
    clock_ns: float = 10.0,
) -> list[str]:
    """Write the TLAST inserter HLS projects of a partition's outputs under ``out_dir/hls`` (zynq mode).

    One IP ``qnncc_tlast_<k>`` per partition output ``k``, at the DMA stream
    width the zynq block design uses (see
    :func:`qnncc.codegen.vivado.shell.tlast_specs`). Also makes sure
    ``hls/include`` holds qnncc's header library (as
    :func:`qnncc.codegen.hls.generate_hls` writes it).

    Args:
        model: The partition's child model, or a parent with one partition
            (as for :func:`qnncc.codegen.vivado.stitch.write_stitch`).
        out_dir: Build directory.
        part: FPGA part for the Vitis HLS scripts.
        clock_ns: Clock period for ``create_clock`` (ns).

    Returns:
        The IP (top) names written, in output order.

    Raises:
        CodegenError: see :func:`qnncc.codegen.vivado.plan.stitch_plan` and
            :func:`qnncc.codegen.vivado.shell.tlast_specs`; or a HW node's cell
            name clashes with a TLAST inserter's.
    """
    return write_plan_tlast_ips(stitch_plan(model), out_dir, part, clock_ns)


def write_plan_tlast_ips(plan: StitchPlan, out_dir: str | Path, part: str, clock_ns: float) -> list[str]:
    """:func:`write_tlast_ips` for a stitch plan (e.g. the top design of several partitions).

    Raises:
        CodegenError: see :func:`write_tlast_ips`.
    """
    specs = tlast_specs(plan)
    clash = {c.name for c in plan.cells} & {s.name for s in specs}
    if clash:
        raise CodegenError(f"HW node cell name {sorted(clash)[0]!r} clashes with a TLAST inserter; rename the node")
    root = Path(out_dir) / "hls"
    for spec in specs:
        what = f"partition output {spec.index} {spec.tensor!r}"
        texts = tlast_sources(spec.width, spec.words_per_frame, spec.name, what)
        texts["hls_synth.tcl"] = render(
            "hls_synth.tcl.j2",
            {"node_name": f"TLAST inserter of {what}", "name": spec.name, "part": part, "clock_ns": f"{clock_ns:g}"},
        )
        ip_dir = root / spec.name
        ip_dir.mkdir(parents=True, exist_ok=True)
        for filename, text in texts.items():
            (ip_dir / filename).write_text(text)
    if specs:
        shutil.copytree(include_dir(), root / "include", dirs_exist_ok=True)
        shutil.copytree(csim_include_dir(), root / "csim", dirs_exist_ok=True)
    return [s.name for s in specs]
