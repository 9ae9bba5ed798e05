"""Loop and pragma linter of the generated HLS C++: the library as instantiated by each layer top.

Vitis HLS cannot run here, so this reads the C++ the way its scheduler would
for the rules that decide whether a streaming layer reaches one word per
cycle. Each generated top calls one library template
(``qnncc::mvau<784, 64, ...>(...)``); the linter binds the template
parameters to the call's arguments (the folding's PE/SIMD, shapes and
datatypes), evaluates the function's ``const`` expressions, ignores the
C-simulation fast paths (``#ifdef QNNCC_CSIM_FAST``), and checks:

* ``pipeline``: every loop that reads or writes a stream directly is
  ``#pragma HLS PIPELINE II = 1``;
* ``ram-dependence``: an array read and written in a pipelined loop is
  registers (every dimension completely partitioned or of size 1) or has
  ``#pragma HLS DEPENDENCE variable = a ... distance = D`` with ``D >= 2``
  (a BRAM read-modify-write needs 2 cycles), or ``... false`` right after a
  ``// proof:`` comment;
* ``modulo``: no ``%`` or ``/`` in a pipelined loop unless both operands are
  compile-time constants or the divisor is a power of two (a divider on a
  loop-carried path breaks II=1);
* ``shift``: no shift by an amount that is not a compile-time constant
  (unrolled loop indices count as constants) in a pipelined loop: a barrel
  shifter of a wide word (the DWC's 812 bits on TFC/ZCU104);
* ``unroll``: an unrolled loop of at most :data:`MAX_UNROLL` iterations and
  nests of unrolled loops of at most :data:`MAX_UNROLL_NEST`;
* ``width``: every port and ``ap_uint<W>`` of the instance at most
  :data:`~qnncc.codegen.hls.layer_code.MAX_STREAM_BITS` bits;
* ``bind-op``: an instance whose multipliers are bound (``qnncc::RES_DSP`` or
  ``RES_LUT``, the layer's ``resType``) finds ``mul.hpp``'s specialisation
  with ``#pragma HLS BIND_OP variable = p op = mul impl = dsp`` (``fabric``),
  ``p`` declared before the pragma in that function.

Sources of the rules: Vitis HLS User Guide (UG1399), "Optimization
Techniques": pipelining, loop-carried dependencies and the DEPENDENCE
pragma, array partitioning, unrolling.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from qnncc.codegen.hls.layer_code import MAX_STREAM_BITS
from qnncc.codegen.render import include_dir

__all__ = ["MAX_UNROLL", "MAX_UNROLL_NEST", "LintProblem", "lint_call", "lint_hls_dir", "lint_top"]

#: Most iterations of one unrolled loop (qnncc's limit: a 4096-bit word of 1-bit lanes).
MAX_UNROLL = 4096
#: Most lanes of a nest of unrolled loops in one pipelined loop (PE x SIMD of the widest foldings).
MAX_UNROLL_NEST = 65536

#: Callback of the rule checks: (rule, message).
Reporter = Callable[[str, str], None]

_CALL = re.compile(r"qnncc::(\w+)<")
_PRAGMA = re.compile(r"#pragma\s+HLS\s+(\w+)(.*)")
_LOOP = re.compile(r"\b(for|while)\s*\(")


@dataclass(frozen=True)
class LintProblem:
    """One rule violation: ``rule``, where (``function``, top) and what."""

    rule: str
    top: str
    function: str
    message: str

    def __str__(self) -> str:
        return f"{self.top}: {self.function}: [{self.rule}] {self.message}"


# ------------------------------------------------------------------ text helpers
def _match(text: str, start: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced {open_}{close}")


def _split_args(text: str) -> list[str]:
    """Split at top-level commas (outside <>, (), [], {})."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [*parts, cur.strip()] if cur.strip() else parts


