"""Check a generated Vivado IPI stitch script without Vivado.

:func:`check_stitch_tcl` runs the script in Python's Tcl interpreter
(``tkinter.Tcl()``) with a stub for every Vivado command it may use. The
stubs record a small block-design model: the project part, IP repositories,
cells with their VLNV and ``CONFIG`` properties, ports, interface nets and
plain nets. Interface pins of qnncc's HLS IPs are derived from the generated
tops (``hls/<top>/top_<top>.cpp``) by Vitis HLS's naming rules
(:mod:`vivado_stub.hls_pins`: AXI-Stream pins named after the arguments,
TDATA in whole bytes, direction from the use, AXI-Lite ``s_axi_<bundle>``,
``ap_clk``/``ap_rst_n``), never from qnncc's catalogue; those of the Xilinx
IPs from a built-in description (stream widths computed from the recorded
``CONFIG``). The catalogue JSON written by
:func:`qnncc.codegen.vivado.stitch.write_stitch` gives the cells and nets the
design must have. Then it checks:

* every catalogued cell exists with its VLNV (or, for the RTL backend, as a
  module reference to its Verilog module, whose file was added with
  ``add_files`` and whose pins are inferred from its port list by
  :mod:`vivado_stub.verilog_pins`), and no other cell does; HLS IP
  repositories are on ``ip_repo_paths`` (inside the build directory); the
  catalogue's interfaces of each HLS IP are the ones its top makes;
* every AXI-Stream and enabled AXI memory-mapped interface pin is connected
  exactly once, master to slave, and the nets are the catalogue's;
* connected stream widths match, and Xilinx IP widths from ``CONFIG`` match
  the catalogue;
* every enabled AXI DMA S2MM channel is fed by a TLAST inserter (the DMA ends
  a receive transfer on TLAST, which qnncc's layer IPs do not drive);
* every clock and reset input is on a net driven by a clock/reset source;
* the project part is the board's part; the clock frequency (PS fabric clock
  or external ``FREQ_HZ``) matches the requested period;
* the design is validated and then saved after the last edit, the wrapper made;
  zynq mode assigns addresses; generic mode has the external stream ports and
  packages the IP;
* the script calls no unknown or forbidden command (exec, open, file writes...).

Example:
    >>> report = check_stitch_tcl("build/stitch/stitch_ipi.tcl", "build/stitch/ip_catalog.json", "Pynq-Z1", 10.0)
    >>> report.ok, report.problems
    (True, [])
"""

from __future__ import annotations

import json
import math
import tkinter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qnncc.boards import Board, get_board
from vivado_stub.interp import PS_FREQ_KEYS, TclCheckReport, VivadoStub

__all__ = ["TclCheckReport", "check_stitch_tcl", "check_stitch_tcl_stub"]


def _protocol_mode(vv: VivadoStub, end: str) -> tuple[str, str, int | None]:
    """Protocol, data direction (``master`` = drives data) and width of a net endpoint."""
    if end.startswith("port:"):
        port = vv.ports[end[5:]]
        width = port.width or (
            8 * int(port.props["CONFIG.TDATA_NUM_BYTES"]) if "CONFIG.TDATA_NUM_BYTES" in port.props else None
        )
        return port.kind, "master" if port.mode == "slave" else "slave", width
    cell, _, pin = end.rpartition("/")
    proto, mode, width = vv.ip(cell).intf[pin]
    return proto, mode, width if proto == "axis" else None


