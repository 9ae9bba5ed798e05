"""Stub Vivado commands for running a stitch script in Python's Tcl interpreter.

:class:`VivadoStub` installs a Python implementation of every Vivado command
qnncc's stitch script may use into a ``tkinter.Tcl()`` interpreter and records
a small block-design model (project part, IP repositories, cells with VLNV
and ``CONFIG``, ports, interface nets, plain nets, events such as validate
and save). :mod:`vivado_stub.check` runs the script with it and checks
the model. Interface pins of qnncc's HLS IPs are derived from their generated
tops by Vitis HLS's naming rules (:func:`~vivado_stub.hls_pins.hls_ip_pins`, not
from qnncc's catalogue); those of the Xilinx IPs the stitch uses from :func:`xilinx_ip`.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from qnncc.codegen.render import CodegenError
from vivado_stub.hls_pins import HlsPinError, hls_ip_pins
from vivado_stub.verilog_pins import VerilogPinError, module_pins, modules_in
from vivado_stub.xilinx_ips import PS_FREQ_KEYS, XilinxIp, xilinx_ip

__all__ = ["PS_FREQ_KEYS", "TclCheckReport", "VivadoStub"]

#: Vivado commands with no effect on the model (recorded only).
_PASSIVE = (
    "update_compile_order",
    "regenerate_bd_layout",
    "startgroup",
    "endgroup",
    "set_msg_config",
    "generate_target",
    "import_files",
    "current_bd_design",
    "open_bd_design",
    "get_bd_addr_segs",
)
_FORBIDDEN = ("exec", "open", "socket", "cd", "exit", "load")
_SAFE_FILE = frozenset({"normalize", "dirname", "join", "tail", "rootname", "extension", "split", "exists"})


@dataclass
class TclCheckReport:
    """Result of :func:`check_stitch_tcl`.

    Attributes:
        problems: One line per problem; empty means the script passed.
        commands: Names of the Vivado commands the script called, in order.
        cells: Cell name to VLNV, as created by the script.
        messages: Text the script printed with ``puts``.
    """

    problems: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise if the check failed.

        Raises:
            CodegenError: listing the problems separated by ``; ``.
        """
        if self.problems:
            raise CodegenError(f"stitch tcl check failed ({len(self.problems)} problems): " + "; ".join(self.problems))


@dataclass
class _Cell:
    vlnv: str
    line: int
    config: dict[str, str] = field(default_factory=dict)
    reference: str = ""  # Verilog module of a module-reference cell


@dataclass
class _Port:
    intf: bool
    mode: str  # intf: master/slave; plain: I/O
    kind: str  # axis/aximm/... or clk/rst/data
    props: dict[str, str] = field(default_factory=dict)
    width: int = 0  # intf ports made from a pin copy its width