def _synthesis_view(text: str) -> str:
    """``text`` with ``#ifdef QNNCC_CSIM_FAST`` blocks dropped (what Vitis HLS compiles)."""
    return re.sub(r"#ifdef QNNCC_CSIM_FAST.*?#endif", "", text, flags=re.S)


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def _eval(expr: str, names: Mapping[str, int]) -> int | None:
    """Value of a C integer constant expression over ``names``, or None if not constant."""
    e = re.sub(r"\b(\d+)[uU]\b", r"\1", expr.strip().rstrip(";"))
    tern = re.fullmatch(r"(.+?)\?(.+?):(.+)", e, flags=re.S)
    if tern:
        cond = _eval(tern[1], names)
        return None if cond is None else _eval(tern[2] if cond else tern[3], names)
    e = re.sub(r"\b(gcd_u|dwc_gcd)\(", "gcd(", e)
    e = e.replace("&&", " and ").replace("||", " or ").replace("true", "1").replace("false", "0")
    e = re.sub(r"!(?!=)", " not ", e).replace("/", "//")
    try:
        tree = ast.parse(e, mode="eval")
    except SyntaxError:
        return None
    allowed: tuple[type, ...] = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Constant)
    allowed += (ast.Name, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.Call)
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (isinstance(node, ast.Name) and node.id not in names and node.id != "gcd"):
            return None
    try:
        value = eval(compile(tree, "<lint>", "eval"), {"__builtins__": {}, "gcd": math.gcd}, dict(names))
    except (ZeroDivisionError, TypeError, ValueError):
        return None
    return int(value)


def _type_bits(arg: str) -> int | None:
    """Element bits of a qnncc datatype argument (``qnncc::UInt<8>``, ``qnncc::Bipolar``)."""
    m = re.fullmatch(r"(?:qnncc::)?(?:UInt|Int)<(\d+)>", arg.strip())
    if m:
        return int(m[1])
    return 1 if arg.strip() in ("qnncc::Bipolar", "Bipolar") else None


# ------------------------------------------------------------------ the library function
@dataclass
class _Function:
    name: str
    params: list[tuple[str, str]]  # (kind, name): kind "unsigned"/"int"/"bool"/"typename"
    signature: str
    body: str  # raw body (comments kept, fast paths removed)


def _find_function(library: Mapping[str, str], name: str) -> _Function | None:
    pattern = re.compile(r"template\s*<([^{;]*?)>\s*void\s+" + re.escape(name) + r"\s*\(")
    for text in library.values():
        view = _synthesis_view(text)
        m = pattern.search(view)
        if not m:
            continue
        params = []
        for p in _split_args(m[1]):
            kind, _, pname = p.split("=")[0].strip().rpartition(" ")  # a default (``RES = RES_AUTO``) dropped
            params.append((kind.strip(), pname.strip()))
        sig_end = _match(view, m.end() - 1, "(", ")")
        body_start = view.index("{", sig_end)
        body_end = _match(view, body_start, "{", "}")
        return _Function(name, params, view[m.end() : sig_end], view[body_start + 1 : body_end])
    return None


def _bind(fn: _Function, args: list[str]) -> dict[str, int]:
    """Integer names of an instance: template values, ``T::bits`` of datatypes, then ``const`` locals."""
    names: dict[str, int] = {}
    for (kind, pname), arg in zip(fn.params, args, strict=False):
        if kind == "typename":
            bits = _type_bits(arg)
            m = re.fullmatch(r"ap_u?int<(\d+)>", arg.strip())
            if bits is not None:
                names[f"{pname}__bits"] = bits
            elif m:
                names[f"{pname}__width"] = int(m[1])
        else:
            value = _eval(arg, names)
            if value is not None:
                names[pname] = value
    for m in re.finditer(r"const\s+(?:unsigned|int)\s+(\w+)\s*=\s*([^;]+);", _strip_comments(fn.body)):
        value = _eval(_scoped(m[2]), names)
        if value is not None:
            names[m[1]] = value
    return names


def _scoped(expr: str) -> str:
    return re.sub(r"\b(\w+)::(bits|width)\b", r"\1__\2", expr)


# ------------------------------------------------------------------ loops
@dataclass
class _Loop:
    header: str
    body: str  # raw body of the loop
    direct: str  # body without nested loops (comments removed)
    pragmas: list[tuple[str, str]]
    parent_pipelined: bool