def _check_nets(vv: VivadoStub, problems: list[str]) -> None:
    uses: dict[str, int] = {}
    got: set[tuple[str, str]] = set()
    for a, b, line in vv.intf_nets:
        for e in (a, b):
            uses[e] = uses.get(e, 0) + 1
        (pa, ma, wa), (pb, mb, wb) = _protocol_mode(vv, a), _protocol_mode(vv, b)
        src, dst = (a, b) if ma == "master" else (b, a)
        name = lambda e: e[5:] if e.startswith("port:") else e  # noqa: E731
        if pa != pb or ma == mb:
            problems.append(f"line {line}: net {name(a)} <-> {name(b)} joins {pa} {ma} to {pb} {mb}")
        elif wa is not None and wb is not None and wa != wb:
            problems.append(f"line {line}: width mismatch on {name(src)} -> {name(dst)}: {wa} vs {wb} bits")
        if pa in ("axis", "aximm"):
            got.add((name(src), name(dst)))
    for cell in vv.cells:
        for pin, (proto, _, _) in vv.ip(cell).intf.items():
            n = uses.get(f"{cell}/{pin}", 0)
            label = {"axis": "AXI-Stream", "aximm": "AXI"}.get(proto, proto)
            if n != 1:
                problems.append(
                    f"{label} interface pin {cell}/{pin} is {'not connected' if n == 0 else f'connected {n} times'}"
                )
    want = {(s["src"], s["dst"]) for s in (*vv.catalog["streams"], *vv.catalog.get("mm_nets", []))}
    ok_cells = set(vv.cells)
    for src, dst in sorted(want - got):
        if all(e.partition("/")[0] in ok_cells or "/" not in e for e in (src, dst)):
            problems.append(f"expected net {src} -> {dst} is missing")
    for src, dst in sorted(got - want):
        problems.append(f"unexpected net {src} -> {dst}")
    kinds = {c["name"]: c.get("kind", "") for c in vv.catalog["cells"]}
    feeds = {dst: src for src, dst in got}
    for cell in vv.cells:
        if "S_AXIS_S2MM" in vv.ip(cell).intf and vv.cells[cell].vlnv.startswith("xilinx.com:ip:axi_dma:"):
            feeder = feeds.get(f"{cell}/S_AXIS_S2MM")
            if feeder is not None and kinds.get(feeder.partition("/")[0]) != "tlast":
                problems.append(
                    f"{cell}/S_AXIS_S2MM is fed by {feeder}, not by a TLAST inserter: "
                    "its receive transfers would never end"
                )


def _check_clocks(vv: VivadoStub, clock_ns: float, problems: list[str]) -> None:
    sources: dict[str, tuple[str, float | None]] = {}  # endpoint -> (clk|rst, MHz)
    for name, port in vv.ports.items():
        if not port.intf and port.mode == "I" and port.kind in ("clk", "rst"):
            hz = port.props.get("CONFIG.FREQ_HZ")
            sources[f"port:{name}"] = (port.kind, float(hz) / 1e6 if hz else None)
    for cell, c in vv.cells.items():
        ipname = c.vlnv.split(":")[2] if c.vlnv else ""
        ip = vv.ip(cell)
        mhz = float(c.config[PS_FREQ_KEYS[ipname]]) if PS_FREQ_KEYS.get(ipname) in c.config else None
        for pin in ip.clk_out:
            sources[f"{cell}/{pin}"] = ("clk", mhz)
        for pin in ip.rst_out:
            sources[f"{cell}/{pin}"] = ("rst", None)
    net_of = {e: i for i, net in enumerate(vv.nets) for e in net}
    want_mhz = 1e3 / clock_ns
    bad_freq: set[str] = set()
    for net in vv.nets:
        drivers = sorted(e for e in net if e in sources)
        if len(drivers) > 1:
            problems.append(f"net of {', '.join(drivers)} has {len(drivers)} drivers")
    for cell in vv.cells:
        ip = vv.ip(cell)
        for kind, pins in (("clk", ip.clk_in), ("rst", ip.rst_in)):
            label = "clock" if kind == "clk" else "reset"
            for pin in pins:
                ref = f"{cell}/{pin}"
                if ref not in net_of:
                    problems.append(f"{label} pin {ref} is not connected")
                    continue
                drivers = [e for e in vv.nets[net_of[ref]] if e in sources and sources[e][0] == kind]
                if not drivers:
                    problems.append(f"{label} pin {ref} is not driven by a {label} source")
                elif kind == "clk":
                    mhz = sources[drivers[0]][1]
                    name = drivers[0].removeprefix("port:")
                    if mhz is None:
                        bad_freq.add(f"clock source {name} has no frequency set (expected {want_mhz:.6g} MHz)")
                    elif not math.isclose(mhz, want_mhz, rel_tol=1e-4):
                        bad_freq.add(f"clock {name} runs at {mhz:.6g} MHz, expected {want_mhz:.6g} MHz ({clock_ns} ns)")
    for name, port in vv.ports.items():
        hz = port.props.get("CONFIG.FREQ_HZ")
        if port.intf and hz and not math.isclose(float(hz) / 1e6, want_mhz, rel_tol=1e-4):
            bad_freq.add(f"interface port {name} has FREQ_HZ {hz}, expected {round(1e9 / clock_ns)}")
    problems.extend(sorted(bad_freq))