class VivadoStub:
    """Stub Vivado commands recording a block-design model."""

    def __init__(self, tcl: tkinter.Tk, catalog: Mapping[str, Any], build_dir: Path, board_files: bool) -> None:
        self.tcl = tcl
        self.catalog = catalog
        self.build_dir = build_dir
        self.board_files = board_files
        self.report = TclCheckReport()
        self.qnncc_ips = {
            c["vlnv"]: c for c in catalog["cells"] if c["vlnv"] and not c["vlnv"].startswith("xilinx.com:")
        }
        self.sources: list[Path] = []  # files given to add_files, in order
        self._module_pins: dict[str, XilinxIp] = {}
        self.part = ""
        self.project_props: dict[str, str] = {}
        self.repo_paths: list[str] = []
        self.catalog_updated = False
        self.bd = ""
        self.cells: dict[str, _Cell] = {}
        self.ports: dict[str, _Port] = {}
        self.intf_nets: list[tuple[str, str, int]] = []  # endpoint, endpoint, line
        self.nets: list[set[str]] = []
        self.events: dict[str, int] = {}  # event -> order index of the last occurrence
        self.step = 0
        self.line = 0
        self._hls_pins: dict[str, XilinxIp] = {}

    # ------------------------------------------------------------ plumbing
    def install(self) -> None:
        """Register every stub (and the unknown/forbidden command handlers) in the interpreter."""
        stubs: dict[str, Callable[..., str]] = {
            "create_project": self.create_project,
            "current_project": self.current_project,
            "get_projects": lambda *a: "project:",
            "current_fileset": lambda *a: "fileset:sources_1",
            "get_filesets": lambda *a: "fileset:sources_1",
            "get_runs": lambda *a: "run:" + (a[-1] if a else ""),
            "set_property": self.set_property,
            "get_property": self.get_property,
            "get_board_parts": self.get_board_parts,
            "get_ipdefs": lambda *a: "",
            "update_ip_catalog": self.update_ip_catalog,
            "create_bd_design": self.create_bd_design,
            "create_bd_cell": self.create_bd_cell,
            "create_bd_port": self.create_bd_port,
            "create_bd_intf_port": self.create_bd_intf_port,
            "get_bd_cells": self.get_bd_cells,
            "get_bd_pins": lambda *a: self.get_pins(False, a),
            "get_bd_intf_pins": lambda *a: self.get_pins(True, a),
            "get_bd_ports": lambda *a: self.get_ports(False, a),
            "get_bd_intf_ports": lambda *a: self.get_ports(True, a),
            "connect_bd_intf_net": self.connect_bd_intf_net,
            "connect_bd_net": self.connect_bd_net,
            "apply_bd_automation": self.apply_bd_automation,
            "make_bd_pins_external": lambda *a: self.make_external(False, a),
            "make_bd_intf_pins_external": lambda *a: self.make_external(True, a),
            "assign_bd_address": lambda *a: self._event("assign_bd_address"),
            "validate_bd_design": lambda *a: self._event("validate"),
            "save_bd_design": lambda *a: self._event("save"),
            "make_wrapper": self.make_wrapper,
            "get_files": lambda *a: "file:" + (a[-1] if a else ""),
            "add_files": self.add_files,
            **{name: (lambda *a: "") for name in _PASSIVE},
        }
        for name, fn in stubs.items():
            self.tcl.createcommand(f"qnncc_stub_{name}", self._wrap(name, fn))
            self.tcl.eval(f"proc {name} args {{ qnncc_stub_{name} [qnncc_line] {{*}}$args }}")
        self.tcl.createcommand("qnncc_unknown", self._unknown)
        self.tcl.createcommand("qnncc_forbidden", self._forbidden)
        self.tcl.createcommand("qnncc_puts", self._puts)
        self.tcl.eval(
            "proc qnncc_line {} { if {[catch {dict get [info frame -2] line} l]} { return 0 }; return $l }\n"
            "proc unknown args { qnncc_unknown [qnncc_line] {*}$args }\n"
            "rename puts qnncc_real_puts\n"
            "proc puts args { qnncc_puts {*}$args }\n"
            "rename source qnncc_real_source\n"
            "rename file qnncc_real_file\n"
            f"proc file {{sub args}} {{ if {{$sub in {{{' '.join(sorted(_SAFE_FILE))}}}}} "
            "{ return [qnncc_real_file $sub {*}$args] }; qnncc_forbidden [qnncc_line] file $sub }\n"
            + "".join(
                f"catch {{rename {c} {{}}}}\nproc {c} args {{ qnncc_forbidden [qnncc_line] {c} }}\n" for c in _FORBIDDEN
            )
        )

    def _wrap(self, name: str, fn: Callable[..., str]) -> Callable[..., str]:
        def call(line: str, *args: str) -> str:
            self.line = int(line) if line.isdigit() else 0
            self.report.commands.append(name)
            self.step += 1
            result = fn(*args)
            return "" if result is None else result

        return call

    def _puts(self, *args: str) -> str:
        self.report.messages.append(args[-1] if args else "")
        return ""

    def _problem(self, text: str) -> str:
        where = f"line {self.line}: " if self.line else ""
        self.report.problems.append(f"{where}{text}")
        return ""

    def _event(self, name: str) -> str:
        self.events[name] = self.step
        return ""

    def _edit(self) -> None:
        self.events["edit"] = self.step

    def _unknown(self, line: str, *args: str) -> str:
        self.line = int(line) if line.isdigit() else 0
        name = args[0] if args else ""
        if name.startswith("ipx::"):
            self.report.commands.append(name)
            self.step += 1
            self.events[name] = self.step
            return "core:ipx"
        return self._problem(f"unknown command {name!r}: not a Vivado command the checker models")

    def _forbidden(self, line: str, *args: str) -> str:
        self.line = int(line) if line.isdigit() else 0
        return self._problem(
            f"forbidden command {' '.join(args)!r}: the stitch script must not touch files or processes"
        )

    def split(self, value: str) -> list[str]:
        """A Tcl list as Python strings."""
        return [str(v) for v in self.tcl.splitlist(value)]

    @staticmethod
    def options(args: tuple[str, ...], with_value: set[str]) -> tuple[dict[str, str], list[str]]:
        """Split ``args`` into ``-option value``/``-flag`` and positional arguments."""
        opts: dict[str, str] = {}
        pos: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a.startswith("-") and len(a) > 1 and not a[1].isdigit():
                if a in with_value and i + 1 < len(args):
                    opts[a] = args[i + 1]
                    i += 1
                else:
                    opts[a] = "1"
            else:
                pos.append(a)
            i += 1
        return opts, pos

    # ------------------------------------------------------------ project
    def current_project(self, *args: str) -> str:
        """Stub of Vivado's ``current_project``: records its effect on the block-design model."""
        return "project:" if self.part else self._problem("current_project before create_project")

    def create_project(self, *args: str) -> str:
        """Stub of Vivado's ``create_project``: records its effect on the block-design model."""
        opts, pos = self.options(args, {"-part"})
        self.part = opts.get("-part", "")
        if not self.part:
            self._problem("create_project without -part")
        return "project:" + (pos[0] if pos else "")

    def get_board_parts(self, *args: str) -> str:
        """Stub of Vivado's ``get_board_parts``: records its effect on the block-design model."""
        _, pos = self.options(args, set())
        if not self.board_files or not pos:
            return ""
        return pos[0].replace("*", "vendor.com", 1).replace("*", "1.0")

    def update_ip_catalog(self, *args: str) -> str:
        """Stub of Vivado's ``update_ip_catalog``: records its effect on the block-design model."""
        self.catalog_updated = bool(self.repo_paths)
        return ""

    def set_property(self, *args: str) -> str:
        """Stub of Vivado's ``set_property``: records its effect on the block-design model."""
        opts, pos = self.options(args, {"-dict", "-name", "-value", "-objects"})
        if "-dict" in opts:
            items = self.split(opts["-dict"])
            pairs = list(zip(items[::2], items[1::2], strict=False))
            objects = pos[0] if pos else ""
        elif "-name" in opts:
            pairs, objects = [(opts["-name"], opts.get("-value", ""))], opts.get("-objects", "")
        elif len(pos) == 3:
            pairs, objects = [(pos[0], pos[1])], pos[2]
        else:
            return self._problem(f"set_property: cannot parse arguments {list(args)}")
        handles = self.split(objects)
        if not handles:
            return self._problem(f"set_property {pairs[0][0]}: no object given")
        for handle in handles:
            for key, value in pairs:
                self._set(handle, key, value)
        return ""

    def _set(self, handle: str, key: str, value: str) -> None:
        kind, _, name = handle.partition(":")
        if kind == "project":
            if key == "ip_repo_paths":
                self.repo_paths = self.split(value)
                self.catalog_updated = False
            self.project_props[key] = value
        elif kind == "cell" and name in self.cells:
            self._edit()
            if key.upper().startswith("CONFIG."):
                self.cells[name].config[key[7:]] = value
            elif key == "name":
                self._problem(f"renaming cell {name!r} is not supported by the checker")
        elif kind in ("port", "intf_port") and name in self.ports:
            self._edit()
            if key == "name":
                self.ports[value] = self.ports.pop(name)
                old, new = f"port:{name}", f"port:{value}"
                self.intf_nets = [(new if a == old else a, new if b == old else b, ln) for a, b, ln in self.intf_nets]
                for net in self.nets:
                    if f"port:{name}" in net:
                        net.discard(old)
                        net.add(new)
            else:
                self.ports[name].props[key.upper()] = value
        elif kind not in ("fileset", "run", "core", "project"):
            self._problem(f"set_property {key}: {handle!r} is not an object (use get_bd_cells/get_bd_ports...)")

    def get_property(self, *args: str) -> str:
        """Stub of Vivado's ``get_property``: records its effect on the block-design model."""
        _, pos = self.options(args, set())
        if len(pos) != 2:
            return ""
        kind, _, name = pos[1].partition(":")
        if kind == "cell" and name in self.cells and pos[0].upper().startswith("CONFIG."):
            return self.cells[name].config.get(pos[0][7:], "")
        if kind in ("port", "intf_port") and name in self.ports:
            return self.ports[name].props.get(pos[0].upper(), "")
        if kind == "project" and pos[0] == "part":
            return self.part
        return self.project_props.get(pos[0], "") if kind == "project" else ""

    # ------------------------------------------------------------ cells and ports
    def create_bd_design(self, *args: str) -> str:
        """Stub of Vivado's ``create_bd_design``: records its effect on the block-design model."""
        _, pos = self.options(args, set())
        if not self.part:
            self._problem("create_bd_design before create_project")
        self.bd = pos[0] if pos else ""
        return "bd:" + self.bd

    def add_files(self, *args: str) -> str:
        """Stub of Vivado's ``add_files``: records the files (sources for module references) and the event."""
        _, pos = self.options(args, {"-fileset", "-of_objects"})
        for item in (f for arg in pos for f in self.split(arg)):
            if item.startswith("file:") or item.endswith("_wrapper.v"):
                continue  # the block design's wrapper (make_wrapper)
            path = Path(item)
            if not path.is_absolute() or not self._norm(path).startswith(self._norm(self.build_dir) + "/"):
                self._problem(f"add_files: {item} is not a path inside the build directory {self.build_dir}")
            elif not path.is_file():
                self._problem(f"add_files: {item} does not exist")
            else:
                self.sources.append(path)
        return self._event("add_files")

    def create_bd_cell(self, *args: str) -> str:
        """Stub of Vivado's ``create_bd_cell``: records its effect on the block-design model."""
        opts, pos = self.options(args, {"-type", "-vlnv", "-reference"})
        name = pos[0].lstrip("/") if pos else ""
        vlnv = opts.get("-vlnv", "")
        if not self.bd:
            return self._problem(f"create_bd_cell {name}: no block design (create_bd_design first)")
        if opts.get("-type") == "module":
            return self._module_cell(name, opts.get("-reference", ""))
        if opts.get("-type") != "ip" or not vlnv or not name:
            return self._problem(f"create_bd_cell {name or '?'}: only '-type ip -vlnv <vlnv> <name>' is supported")
        if name in self.cells:
            return self._problem(f"create_bd_cell: cell {name!r} already exists")
        if vlnv in self.qnncc_ips:
            repo = self.qnncc_ips[vlnv]["ip_repo"]
            if self._norm(self.build_dir / repo) not in {self._norm(Path(p)) for p in self.repo_paths}:
                self._problem(f"cell {name}: IP repository {repo} of {vlnv} is not on ip_repo_paths")
            elif not self.catalog_updated:
                self._problem(f"cell {name}: update_ip_catalog was not run after setting ip_repo_paths")
        elif not vlnv.startswith("xilinx.com:ip:") or xilinx_ip(vlnv.split(":")[2], {}) is None:
            self._problem(f"cell {name}: IP {vlnv} is neither in the catalogue nor a Xilinx IP the checker knows")
        self.cells[name] = _Cell(vlnv, self.line)
        self.report.cells[name] = vlnv
        self._edit()
        return "cell:" + name

    def _module_cell(self, name: str, module: str) -> str:
        """``create_bd_cell -type module -reference <module> <name>``: the module must be in an added source."""
        if not module or not name:
            return self._problem(f"create_bd_cell {name or '?'}: '-type module' needs '-reference <module> <name>'")
        if name in self.cells:
            return self._problem(f"create_bd_cell: cell {name!r} already exists")
        self._module_pins.setdefault(module, self._pins_of_module(module))
        self.cells[name] = _Cell("", self.line, reference=module)
        self.report.cells[name] = f"module:{module}"
        self._edit()
        return "cell:" + name

    def _pins_of_module(self, module: str) -> XilinxIp:
        for path in self.sources:
            if path.suffix in (".v", ".sv"):
                text = path.read_text()
                if module in modules_in(text):
                    try:
                        return module_pins(text, module)
                    except VerilogPinError as err:
                        self._problem(f"module reference {module}: {err}")
                        return XilinxIp({})
        self._problem(f"module reference {module}: no source added with add_files defines it")
        return XilinxIp({})

    @staticmethod
    def _norm(path: Path) -> str:
        return str(PurePosixPath(*Path(path).resolve().parts))

    def ip(self, cell: str) -> XilinxIp:
        """Pins of ``cell`` (from the catalogue or the built-in Xilinx descriptions)."""
        c = self.cells[cell]
        if c.reference:
            return self._module_pins.get(c.reference, XilinxIp({}))
        if c.vlnv in self.qnncc_ips and self.qnncc_ips[c.vlnv].get("kind") == "partition":
            return self.packaged_pins(self.qnncc_ips[c.vlnv]["ip_repo"], c.vlnv)
        if c.vlnv in self.qnncc_ips:
            return self.hls_pins(c.vlnv.split(":")[2])
        return xilinx_ip(c.vlnv.split(":")[2], c.config) or XilinxIp({})

    def packaged_pins(self, repo: str, vlnv: str) -> XilinxIp:
        """Pins of a packaged partition block design: the external ports its own stitch script makes.

        The partition's build folder is ``repo`` without ``stitch/vivado_proj/ip``; its
        ``stitch/stitch_ipi.tcl`` runs in a fresh stub (checked against its own catalogue),
        and the recorded ports become the IP's pins. A problem of that script is reported here.
        """
        if repo not in self._hls_pins:
            from vivado_stub.check import check_stitch_tcl_stub

            root = self.build_dir / repo
            for _ in range(3):
                root = root.parent
            tcl = root / "stitch" / "stitch_ipi.tcl"
            pins = XilinxIp({}, ("ap_clk",), ("ap_rst_n",))
            if not tcl.is_file():
                self.report.problems.append(f"partition IP {vlnv}: no stitch script {tcl}")
            else:
                sub, problems = check_stitch_tcl_stub(tcl, root / "stitch" / "ip_catalog.json")
                self.report.problems.extend(f"partition IP {vlnv}: {p}" for p in problems)
                if sub.bd != vlnv.split(":")[2]:
                    self.report.problems.append(f"partition IP {vlnv}: its script packages block design {sub.bd!r}")
                intf = {name: (p.kind, p.mode, p.width) for name, p in sub.ports.items() if p.intf}
                clk = tuple(n for n, p in sub.ports.items() if not p.intf and p.kind == "clk" and p.mode == "I")
                rst = tuple(n for n, p in sub.ports.items() if not p.intf and p.kind == "rst" and p.mode == "I")
                pins = XilinxIp(intf, clk, rst)
            self._hls_pins[repo] = pins
        return self._hls_pins[repo]

    def hls_pins(self, top: str) -> XilinxIp:
        """Pins of the HLS IP of ``top``, from ``hls/<top>/top_<top>.cpp`` by Vitis HLS's naming rules."""
        if top not in self._hls_pins:
            source = self.build_dir / "hls" / top / f"top_{top}.cpp"
            library_dir = self.build_dir / "hls" / "include" / "qnncc"
            library = {p.name: p.read_text() for p in sorted(library_dir.glob("*.hpp"))}
            pins = XilinxIp({}, ("ap_clk",), ("ap_rst_n",))
            if not source.is_file():
                self.report.problems.append(f"HLS IP {top}: no generated top {source.relative_to(self.build_dir)}")
            else:
                try:
                    pins = hls_ip_pins(source, library)
                except HlsPinError as err:
                    self.report.problems.append(f"HLS IP {top}: {err}")
            self._hls_pins[top] = pins
        return self._hls_pins[top]

    def create_bd_port(self, *args: str) -> str:
        """Stub of Vivado's ``create_bd_port``: records its effect on the block-design model."""
        opts, pos = self.options(args, {"-dir", "-type", "-freq_hz", "-from", "-to"})
        name = pos[0] if pos else ""
        if not name or name in self.ports:
            return self._problem(f"create_bd_port: missing or duplicate port name {name!r}")
        port = _Port(False, opts.get("-dir", ""), opts.get("-type", "data"))
        if "-freq_hz" in opts:
            port.props["CONFIG.FREQ_HZ"] = opts["-freq_hz"]
        self.ports[name] = port
        self._edit()
        return "port:" + name

    def create_bd_intf_port(self, *args: str) -> str:
        """Stub of Vivado's ``create_bd_intf_port``: records its effect on the block-design model."""
        opts, pos = self.options(args, {"-mode", "-vlnv"})
        name = pos[0] if pos else ""
        if not name or name in self.ports:
            return self._problem(f"create_bd_intf_port: missing or duplicate port name {name!r}")
        proto = "axis" if "axis_rtl" in opts.get("-vlnv", "") else "aximm" if "aximm" in opts.get("-vlnv", "") else "?"
        self.ports[name] = _Port(True, opts.get("-mode", "").lower(), proto)
        self._edit()
        return "intf_port:" + name

    def get_bd_cells(self, *args: str) -> str:
        """Stub of Vivado's ``get_bd_cells``: records its effect on the block-design model."""
        opts, pos = self.options(args, set())
        names = [p.lstrip("/") for arg in pos for p in self.split(arg)]
        missing = [n for n in names if n not in self.cells]
        if missing and "-quiet" not in opts:
            self._problem(f"get_bd_cells: no cell {missing[0]!r}")
        return " ".join(f"cell:{n}" for n in names if n in self.cells)

    def get_pins(self, intf: bool, args: tuple[str, ...]) -> str:
        """Stub of ``get_bd_pins``/``get_bd_intf_pins``: pin handles by path."""
        opts, pos = self.options(args, {"-of_objects", "-filter"})
        if "-of_objects" in opts or "-filter" in opts:
            return self._problem("get_bd_pins/get_bd_intf_pins: -of_objects/-filter are not supported by the checker")
        found = []
        for ref in (p.lstrip("/") for arg in pos for p in self.split(arg)):
            cell, _, pin = ref.rpartition("/")
            what = "interface pin" if intf else "pin"
            if cell not in self.cells:
                self._problem(f"no cell {cell!r} for {what} {ref}")
                continue
            ip = self.ip(cell)
            names = set(ip.intf) if intf else {*ip.clk_in, *ip.rst_in, *ip.clk_out, *ip.rst_out, *ip.pins}
            if pin not in names:
                if "-quiet" not in opts:
                    self._problem(f"{what} {ref} does not exist (cell {cell} has {', '.join(sorted(names)) or 'none'})")
                continue
            found.append(f"{'intf_pin' if intf else 'pin'}:{ref}")
        return " ".join(found)

    def get_ports(self, intf: bool, args: tuple[str, ...]) -> str:
        """Stub of ``get_bd_ports``/``get_bd_intf_ports``: port handles by name."""
        opts, pos = self.options(args, {"-filter"})
        found = []
        for name in (p.lstrip("/") for arg in pos for p in self.split(arg)):
            port = self.ports.get(name)
            if port is None or port.intf != intf:
                if "-quiet" not in opts:
                    self._problem(f"no {'interface ' if intf else ''}port {name!r}")
                continue
            found.append(f"{'intf_port' if intf else 'port'}:{name}")
        return " ".join(found)

    # ------------------------------------------------------------ connections
    def _endpoints(self, args: tuple[str, ...], intf: bool) -> list[str]:
        _, pos = self.options(args, {"-intf_net", "-net"})
        handles = [h for arg in pos for h in self.split(arg)]
        kinds = ("intf_pin", "intf_port") if intf else ("pin", "port")
        bad = [h for h in handles if h.partition(":")[0] not in kinds]
        if bad or not pos:
            cmd = "connect_bd_intf_net" if intf else "connect_bd_net"
            self._problem(
                f"{cmd}: argument {bad[0] if bad else '(none)'!r} is not an existing {kinds[0]} or port object"
            )
            return []
        return handles

    def connect_bd_intf_net(self, *args: str) -> str:
        """Stub of Vivado's ``connect_bd_intf_net``: records its effect on the block-design model."""
        ends = self._endpoints(args, True)
        if len(ends) == 2:
            a, b = (e.partition(":")[2] if e.startswith("intf_pin") else "port:" + e.partition(":")[2] for e in ends)
            self.intf_nets.append((a, b, self.line))
            self._edit()
        elif ends:
            self._problem(f"connect_bd_intf_net needs two interface objects, got {len(ends)}")
        return ""

    def connect_bd_net(self, *args: str) -> str:
        """Stub of Vivado's ``connect_bd_net``: records its effect on the block-design model."""
        ends = self._endpoints(args, False)
        ids = {e.partition(":")[2] if e.startswith("pin") else "port:" + e.partition(":")[2] for e in ends}
        if len(ends) < 2:
            return self._problem("connect_bd_net needs at least two pins or ports") if ends else ""
        merged = set(ids)
        for net in [n for n in self.nets if n & ids]:
            merged |= net
            self.nets.remove(net)
        self.nets.append(merged)
        self._edit()
        return ""

    def apply_bd_automation(self, *args: str) -> str:
        """Stub of Vivado's ``apply_bd_automation``: records its effect on the block-design model."""
        opts, pos = self.options(args, {"-rule", "-config"})
        rule = opts.get("-rule", "")
        config = self.split(opts.get("-config", ""))
        cells = [h.partition(":")[2] for arg in pos for h in self.split(arg)]
        if rule == "xilinx.com:bd_rule:processing_system7":
            settings = dict(zip(config[::2], config[1::2], strict=False))
            for cell in cells:
                for pin in ("DDR", "FIXED_IO"):
                    if pin in settings.get("make_external", ""):
                        self.ports[pin] = _Port(True, "master", pin.lower())
                        self.intf_nets.append((f"{cell}/{pin}", f"port:{pin}", self.line))
        elif rule != "xilinx.com:bd_rule:zynq_ultra_ps_e":
            self._problem(f"apply_bd_automation rule {rule!r} is not modelled by the checker")
        self._edit()
        return ""

    def make_external(self, intf: bool, args: tuple[str, ...]) -> str:
        """Stub of ``make_bd_pins_external``/``make_bd_intf_pins_external``."""
        opts, pos = self.options(args, {"-name"})
        handles = [h for arg in pos for h in self.split(arg)]
        if len(handles) != 1 or not handles[0].startswith("intf_pin:" if intf else "pin:"):
            return self._problem(f"make_bd_{'intf_' if intf else ''}pins_external needs one existing pin")
        ref = handles[0].partition(":")[2]
        cell, _, pin = ref.rpartition("/")
        name = opts.get("-name", f"{pin}_0")
        if name in self.ports:
            return self._problem(f"external port {name!r} already exists")
        ip = self.ip(cell)
        if intf:
            proto, mode, width = ip.intf[pin]
            self.ports[name] = _Port(True, mode, proto, width=width)
            self.intf_nets.append((ref, f"port:{name}", self.line))
        else:
            kind = "clk" if pin in (*ip.clk_in, *ip.clk_out) else "rst" if pin in (*ip.rst_in, *ip.rst_out) else "data"
            inward = pin in (*ip.clk_in, *ip.rst_in)
            self.ports[name] = _Port(False, "I" if inward else "O", kind)
            self.connect_bd_net(handles[0], f"port:{name}")
        self._edit()
        return ("intf_port:" if intf else "port:") + name

    def make_wrapper(self, *args: str) -> str:
        """Stub of Vivado's ``make_wrapper``: records its effect on the block-design model."""
        opts, _ = self.options(args, {"-files"})
        if opts.get("-files") != f"file:{self.bd}.bd":
            self._problem(f"make_wrapper -files should be [get_files {self.bd}.bd], got {opts.get('-files')!r}")
        self._event("wrapper")
        return f"{self.bd}_wrapper.v"
