"""Vivado IP integrator scripts for a dataflow partition: stitch, bitstream build and a Makefile.

:func:`write_stitch` writes, under a build directory that also holds the HLS
projects (``hls/<top>/``):

* ``stitch/stitch_ipi.tcl`` creates the Vivado project ``qnncc_vivado`` in
  ``stitch/vivado_proj`` and the block design ``qnncc_bd``: one cell per HW
  node (see :mod:`qnncc.codegen.vivado.plan`), AXI-Stream connections, clock
  and reset. In ``generic`` mode the partition's streams, clock and reset
  become external ports (``s_axis_<k>``, ``m_axis_<k>``, ``ap_clk``,
  ``ap_rst_n``) and the design is packaged as an IP. In ``zynq`` mode a
  processing system (``processing_system7`` on Zynq-7000,
  ``zynq_ultra_ps_e`` on Zynq UltraScale+) clocks the design and AXI DMAs
  move the streams from and to DDR: ``axi_dma_<k>`` serves partition input
  ``k`` (MM2S) and partition output ``k`` (S2MM), so a single-input,
  single-output partition has the one DMA ``axi_dma_0``. Before each S2MM
  channel a TLAST inserter ``qnncc_tlast_<k>`` (an HLS IP written by
  :func:`qnncc.codegen.vivado.tlast.write_tlast_ips`, AXI-Lite control on the PS
  control SmartConnect) marks the last word of each batch.
* ``stitch/build_bitstream.tcl`` runs synthesis and implementation, copies the
  bitstream and hardware handoff to ``bitfile/qnncc.bit``/``qnncc.hwh`` (the
  names the PYNQ driver loads) and writes reports to ``reports/``.
* ``stitch/ip_catalog.json`` lists every cell, its interfaces and the expected
  stream nets, derived from the model; :mod:`vivado_stub.check` compares
  the tcl against it.
* ``Makefile.vivado`` with targets ``hls`` (every HLS IP of the design: the
  layers and, in zynq mode, the TLAST inserters), ``stitch``, ``bitstream``
  and ``all``.

With ``backend="rtl"`` (``qnncc build --backend rtl``) the layer cells are
module references to the Verilog wrappers in ``rtl/`` (written by
:func:`qnncc.codegen.rtl.generate_rtl`): the script adds ``rtl/*.v`` and the
ROM files ``rtl/*.dat`` to the project and creates each layer with
``create_bd_cell -type module -reference <module> <cell>``; FIFOs are the
library's ``qnncc_fifo`` behind their wrappers, and the zynq shell's TLAST
inserters are module references too (``rtl/qnncc_tlast_<k>.v`` around the
library's ``qnncc_tlast``, written by :func:`qnncc.codegen.vivado.tlast.write_tlast_rtl`),
so the design has no HLS IP left.

All paths in the scripts are relative to the build directory, found from the
script's own location, so the folder can be moved to a machine with Vivado.
The cells and nets come from :mod:`.stitch_plan` (accelerator) and
:mod:`.stitch_shell` (zynq/generic shell).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import onnx

from qnncc.boards import Board, get_board
from qnncc.codegen.names import safe_identifier
from qnncc.codegen.render import CodegenError, render
from qnncc.codegen.vivado.cells import StitchBackend, StitchPlan
from qnncc.codegen.vivado.plan import stitch_plan
from qnncc.codegen.vivado.shell import Mode, block_design
from qnncc.core.model_wrapper import ModelWrapper

__all__ = [
    "StitchFiles",
    "ip_catalog",
    "render_build_tcl",
    "render_stitch_tcl",
    "render_vivado_makefile",
    "rtl_sources",
    "write_stitch",
]

#: Board file ids (``<vendor>:<id>:part0:<version>``) of the catalogued boards.
BOARD_FILE_IDS: dict[str, str] = {
    "Pynq-Z1": "pynq-z1",
    "Pynq-Z2": "pynq-z2",
    "ZedBoard": "zedboard",
    "ZC706": "zc706",
    "Ultra96": "ultra96v1",
    "Ultra96-V2": "ultra96v2",
    "AUP-ZU3_8GB": "aup-zu3-8gb",
    "KV260_SOM": "kv260_som",
    "ZCU102": "zcu102",
    "ZCU104": "zcu104",
    "U250": "au250",
    "U280": "au280",
}
_SHELL_ROLES = {
    "dma": "AXI DMA: MM2S feeds partition input k, S2MM receives partition output k",
    "dwc": "AXI-Stream width converter between the DMA and the accelerator",
    "ps": "processing system: fabric clock, AXI master for control, HP slave for DDR",
    "reset": "processor system reset",
    "smartconnect": "AXI SmartConnect",
    "hls": "HLS IP",
    "rtl": "RTL module reference",
    "tlast": "TLAST inserter: marks the last word of a batch for the DMA's S2MM channel (frames over AXI-Lite)",
    "fifo": "AXI-Stream FIFO",
    "partition": "stitched dataflow partition (packaged block design)",
}
BD_NAME = "qnncc_bd"
PROJECT_NAME = "qnncc_vivado"


def _pin(ref: str) -> str:
    """Tcl expression of a pin (``cell/pin``) or top-level port (``name``)."""
    return f"[get_bd_pins {ref}]" if "/" in ref else f"[get_bd_ports {ref}]"


def _vlnv_expr(vlnv: str) -> str:
    if vlnv.startswith("xilinx.com:ip:"):
        prefix, version = vlnv.rsplit(":", 1)
        return f"[qnncc_ipdef {prefix} {version}]"
    return vlnv


def _comment(text: str) -> str:
    """``text`` safe inside a tcl comment (printable ASCII, no backslash)."""
    return "".join(c if " " <= c <= "~" and c != "\\" else "?" for c in text)


def render_stitch_tcl(
    plan: StitchPlan,
    board: str | Board,
    clock_ns: float | None = None,
    mode: Mode = "zynq",
    build_dir_var: str = "qnncc_build_dir",
    bd_name: str = BD_NAME,
    rtl_files: list[str] | None = None,
) -> str:
    """Vivado IPI tcl that builds the block design of ``plan`` (see the module docstring).

    Args:
        plan: From :func:`~qnncc.codegen.vivado.plan.stitch_plan`.
        board: Board or board name; its part becomes the project part.
        clock_ns: Clock period in ns (default: the board's).
        mode: ``zynq`` (PS + AXI DMA shell, for PYNQ) or ``generic`` (external
            AXI-Stream, clock and reset ports; packaged as IP).
        build_dir_var: Tcl variable holding the build directory (set from the
            script's location, the parent of ``stitch/``).
        bd_name: Block design name (also the module name of a packaged IP);
            each partition of a multi-partition design has its own.
        rtl_files: Verilog and ROM files (relative to the build directory)
            added to the project before module-reference cells are created.

    Returns:
        The script text.

    Raises:
        CodegenError: see :func:`~qnncc.codegen.vivado.shell.block_design`;
            or ``build_dir_var`` or ``bd_name`` is not an identifier; or the plan has
            module references but no ``rtl_files``.
    """
    for what, value in (("build_dir_var", build_dir_var), ("bd_name", bd_name)):
        if safe_identifier(value) != value:
            raise CodegenError(f"{what} {value!r} is not a tcl identifier")
    b = get_board(board)
    bd = block_design(plan, b, b.default_clk_ns if clock_ns is None else clock_ns, mode)
    if any(c.reference for c in bd.cells) and not rtl_files:
        raise CodegenError("the stitch plan has RTL module references but no RTL files to add (run the rtl step)")
    sinks_clk = [f"{c.name}/{p}" for c in bd.cells for p in c.clock]
    sinks_rst = [f"{c.name}/{p}" for c in bd.cells if c.kind != "smartconnect" for p in c.reset]
    sinks_ic_rst = [f"{c.name}/{p}" for c in bd.cells if c.kind == "smartconnect" for p in c.reset]
    context: dict[str, Any] = {
        "bd": bd,
        "bd_name": bd_name,
        "project": PROJECT_NAME,
        "bv": build_dir_var,
        "part": b.part,
        "board_id": BOARD_FILE_IDS.get(b.name, ""),
        "repos": [c.ip_repo for c in bd.cells if c.ip_repo],
        "cells": [
            {
                "name": c.name,
                "vlnv": _vlnv_expr(c.vlnv),
                "reference": c.reference,
                "config": " ".join(f"CONFIG.{k} {{{v}}}" for k, v in c.config.items()),
                "what": _comment(f"{c.op_type} node {c.node!r}" if c.node else _SHELL_ROLES[c.kind]),
            }
            for c in bd.cells
        ],
        "streams": bd.streams,
        "clock_nets": [(_pin(bd.clock_source), _pin(s)) for s in sinks_clk],
        "reset_nets": [(_pin(bd.reset_source), _pin(s)) for s in sinks_rst],
        "ic_reset_nets": [("[get_bd_pins rst_ps_0/interconnect_aresetn]", _pin(s)) for s in sinks_ic_rst],
        "busif": "{" + ":".join(e.name for e in bd.external) + "}",
        "ps_automation": "",
        "ps_config": "",
        "rtl_files": [_comment(f) for f in rtl_files or []],
    }
    if mode == "zynq":
        ps = next(c for c in bd.cells if c.kind == "ps")
        context["ps_config"] = " ".join(f"CONFIG.{k} {{{v}}}" for k, v in ps.config.items())
        context["ps_automation"] = (
            '[list make_external "FIXED_IO, DDR" apply_board_preset $qnncc_has_board Master Disable Slave Disable]'
            if ps.vlnv.startswith("xilinx.com:ip:processing_system7:")
            else "[list apply_board_preset $qnncc_has_board]"
        )
    return render("stitch_ipi.tcl.j2", context)


def render_build_tcl(
    mode: Mode = "zynq",
    jobs: int = 8,
    build_dir_var: str = "qnncc_build_dir",
    clock_ns: float = 10.0,
    bd_name: str = BD_NAME,
) -> str:
    """Tcl that synthesises and implements the stitched project.

    In zynq mode it writes the bitstream and copies it with the hardware
    handoff to ``bitfile/qnncc.bit`` and ``bitfile/qnncc.hwh``; in generic mode
    (a packaged IP with no pin constraints) it runs out-of-context synthesis
    and place-and-route only, with ``create_clock -period clock_ns`` on the
    ``ap_clk`` port in an out-of-context XDC. Both write utilisation and
    timing reports to ``reports/``. ``jobs`` is the default of ``-jobs``
    (environment variable ``QNNCC_JOBS`` overrides it).

    Raises:
        CodegenError: for an unknown mode, ``jobs < 1`` or a non-positive clock period.
    """
    if mode not in ("zynq", "generic"):
        raise CodegenError(f"unknown stitch mode {mode!r}; use 'zynq' or 'generic'")
    if jobs < 1:
        raise CodegenError(f"jobs must be >= 1, got {jobs}")
    if not clock_ns > 0:
        raise CodegenError(f"clock period must be > 0 ns, got {clock_ns}")
    context = {"mode": mode, "jobs": jobs, "bv": build_dir_var, "bd_name": bd_name, "project": PROJECT_NAME}
    return render("build_bitstream.tcl.j2", {**context, "clock_ns": f"{clock_ns:g}"})


def render_vivado_makefile(layer_tops: list[str], mode: Mode = "zynq", rtl: bool = False) -> str:
    """Makefile (run from the build dir with ``make -f Makefile.vivado``) with targets hls, stitch, bitstream, all.

    ``rtl``: the block design also reads ``rtl/*.v``/``*.dat`` (RTL backend), so the project depends on them.
    """
    return render("vivado_Makefile.j2", {"tops": list(layer_tops), "mode": mode, "rtl": rtl})


def ip_catalog(
    plan: StitchPlan, board: str | Board, clock_ns: float | None = None, mode: Mode = "zynq", bd_name: str = BD_NAME
) -> dict[str, Any]:
    """Interface catalogue of the block design, derived from the model (what :mod:`.tclcheck` expects).

    Returns:
        A JSON-able dict: ``cells`` (name, vlnv, kind, clock/reset pins,
        config, ``interfaces``: AXI-Stream pins with mode and TDATA width,
        then AXI-Lite slave pins with ``"protocol": "aximm"`` and width 0),
        ``streams`` (expected nets ``src``/``dst`` as ``cell/pin`` or a port
        name, with width), ``mm_nets`` and ``external`` ports.
    """
    b = get_board(board)
    bd = block_design(plan, b, b.default_clk_ns if clock_ns is None else clock_ns, mode)
    streams = [
        {"src": f"{c.src_cell}/{c.src_port}", "dst": f"{c.dst_cell}/{c.dst_port}", "width": c.width} for c in bd.streams
    ]
    external = []
    for e in bd.external:
        slave = e.name.startswith("s_")
        external.append({"name": e.name, "mode": "slave" if slave else "master", "tensor": e.tensor, "width": e.width})
        pin = f"{e.cell}/{e.port}"
        streams.append(
            {"src": e.name, "dst": pin, "width": e.width} if slave else {"src": pin, "dst": e.name, "width": e.width}
        )
    return {
        "format": "qnncc-ip-catalog/1",
        "mode": mode,
        "board": b.name,
        "part": b.part,
        "clock_ns": bd.clock_ns,
        "block_design": bd_name,
        "cells": [
            {
                "name": c.name,
                "vlnv": c.vlnv,
                "kind": c.kind,
                "node": c.node,
                "op_type": c.op_type,
                "ip_repo": c.ip_repo,
                **({"reference": c.reference} if c.reference else {}),
                "clock": list(c.clock),
                "reset": list(c.reset),
                "config": dict(c.config),
                "interfaces": [{"name": p.name, "mode": p.mode, "width": p.width} for p in c.streams]
                + [{"name": pin, "mode": "slave", "width": 0, "protocol": "aximm"} for pin in c.axi_lite],
            }
            for c in bd.cells
        ],
        "streams": streams,
        "mm_nets": [{"src": s, "dst": d} for s, d in bd.mm_nets],
        "external": external,
    }


def rtl_sources(out: Path, references: list[str]) -> list[str]:
    """The Verilog and ROM files of ``out/rtl`` (relative to ``out``), checked to define every referenced module.

    Raises:
        CodegenError: if a module of ``references`` has no ``<module>.v`` there (names them).
    """
    folder = out / "rtl"
    files = sorted(p for p in folder.glob("*") if p.suffix in (".v", ".dat")) if folder.is_dir() else []
    names = {p.name for p in files}
    missing = [ref for ref in references if f"{ref}.v" not in names]
    if missing:
        raise CodegenError(
            f"RTL module(s) {', '.join(missing)} have no Verilog file in {folder}; run the rtl step first"
        )
    return [f"rtl/{p.name}" for p in files]


class StitchFiles(NamedTuple):
    """Paths written by :func:`write_stitch`."""

    stitch_tcl: Path
    build_tcl: Path
    catalog: Path
    makefile: Path


def write_stitch(
    model: ModelWrapper | onnx.ModelProto,
    out_dir: str | Path,
    board: str | Board,
    clock_ns: float | None = None,
    mode: Mode = "zynq",
    jobs: int = 8,
    bd_name: str = BD_NAME,
    backend: StitchBackend = "hls",
) -> StitchFiles:
    """Write the stitch and build scripts, the IP catalogue and ``Makefile.vivado`` under ``out_dir``.

    Args:
        model: The partition's child model, or a parent with one partition.
        out_dir: Build directory (the HLS projects live in ``out_dir/hls``).
        board: Board or board name.
        clock_ns: Clock period in ns (default: the board's).
        mode: ``zynq`` or ``generic``.
        jobs: Default parallel jobs of the Vivado runs.
        bd_name: Block design (and packaged IP module) name.
        backend: ``hls`` (HLS IP per layer) or ``rtl`` (module references to
            ``out_dir/rtl/*.v``, which must exist: the ``rtl`` build step).

    Returns:
        The four paths.

    Raises:
        CodegenError: see :func:`~qnncc.codegen.vivado.plan.stitch_plan` and
            :func:`~qnncc.codegen.vivado.shell.block_design`; for the RTL
            backend, a module without its Verilog file in ``out_dir/rtl``.
    """
    plan = stitch_plan(model, backend)
    b = get_board(board)
    clk = b.default_clk_ns if clock_ns is None else clock_ns
    out = Path(out_dir)
    refs = [c.reference for c in block_design(plan, b, clk, mode).cells if c.reference]
    rtl_files = rtl_sources(out, refs) if backend == "rtl" else None
    stitch_tcl = render_stitch_tcl(plan, b, clk, mode, bd_name=bd_name, rtl_files=rtl_files)
    (out / "stitch").mkdir(parents=True, exist_ok=True)
    files = StitchFiles(
        out / "stitch" / "stitch_ipi.tcl",
        out / "stitch" / "build_bitstream.tcl",
        out / "stitch" / "ip_catalog.json",
        out / "Makefile.vivado",
    )
    files.stitch_tcl.write_text(stitch_tcl)
    files.build_tcl.write_text(render_build_tcl(mode, jobs, clock_ns=clk, bd_name=bd_name))
    files.catalog.write_text(json.dumps(ip_catalog(plan, b, clk, mode, bd_name), indent=2) + "\n")
    tops = [c.name for c in block_design(plan, b, clk, mode).cells if c.ip_repo]
    files.makefile.write_text(render_vivado_makefile(tops, mode, rtl=backend == "rtl"))
    return files