def _final_checks(vv: VivadoStub, board: Board, clock_ns: float) -> list[str]:
    problems: list[str] = []
    cat = vv.catalog
    if not vv.part:
        problems.append("the script does not create a project (create_project -part ...)")
    elif vv.part != board.part:
        problems.append(f"project part {vv.part} is not board {board.name}'s part {board.part}")
    if vv.bd != cat["block_design"]:
        problems.append(f"block design is {vv.bd!r}, expected {cat['block_design']!r}")
    for p in vv.repo_paths:
        if not vv._norm(Path(p)).startswith(vv._norm(vv.build_dir) + "/"):
            problems.append(f"IP repository {p} is outside the build directory {vv.build_dir}")
    expected = {c["name"]: c for c in cat["cells"]}
    for name, entry in expected.items():
        if name not in vv.cells:
            problems.append(f"cell {name} ({entry['vlnv']}) is not created")
        elif vv.cells[name].vlnv != entry["vlnv"]:
            problems.append(f"cell {name} has VLNV {vv.cells[name].vlnv}, expected {entry['vlnv']}")
        elif vv.cells[name].reference != entry.get("reference", ""):
            got = vv.cells[name].reference or "none"
            problems.append(f"cell {name} references module {got}, expected {entry.get('reference') or 'an IP'}")
    problems += [f"cell {n} ({c.vlnv}) is not in the catalogue" for n, c in vv.cells.items() if n not in expected]
    for name, entry in expected.items():
        if name in vv.cells and not entry["vlnv"].startswith("xilinx.com:"):
            derived = vv.ip(name).intf
            for i in entry["interfaces"]:
                want = (i.get("protocol", "axis"), i["mode"], int(i["width"]))
                got = derived.get(i["name"])
                if got is None:
                    what = "Verilog module" if entry.get("reference") else "HLS top"
                    problems.append(f"cell {name}: the catalogue's interface {i['name']} is not a pin of its {what}")
                elif (got[0], got[1]) != want[:2] or (got[0] == "axis" and got[2] != want[2]):
                    what = "Verilog module" if entry.get("reference") else "HLS top"
                    problems.append(
                        f"cell {name}: catalogue interface {i['name']} ({want[2]}-bit {want[1]}) differs from "
                        f"the {what}'s ({got[2]}-bit {got[1]})"
                    )
        if name in vv.cells and entry["vlnv"].startswith("xilinx.com:"):
            intf = vv.ip(name).intf
            for i in entry["interfaces"]:
                have = intf.get(i["name"])
                if have is None:
                    problems.append(f"cell {name} has no interface {i['name']} with its CONFIG")
                elif have[2] != int(i["width"]) or have[1] != i["mode"]:
                    problems.append(
                        f"{name}/{i['name']} is a {have[2]}-bit {have[1]} by its CONFIG, "
                        f"the catalogue expects a {i['width']}-bit {i['mode']}"
                    )
    _check_nets(vv, problems)
    _check_clocks(vv, clock_ns, problems)
    for e in cat.get("external", []):
        port = vv.ports.get(e["name"])
        if port is None or not port.intf:
            problems.append(f"external stream port {e['name']} does not exist")
        elif port.mode != e["mode"]:
            problems.append(f"external port {e['name']} is a {port.mode}, expected {e['mode']}")
    ev = vv.events
    if "validate" not in ev:
        problems.append("the block design is never validated (validate_bd_design)")
    elif ev["validate"] < ev.get("edit", 0):
        problems.append("the block design is edited after validate_bd_design")
    if "save" not in ev or ev["save"] < ev.get("validate", 0):
        problems.append("the block design is not saved after validation (save_bd_design)")
    if "wrapper" not in ev or "add_files" not in ev:
        problems.append("no HDL wrapper is made and added (make_wrapper, add_files)")
    if cat["mode"] == "zynq" and "assign_bd_address" not in ev:
        problems.append("zynq mode: addresses are never assigned (assign_bd_address)")
    if cat["mode"] == "generic" and "ipx::package_project" not in ev:
        problems.append("generic mode: the block design is not packaged as IP (ipx::package_project)")
    return problems