def _loops(body: str, inside_pipeline: bool = False) -> list[_Loop]:
    found: list[_Loop] = []
    pos = 0
    while True:
        m = _LOOP.search(body, pos)
        if not m:
            return found
        hdr_end = _match(body, m.end() - 1, "(", ")")
        brace = body.index("{", hdr_end)
        end = _match(body, brace, "{", "}")
        inner = body[brace + 1 : end]
        direct = _strip_comments(inner)
        for sub in reversed(list(_LOOP.finditer(direct))):
            s_hdr = _match(direct, sub.end() - 1, "(", ")")
            s_end = _match(direct, direct.index("{", s_hdr), "{", "}")
            direct = direct[: sub.start()] + direct[s_end + 1 :]
        pragmas = [(p[1].upper(), p[2]) for p in _PRAGMA.finditer(direct)]
        loop = _Loop(body[m.start() : hdr_end + 1], inner, direct, pragmas, inside_pipeline)
        found.append(loop)
        pipelined = inside_pipeline or _is_pipelined(loop)
        found += _loops(inner, pipelined)
        pos = end + 1


def _is_pipelined(loop: _Loop) -> bool:
    return any(kind == "PIPELINE" for kind, _ in loop.pragmas)


def _trip(loop: _Loop, names: Mapping[str, int]) -> tuple[str, int | None]:
    """Induction variable and trip count of a canonical ``for`` loop."""
    m = re.match(r"for\s*\(\s*(?:unsigned|int)\s+(\w+)\s*=\s*([^;]+);\s*\w+\s*(<|>=)\s*([^;]+);", loop.header)
    if not m:
        return "", None
    start, bound = _eval(_scoped(m[2]), names), _eval(_scoped(m[4]), names)
    if start is None or bound is None:
        return m[1], None
    return m[1], (bound - start) if m[3] == "<" else (start - bound + 1)


# ------------------------------------------------------------------ rules
def lint_call(top: str, call: str, library: Mapping[str, str] | None = None) -> list[LintProblem]:
    """Lint one library call of a generated top.

    Args:
        top: the top function's name (for messages).
        call: the call, e.g. ``qnncc::mvau<784, 64, 49, 16, 1, ...>(in0_V, out0_V, w, act)``.
        library: header file name -> text (default: qnncc's ``include/qnncc/*.hpp``).

    Returns:
        The problems found (empty when the instance passes).
    """
    lib = dict(library) if library is not None else _library()
    m = _CALL.search(call)
    if not m:
        return []
    fname = m[1]
    args = _split_args(call[m.end() : _match(call, m.end() - 1, "<", ">")])
    fn = _find_function(lib, fname)
    if fn is None:
        return [LintProblem("parse", top, fname, "library function not found")]
    names = _bind(fn, args)
    problems: list[LintProblem] = []

    def report(rule: str, msg: str) -> None:
        problems.append(LintProblem(rule, top, fname, msg))

    _check_widths(fn, names, report)
    for arg in args:
        binding = re.fullmatch(r"(?:qnncc::)?RES_(DSP|LUT)", arg.strip())
        if binding:
            _check_binding(lib, binding[1], report)
    loops = _loops(fn.body)
    unrolled: dict[str, int] = {}
    for loop in loops:
        var, trip = _trip(loop, names)
        if any(kind == "UNROLL" for kind, _ in loop.pragmas) and var:
            unrolled[var] = trip or 0
            if trip is not None and trip > MAX_UNROLL:
                report("unroll", f"loop `{loop.header}` unrolls {trip} > {MAX_UNROLL} iterations")
    for loop in loops:
        io = re.search(r"\.\s*(read|write)\s*\(", loop.direct)
        if io and not _is_pipelined(loop) and not loop.parent_pipelined:
            report("pipeline", f"streaming loop `{loop.header}` is not pipelined")
        for kind, opts in loop.pragmas:
            if kind == "PIPELINE" and not re.search(r"\bII\s*=\s*1\b", opts):
                report("pipeline", f"loop `{loop.header}` is pipelined with `{opts.strip()}`, not II = 1")
        if _is_pipelined(loop) or loop.parent_pipelined:  # unrolled loops inside a pipeline too
            _check_arith(loop, {**names, **{v: 1 for v in unrolled}}, report)
        if _is_pipelined(loop):
            _check_nest(loop, names, unrolled, report)
            _check_rams(fn, loop, names, report)
    return problems


