"""Check a generated Vitis HLS script (``hls/<top>/hls_synth.tcl``) and Vivado build script without the tools.

:func:`check_hls_synth_tcl` runs the script in Python's Tcl interpreter with
stub Vitis HLS commands that record what it asks for, then checks what the
issue-18 review found missing or wrong: FINN's ``config_compile
-disable_unroll_code_size_check -pipeline_style flp`` before
``csynth_design``; the part and clock; the top named after the source's
function; and that the C-simulation stand-ins (``hls_stream.h``,
``ap_axi_sdata.h``) are not on the synthesis include path.
:func:`ooc_clock_period` reads the out-of-context clock constraint a generic
build script writes.
"""

from __future__ import annotations

import re
import shlex
import tkinter
from pathlib import Path

__all__ = ["check_hls_synth_tcl", "ooc_clock_period"]

_STUBS = (
    "open_project",
    "set_top",
    "add_files",
    "open_solution",
    "set_part",
    "create_clock",
    "config_compile",
    "config_interface",
    "csynth_design",
    "export_design",
)
_CSIM_ONLY = ("hls_stream.h", "ap_axi_sdata.h")
#: Options whose value may itself start with "-".
_VALUED = frozenset({"-cflags", "-csimflags", "-pipeline_style"})


def _options(args: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    i = 0
    while i < len(args):
        if args[i].startswith("-"):
            key = args[i].split("=")[0]
            if "=" in args[i]:
                opts[key] = args[i].split("=", 1)[1]
            elif i + 1 < len(args) and (key in _VALUED or not args[i + 1].startswith("-")):
                opts[key] = args[i + 1]
                i += 1
            else:
                opts[key] = ""
        i += 1
    return opts


def check_hls_synth_tcl(script: str | Path, part: str, clock_ns: float) -> list[str]:
    """Problems of one ``hls_synth.tcl`` (empty when it passes).

    Args:
        script: the script; it is run with stubs (``cd`` and ``exit`` recorded, not executed).
        part: expected ``set_part``.
        clock_ns: expected ``create_clock -period``.
    """
    path = Path(script).resolve()
    calls: list[tuple[str, list[str]]] = []
    tcl = tkinter.Tcl()
    for name in (*_STUBS, "cd", "exit"):
        tcl.createcommand(name, lambda *a, _n=name: calls.append((_n, list(a))) or "")
    problems: list[str] = []
    try:
        tcl.eval(f"source {{{path}}}")
    except tkinter.TclError as err:
        return [f"script stopped with a Tcl error: {err}"]
    order = [n for n, _ in calls]
    args = {n: a for n, a in calls}
    compile_opts = [o for n, a in calls if n == "config_compile" for o in a]
    if "csynth_design" not in order:
        problems.append("no csynth_design")
    for flag, value in (("-disable_unroll_code_size_check", None), ("-pipeline_style", "flp")):
        if flag not in compile_opts:
            problems.append(f"config_compile {flag}{' ' + value if value else ''} is missing")
        elif value and _options(compile_opts).get(flag) != value:
            problems.append(f"config_compile {flag} is {_options(compile_opts).get(flag)!r}, expected {value!r}")
    if (
        "config_compile" in order
        and "csynth_design" in order
        and order.index("config_compile") > order.index("csynth_design")
    ):
        problems.append("config_compile comes after csynth_design")
    if args.get("set_part", [""])[0] != part:
        problems.append(f"set_part {args.get('set_part', [''])[0]!r}, expected {part!r}")
    period = _options(args.get("create_clock", [])).get("-period")
    if period is None or abs(float(period) - clock_ns) > 1e-9:
        problems.append(f"create_clock -period {period}, expected {clock_ns:g}")
    top = args.get("set_top", [""])[0]
    files = [a for a in args.get("add_files", []) if not a.startswith("-")]
    cflags = _options(args.get("add_files", [])).get("-cflags", "")
    here = path.parent
    sources = [here / f for f in files[:1]]
    if not sources or not sources[0].is_file():
        problems.append(f"add_files {files[:1]} is not a generated source")
    elif not re.search(r"\bvoid\s+" + re.escape(top) + r"\s*\(", sources[0].read_text()):
        problems.append(f"set_top {top!r} is not a function of {sources[0].name}")
    for flag in shlex.split(cflags):
        if flag.startswith("-I"):
            folder = Path(flag[2:].replace("$here", str(here)))
            for header in _CSIM_ONLY:
                if (folder / header).is_file():
                    problems.append(f"-I{folder.name}: the C-simulation stand-in {header} is on the synthesis path")
    if "export_design" in order:
        if _options(args["export_design"]).get("-ipname") != top:
            problems.append(f"export_design -ipname differs from the top {top!r}")
    else:
        problems.append("no export_design")
    return problems


def ooc_clock_period(build_tcl: str) -> float | None:
    """The ``create_clock`` period on ``ap_clk`` that a build script puts in an out-of-context XDC (None if none)."""
    m = re.search(r"create_clock -period ([0-9.]+) -name ap_clk \\\[get_ports ap_clk\\\]", build_tcl)
    if m is None or "-fileset constrs_1" not in build_tcl or "out_of_context" not in build_tcl:
        return None
    return float(m[1])
