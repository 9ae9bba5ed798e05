"""Pins of a Verilog module used as a Vivado module reference, inferred the way Vivado infers them.

``create_bd_cell -type module -reference M`` makes a cell of the Verilog
module ``M`` from the project's sources. Vivado infers its interfaces from the
port names (UG994, "Inferring interfaces of module references"): ports
``<x>_TDATA``, ``<x>_TVALID`` and ``<x>_TREADY`` form the AXI-Stream interface
``x``, a master when TVALID is an output, its width that of TDATA; a port
carrying an ``X_INTERFACE_INFO`` clock/reset attribute (or named ``*clk``,
``*rst_n``/``*aresetn``) is a clock/reset; the 17 ports ``<x>_AWADDR`` ...
``<x>_RREADY`` of AXI4-Lite form the memory-mapped interface ``x``, a slave
when AWADDR is an input. :func:`module_pins` applies these
rules to the generated Verilog, so the tcl check never takes the pins from
qnncc's own catalogue. It also reports AXI-Stream interfaces missing from the
clock's ``ASSOCIATED_BUSIF`` (Vivado then cannot tell their clock domain).
"""

from __future__ import annotations

import re

from vivado_stub.xilinx_ips import XilinxIp

__all__ = ["VerilogPinError", "module_pins", "modules_in"]

_MODULE = re.compile(r"\bmodule\s+(\w+)\s*(?:#\s*\(.*?\)\s*)?\((.*?)\)\s*;", re.S)
_PORT = re.compile(
    r"(?P<attrs>(?:\(\*.*?\*\)\s*)*)\b(?P<dir>input|output)\s+(?:wire\s+|reg\s+|logic\s+)?(?:signed\s+)?"
    r"(?:\[\s*(?P<hi>\d+)\s*:\s*(?P<lo>\d+)\s*\]\s*)?(?P<name>\w+)",
    re.S,
)


#: Channels of an AXI4-Lite interface (AMBA AXI4-Lite; Vivado infers the interface from these port names).
_AXI_LITE = (
    *("AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BRESP", "BVALID", "BREADY"),
    *("ARADDR", "ARVALID", "ARREADY", "RDATA", "RRESP", "RVALID", "RREADY"),
)


class VerilogPinError(ValueError):
    """The module's ports cannot be read or form no valid interfaces (names what is wrong)."""


def modules_in(text: str) -> list[str]:
    """Names of the modules a Verilog source defines."""
    return [m[1] for m in _MODULE.finditer(_strip_comments(text))]


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def module_pins(text: str, module: str) -> XilinxIp:
    """Interfaces, clocks and resets Vivado infers for ``module`` defined in the Verilog ``text``.

    Raises:
        VerilogPinError: if the module is not defined (ANSI port list), a stream
            lacks TVALID/TREADY, or the clock's ``ASSOCIATED_BUSIF`` misses a stream.
    """
    found = next((m for m in _MODULE.finditer(_strip_comments(text)) if m[1] == module), None)
    if found is None:
        raise VerilogPinError(f"module {module!r} is not defined (with an ANSI port list)")
    ports: dict[str, tuple[str, int, str]] = {}
    for p in _PORT.finditer(found[2]):
        width = int(p["hi"]) - int(p["lo"]) + 1 if p["hi"] is not None else 1
        ports[p["name"]] = (p["dir"], width, p["attrs"] or "")
    intf: dict[str, tuple[str, str, int]] = {}
    for name, (direction, width, _) in ports.items():
        if not name.endswith("_TDATA"):
            continue
        base = name[: -len("_TDATA")]
        valid, ready = ports.get(f"{base}_TVALID"), ports.get(f"{base}_TREADY")
        if valid is None or ready is None:
            raise VerilogPinError(f"{module}: stream {base} has TDATA but no TVALID/TREADY")
        if valid[0] != direction or ready[0] == direction:
            raise VerilogPinError(f"{module}: stream {base}: TDATA/TVALID/TREADY directions are inconsistent")
        intf[base] = ("axis", "master" if direction == "output" else "slave", width)
    for name, (direction, _, _) in ports.items():
        if name.endswith("_AWADDR"):
            base = name[: -len("_AWADDR")]
            missing = [f for f in _AXI_LITE if f"{base}_{f}" not in ports]
            if missing:
                raise VerilogPinError(f"{module}: AXI-Lite interface {base} lacks {', '.join(missing)}")
            intf[base] = ("aximm", "slave" if direction == "input" else "master", 0)
    clocks = tuple(n for n, (d, _, a) in ports.items() if d == "input" and ("signal:clock" in a or n.endswith("clk")))
    resets = tuple(
        n
        for n, (d, _, a) in ports.items()
        if d == "input" and ("signal:reset" in a or n.endswith(("rst_n", "aresetn")))
    )
    for clk in clocks:
        busif = re.search(r"ASSOCIATED_BUSIF\s+([\w:]+)", ports[clk][2])
        named = set(busif[1].split(":")) if busif else set()
        missing = sorted(set(intf) - named)
        if missing:
            raise VerilogPinError(f"{module}: clock {clk} has no ASSOCIATED_BUSIF for {', '.join(missing)}")
    return XilinxIp(intf, clocks, resets)
