"""Pins of a qnncc HLS IP, derived from its generated top the way Vitis HLS names them.

The tcl check must not take qnncc's HLS IP pins from qnncc's own catalogue
(that would check qnncc against itself). :func:`hls_ip_pins` parses the top
function's signature in ``hls/<top>/top_<top>.cpp`` and its ``INTERFACE``
pragmas and applies Vitis HLS's naming rules (UG1399, "Interfaces of the
Vivado IP flow"; "AXI4-Stream interfaces"; "s_axilite"):

* an ``axis`` argument ``x`` becomes the AXI-Stream interface ``x`` (signals
  ``x_TDATA``, ``x_TVALID``, ...), TDATA the data width rounded up to whole
  bytes; ``ap_axiu<D, ...>`` words carry D data bits;
* its direction follows the argument's use: a stream the function only reads
  is a slave (input), one it writes a master (output); the use is followed
  into the library function the top calls and on through the library's own
  calls (``mvau_stream`` -> ``mvau_compute`` -> ``WeightLanes::fetch``);
* ``s_axilite`` arguments (and ``return``) with ``bundle = b`` make one
  AXI-Lite slave ``s_axi_b`` (``s_axi_control`` by default);
* the clock is ``ap_clk``, the reset ``ap_rst_n`` (active low: Vitis HLS's
  default reset for the Vivado IP flow).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from vivado_stub.xilinx_ips import XilinxIp

__all__ = ["HlsPinError", "hls_ip_pins"]

_PRAGMA = re.compile(r"#pragma\s+HLS\s+INTERFACE\s+(\w+)\s+(.*)")


class HlsPinError(ValueError):
    """The top cannot be parsed into pins (names what is wrong)."""


def _match(text: str, start: int, open_: str, close: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += text[i] == open_
        depth -= text[i] == close
        if depth == 0 and text[i] == close:
            return i
    raise HlsPinError(f"unbalanced {open_}{close}")


def _split(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "<([{"
        depth -= ch in ">)]}"
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [p for p in [*parts, cur.strip()] if p]


def _functions(text: str, name: str | None) -> list[tuple[str, list[str], str]]:
    """(name, parameters, body) of every definition of the function ``name`` (any name if None) in ``text``."""
    pattern = r"\bvoid\s+(" + (re.escape(name) if name else r"\w+") + r")\s*\("
    found = []
    for m in re.finditer(pattern, text):
        end = _match(text, m.end() - 1, "(", ")")
        rest = text[end + 1 :].lstrip()
        if not rest.startswith("{"):
            continue
        body_start = end + 1 + text[end + 1 :].index("{")
        body = text[body_start + 1 : _match(text, body_start, "{", "}")]
        found.append((m[1], _split(text[m.end() : end]), body))
    return found


def _function(text: str, name: str | None) -> tuple[str, list[str], str] | None:
    """(name, parameters, body) of the function ``name`` (or the last defined one) in ``text``."""
    found = _functions(text, name)
    if not found:
        return None
    return found[0] if name else found[-1]


def _param_name(param: str) -> str:
    return re.sub(r"\[.*", "", param).replace("&", " ").split()[-1].lstrip(".")


def _uses(name: str, body: str, library: Mapping[str, str], depth: int = 0) -> str | None:
    """``read``/``write``: how ``body`` uses the stream ``name`` (following calls into ``library``)."""
    if re.search(r"\b" + re.escape(name) + r"\s*\.\s*(read|read_nb)\s*\(|\b" + re.escape(name) + r"\s*>>", body):
        return "read"
    if re.search(r"\b" + re.escape(name) + r"\s*\.\s*(write|write_nb)\s*\(|\b" + re.escape(name) + r"\s*<<", body):
        return "write"
    if depth > 3:
        return None
    for call in re.finditer(r"\b(?:qnncc::)?(\w+)\s*(<[^;]*?>)?\s*\(([^;]*)\)\s*;", body):
        args = _split(call[3])
        names = [re.sub(r"\.\.\.$", "", a).strip() for a in args]
        if name not in names:
            continue
        for text in library.values():
            for fn in _functions(text, call[1]):  # every overload (a ROM or a stream weight source)
                params = fn[1]
                index = names.index(name)
                param = params[min(index, len(params) - 1)]
                use = _uses(_param_name(param), fn[2], library, depth + 1)
                if use:
                    return use
    return None


def hls_ip_pins(top_cpp: Path, library: Mapping[str, str]) -> XilinxIp:
    """Interfaces, clock and reset of the IP Vitis HLS makes of ``top_cpp``.

    Args:
        top_cpp: a generated ``top_<name>.cpp``; its top is the function ``<name>``.
        library: header name -> text of ``qnncc/*.hpp`` (to follow stream uses into the library).

    Raises:
        HlsPinError: if the top function or a stream's direction cannot be found.
    """
    text = top_cpp.read_text()
    top = top_cpp.stem.removeprefix("top_")
    fn = _function(text, top)
    if fn is None:
        raise HlsPinError(f"{top_cpp.name}: no top function {top!r}")
    _, params, body = fn
    modes: dict[str, tuple[str, str]] = {}  # port -> (mode, bundle)
    for m in _PRAGMA.finditer(body):
        opts = dict(re.findall(r"(\w+)\s*=\s*(\w+)", m[2]))
        modes[opts.get("port", "")] = (m[1], opts.get("bundle", "control"))
    intf: dict[str, tuple[str, str, int]] = {}
    for param in params:
        pname = _param_name(param)
        mode, bundle = modes.get(pname, ("", ""))
        if mode == "axis":
            word = re.search(r"hls::stream<\s*(ap_uint|ap_int|ap_axiu|ap_axis)<\s*(\d+)", param)
            if word is None:
                raise HlsPinError(f"{top}: AXI-Stream argument {pname!r} is not a stream of ap_(u)int/ap_axi words")
            use = _uses(pname, body, library)
            if use is None:
                raise HlsPinError(f"{top}: stream {pname!r} is neither read nor written")
            width = -(-int(word[2]) // 8) * 8
            intf[pname] = ("axis", "slave" if use == "read" else "master", width)
        elif mode == "s_axilite":
            intf[f"s_axi_{bundle}"] = ("aximm", "slave", 0)
    if modes.get("return", ("",))[0] == "s_axilite":
        intf[f"s_axi_{modes['return'][1]}"] = ("aximm", "slave", 0)
    return XilinxIp(intf, ("ap_clk",), ("ap_rst_n",))