#: RES_<kind> of ``mul.hpp`` -> the ``impl`` of its BIND_OP (UG1399 ``bind_op``: ``op = mul``, ``impl = dsp | fabric``).
_BIND_IMPL = {"DSP": "dsp", "LUT": "fabric"}


def _check_binding(library: Mapping[str, str], kind: str, report: Reporter) -> None:
    """The ``Mul<RES_<kind>>`` specialisation binds its product with a well-formed BIND_OP pragma."""
    for text in library.values():
        view = _strip_comments(_synthesis_view(text))
        m = re.search(r"struct\s+Mul\s*<\s*RES_" + kind + r"\s*>\s*\{", view)
        if not m:
            continue
        body = view[m.end() : _match(view, m.end() - 1, "{", "}")]
        pragma = re.search(r"#pragma\s+HLS\s+BIND_OP\s+(.*)", body, flags=re.I)
        if not pragma:
            report("bind-op", f"Mul<RES_{kind}> has no BIND_OP pragma")
            return
        opts = dict(re.findall(r"(\w+)\s*=\s*(\w+)", pragma[1]))
        var = opts.get("variable", "")
        if not var or not re.search(r"\b\w[\w<>:, ]*\s+" + re.escape(var) + r"\s*=", body[: pragma.start()]):
            report("bind-op", f"Mul<RES_{kind}>: BIND_OP variable `{var}` is not declared before the pragma")
        if opts.get("op", "").lower() != "mul" or opts.get("impl", "").lower() != _BIND_IMPL[kind]:
            report("bind-op", f"Mul<RES_{kind}>: `{pragma[0].strip()}` is not op = mul impl = {_BIND_IMPL[kind]}")
        return
    report("bind-op", f"no Mul<RES_{kind}> specialisation in the library (mul.hpp)")


def _check_widths(fn: _Function, names: Mapping[str, int], report: Reporter) -> None:
    for m in re.finditer(r"ap_u?int<([^<>]*(?:<[^<>]*>[^<>]*)*)>", _strip_comments(fn.signature + fn.body)):
        bits = _eval(_scoped(m[1]), names)
        if bits is not None and bits > MAX_STREAM_BITS:
            report("width", f"`{m[0]}` is {bits} bits wide (> {MAX_STREAM_BITS})")


def _check_nest(loop: _Loop, names: Mapping[str, int], unrolled: Mapping[str, int], report: Reporter) -> None:
    lanes = 1
    for sub in _loops(loop.body):
        var, trip = _trip(sub, names)
        if var in unrolled and trip:
            lanes *= trip
    if lanes > MAX_UNROLL_NEST:
        report("unroll", f"loop `{loop.header}` unrolls nests of {lanes} > {MAX_UNROLL_NEST} lanes")


def _check_arith(loop: _Loop, consts: Mapping[str, int], report: Reporter) -> None:
    text = re.sub(r"#pragma[^\n]*", "", loop.direct)
    operand = r"(\w+(?:::\w+)?|\([^()]*(?:\([^()]*\)[^()]*)*\))"
    for m in re.finditer(operand + r"\s*([%/])\s*" + operand, text):
        left, right = _eval(_scoped(m[1]), consts), _eval(_scoped(m[3]), consts)
        if left is not None and right is not None:
            continue
        if right is None or right <= 0 or right & (right - 1):
            report("modulo", f"`{m[0]}` divides by a non-constant or non-power-of-two ({right}) in a pipelined loop")
    for m in re.finditer(r"(<<|>>)=?\s*" + operand, text):
        if _eval(_scoped(m[2]), consts) is None:
            report("shift", f"`{m[0].strip()}`: shift by a variable amount (a barrel shifter) in a pipelined loop")


def _array_dims(fn: _Function, name: str, names: Mapping[str, int]) -> list[int | None] | None:
    decl = re.search(r"\b" + re.escape(name) + r"((?:\[[^\]]+\])+)\s*[;,)]", _strip_comments(fn.signature + fn.body))
    if not decl:
        return None
    return [_eval(_scoped(d), names) for d in re.findall(r"\[([^\]]+)\]", decl[1])]