def check_stitch_tcl_stub(tcl_path: Path, catalog_json: Path) -> tuple[VivadoStub, list[str]]:
    """Run a (partition's) stitch script in a fresh stub: the stub (its ports, block design) and the problems.

    The board and clock come from the catalogue; used to derive the pins of a packaged partition IP.
    """
    catalog = json.loads(Path(catalog_json).read_text())
    tcl = tkinter.Tcl()
    vv = VivadoStub(tcl, catalog, Path(tcl_path).resolve().parent.parent, False)
    vv.install()
    try:
        tcl.call("qnncc_real_source", str(Path(tcl_path).resolve()))
    except tkinter.TclError as err:
        return vv, [*vv.report.problems, f"script stopped with a Tcl error: {err}"]
    return vv, [*vv.report.problems, *_final_checks(vv, get_board(catalog["board"]), float(catalog["clock_ns"]))]


def check_stitch_tcl(
    tcl_path: str | Path,
    catalog_json: str | Path | Mapping[str, Any],
    board: str | Board,
    clock_ns: float,
    board_files: bool = False,
) -> TclCheckReport:
    """Run a stitch script against stub Vivado commands and check the block design it builds.

    Args:
        tcl_path: The script (``stitch/stitch_ipi.tcl``); its build directory
            is the parent of its folder, as the script computes it.
        catalog_json: ``ip_catalog.json`` (path) or its parsed content.
        board: Board (or name) whose part the project must use.
        clock_ns: Expected clock period in ns.
        board_files: Pretend Vivado has the board files installed.

    Returns:
        The report; ``report.problems`` lists one line per problem (empty
        when the script passes). ``report.raise_for_problems()`` raises them.
    """
    path = Path(tcl_path).resolve()
    catalog = json.loads(Path(catalog_json).read_text()) if isinstance(catalog_json, (str, Path)) else catalog_json
    b = get_board(board)
    tcl = tkinter.Tcl()
    vv = VivadoStub(tcl, catalog, path.parent.parent, board_files)
    vv.install()
    try:
        tcl.call("qnncc_real_source", str(path))
    except tkinter.TclError as err:
        info = str(tcl.eval("set errorInfo")).splitlines()
        where = next((ln.strip() for ln in info if "line" in ln and str(path.name) in ln), "")
        vv.report.problems.append(f"script stopped with a Tcl error: {err} {where}".strip())
        vv.report.problems.append("block-design checks skipped: the script did not run to the end")
        return vv.report
    vv.report.problems.extend(_final_checks(vv, b, clock_ns))
    return vv.report