def _check_rams(fn: _Function, loop: _Loop, names: Mapping[str, int], report: Reporter) -> None:
    text = _strip_comments(loop.body)
    written = set(re.findall(r"\b(\w+)\s*(?:\[[^\]]*\])+\s*=(?!=)", text))
    for arr in sorted(written):
        reads = [m for m in re.finditer(r"\b" + arr + r"\s*\[", text)]
        writes = re.findall(r"\b" + arr + r"\s*(?:\[[^\]]*\])+\s*=(?!=)", text)
        if len(reads) <= len(writes):
            continue  # written only
        dims = _array_dims(fn, arr, names)
        if dims is None or _registers(fn, arr, dims, names):
            continue
        dep = _dependence(fn, arr, names)
        if dep is None:
            report("ram-dependence", f"array `{arr}` is read and written at II=1 without a DEPENDENCE distance")
        elif dep < 2:
            report("ram-dependence", f"array `{arr}`: DEPENDENCE distance {dep} < 2 (read-modify-write of a RAM)")


def _registers(fn: _Function, arr: str, dims: list[int | None], names: Mapping[str, int]) -> bool:
    """True if every dimension of ``arr`` is size 1 or completely partitioned."""
    parts: dict[int, bool] = {}
    for m in _PRAGMA.finditer(fn.body):
        if m[1].upper() != "ARRAY_PARTITION" or not re.search(r"variable\s*=\s*" + arr + r"\b", m[2]):
            continue
        dim_m = re.search(r"dim\s*=\s*(\w+)", m[2])
        dim = _eval(dim_m[1], names) if dim_m else 1
        targets = range(1, len(dims) + 1) if dim == 0 else [dim or 1]
        factor_m = re.search(r"factor\s*=\s*(\w+)", m[2])
        factor = _eval(factor_m[1], names) if factor_m else None
        for d in targets:
            size = dims[d - 1]
            parts[d] = "complete" in m[2] or (factor is not None and size is not None and factor >= size)
    return all(size == 1 or parts.get(i + 1, False) for i, size in enumerate(dims))


def _dependence(fn: _Function, arr: str, names: Mapping[str, int]) -> int | None:
    """Proven distance of ``arr``'s loop-carried dependence (a large number for a proven ``false``), or None."""
    lines = fn.body.splitlines()
    best: int | None = None
    for i, line in enumerate(lines):
        m = _PRAGMA.search(line)
        if not m or m[1].upper() != "DEPENDENCE" or not re.search(r"variable\s*=\s*" + arr + r"\b", m[2]):
            continue
        if "inter" not in m[2]:
            continue
        dist = re.search(r"distance\s*=\s*(\w+)", m[2])
        if dist and re.search(r"\btrue\b", m[2]):
            best = _eval(dist[1], names)
        elif re.search(r"\bfalse\b", m[2]) and any("proof:" in ln for ln in lines[max(0, i - 4) : i]):
            best = 1 << 30
    return best


# ------------------------------------------------------------------ entry points
def _library(folder: Path | None = None) -> dict[str, str]:
    root = (folder or include_dir()) / "qnncc"
    return {p.name: p.read_text() for p in sorted(root.glob("*.hpp"))}


def lint_top(text: str, library: Mapping[str, str] | None = None) -> list[LintProblem]:
    """Lint a generated ``top_<name>.cpp``: its port widths and every library call in it."""
    name_m = re.search(r"\nvoid\s+(\w+)\s*\(", text)
    top = name_m[1] if name_m else "?"
    problems = []
    for m in re.finditer(r"ap_uint<(\d+)\s*>\s*>&\s*(\w+)", text):
        if int(m[1]) > MAX_STREAM_BITS:
            problems.append(LintProblem("width", top, top, f"port {m[2]} is {m[1]} bits (> {MAX_STREAM_BITS})"))
    for m in re.finditer(r"^\s*(qnncc::\w+<)", text, flags=re.M):
        end = text.index(";", m.start(1))
        problems += lint_call(top, text[m.start(1) : end], library)
    return problems


def lint_hls_dir(hls_dir: str | Path, library: Mapping[str, str] | None = None) -> list[LintProblem]:
    """Lint every ``top_*.cpp`` under a build's ``hls/`` folder (the library from its ``include/``)."""
    root = Path(hls_dir)
    lib = library if library is not None else _library(root / "include")
    problems = []
    for top in sorted(root.glob("*/top_*.cpp")):
        problems += lint_top(top.read_text(), lib)
    return problems
