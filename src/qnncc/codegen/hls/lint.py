"""Loop and pragma linter of the generated HLS C++: the library as instantiated by each layer top.

Vitis HLS cannot run here, so this reads the C++ the way its scheduler would
for the rules that decide whether a streaming layer reaches one word per
cycle. Each generated top calls one library template
(``qnncc::mvau<784, 64, ...>(...)``); the linter binds the template
parameters to the call's arguments (the folding's PE/SIMD, shapes and
datatypes), evaluates the function's ``const`` expressions, ignores the
C-simulation fast paths (``#ifdef QNNCC_CSIM_FAST``), follows the library
templates it calls in turn (``mvau`` and ``mvau_stream`` run the one
``mvau_compute`` loop), and checks:

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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from qnncc.codegen.hls.cxx_reader import (
    PRAGMA,
    Loop,
    TemplateFunction,
    bind_names,
    closing_bracket,
    eval_const,
    find_function,
    find_loops,
    is_pipelined,
    scoped,
    split_args,
    strip_comments,
    synthesis_view,
    trip_count,
)
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


@dataclass(frozen=True)
class LintProblem:
    """One rule violation: ``rule``, where (``function``, top) and what."""

    rule: str
    top: str
    function: str
    message: str

    def __str__(self) -> str:
        return f"{self.top}: {self.function}: [{self.rule}] {self.message}"


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
    args = split_args(call[m.end() : closing_bracket(call, m.end() - 1, "<", ">")])
    problems: list[LintProblem] = []
    for arg in args:
        binding = re.fullmatch(r"(?:qnncc::)?RES_(DSP|LUT)", arg.strip())
        if binding:
            _check_binding(lib, binding[1], lambda rule, msg: problems.append(LintProblem(rule, top, fname, msg)))
    _lint_instance(top, fname, args, lib, problems, set(), 0)
    return problems


#: Most levels of library calls followed from a top's call (the wrappers of a shared compute loop are one level).
MAX_CALL_DEPTH = 4


def _lint_instance(
    top: str,
    fname: str,
    args: list[str],
    lib: Mapping[str, str],
    problems: list[LintProblem],
    seen: set[str],
    depth: int,
) -> None:
    """Check one instance of a library function template, then the library templates it calls.

    A call inside the library (``mvau_compute<MW, MH, ...>(...)`` in ``mvau``) is bound in
    the caller's scope: a bare template parameter passes the caller's argument on (a
    datatype or ``RES_DSP`` stays a name), any other argument is evaluated to its value.
    """
    key = f"{fname}<{', '.join(args)}>"
    if key in seen:
        return
    seen.add(key)
    fn = find_function(lib, fname)
    if fn is None:
        problems.append(LintProblem("parse", top, fname, "library function not found"))
        return
    names = bind_names(fn, args)

    def report(rule: str, msg: str) -> None:
        problems.append(LintProblem(rule, top, fname, msg))

    _check_widths(fn, names, report)
    all_loops = find_loops(fn.body)
    unrolled: dict[str, int] = {}
    for loop in all_loops:
        var, trip = trip_count(loop, names)
        if any(kind == "UNROLL" for kind, _ in loop.pragmas) and var:
            unrolled[var] = trip or 0
            if trip is not None and trip > MAX_UNROLL:
                report("unroll", f"loop `{loop.header}` unrolls {trip} > {MAX_UNROLL} iterations")
    for loop in all_loops:
        io = re.search(r"\.\s*(read|write)\s*\(", loop.direct)
        if io and not is_pipelined(loop) and not loop.parent_pipelined:
            report("pipeline", f"streaming loop `{loop.header}` is not pipelined")
        for kind, opts in loop.pragmas:
            if kind == "PIPELINE" and not re.search(r"\bII\s*=\s*1\b", opts):
                report("pipeline", f"loop `{loop.header}` is pipelined with `{opts.strip()}`, not II = 1")
        if is_pipelined(loop) or loop.parent_pipelined:  # unrolled loops inside a pipeline too
            _check_arith(loop, {**names, **{v: 1 for v in unrolled}}, report)
        if is_pipelined(loop):
            _check_nest(loop, names, unrolled, report)
            _check_rams(fn, loop, names, report)
    if depth >= MAX_CALL_DEPTH:
        return
    passed = {pname: arg for (_, pname), arg in zip(fn.params, args, strict=False)}
    for callee, callee_args in _library_calls(fn, lib):
        bound = []
        for arg in callee_args:
            value = eval_const(scoped(arg), names)
            bound.append(passed.get(arg.strip(), arg if value is None else str(value)))
        _lint_instance(top, callee, bound, lib, problems, seen, depth + 1)


def _function_templates(lib: Mapping[str, str]) -> frozenset[str]:
    """Names of the library's ``template <...> void name(...)`` functions."""
    found = (re.findall(r"template\s*<[^{;]*?>\s*void\s+(\w+)\s*\(", text) for text in lib.values())
    return frozenset(name for names in found for name in names)


def _library_calls(fn: TemplateFunction, lib: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """The calls ``name<args>(...)`` in ``fn``'s body of function templates of the library (not its own)."""
    body = strip_comments(fn.body)
    templates = _function_templates(lib)
    calls = []
    for m in re.finditer(r"(?<![\w:.])(\w+)<", body):
        if m[1] == fn.name or m[1] not in templates:
            continue
        try:
            end = closing_bracket(body, m.end() - 1, "<", ">")
        except ValueError:
            continue
        if body[end + 1 :].lstrip().startswith("("):
            calls.append((m[1], split_args(body[m.end() : end])))
    return calls


#: RES_<kind> of ``mul.hpp`` -> the ``impl`` of its BIND_OP (UG1399 ``bind_op``: ``op = mul``, ``impl = dsp | fabric``).
_BIND_IMPL = {"DSP": "dsp", "LUT": "fabric"}


def _check_binding(library: Mapping[str, str], kind: str, report: Reporter) -> None:
    """The ``Mul<RES_<kind>>`` specialisation binds its product with a well-formed BIND_OP pragma."""
    for text in library.values():
        view = strip_comments(synthesis_view(text))
        m = re.search(r"struct\s+Mul\s*<\s*RES_" + kind + r"\s*>\s*\{", view)
        if not m:
            continue
        body = view[m.end() : closing_bracket(view, m.end() - 1, "{", "}")]
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


def _check_widths(fn: TemplateFunction, names: Mapping[str, int], report: Reporter) -> None:
    for m in re.finditer(r"ap_u?int<([^<>]*(?:<[^<>]*>[^<>]*)*)>", strip_comments(fn.signature + fn.body)):
        bits = eval_const(scoped(m[1]), names)
        if bits is not None and bits > MAX_STREAM_BITS:
            report("width", f"`{m[0]}` is {bits} bits wide (> {MAX_STREAM_BITS})")


def _check_nest(loop: Loop, names: Mapping[str, int], unrolled: Mapping[str, int], report: Reporter) -> None:
    lanes = 1
    for sub in find_loops(loop.body):
        var, trip = trip_count(sub, names)
        if var in unrolled and trip:
            lanes *= trip
    if lanes > MAX_UNROLL_NEST:
        report("unroll", f"loop `{loop.header}` unrolls nests of {lanes} > {MAX_UNROLL_NEST} lanes")


def _check_arith(loop: Loop, consts: Mapping[str, int], report: Reporter) -> None:
    text = re.sub(r"#pragma[^\n]*", "", loop.direct)
    operand = r"(\w+(?:::\w+)?|\([^()]*(?:\([^()]*\)[^()]*)*\))"
    for m in re.finditer(operand + r"\s*([%/])\s*" + operand, text):
        left, right = eval_const(scoped(m[1]), consts), eval_const(scoped(m[3]), consts)
        if left is not None and right is not None:
            continue
        if right is None or right <= 0 or right & (right - 1):
            report("modulo", f"`{m[0]}` divides by a non-constant or non-power-of-two ({right}) in a pipelined loop")
    for m in re.finditer(r"(<<|>>)=?\s*" + operand, text):
        if eval_const(scoped(m[2]), consts) is None:
            report("shift", f"`{m[0].strip()}`: shift by a variable amount (a barrel shifter) in a pipelined loop")


def _array_dims(fn: TemplateFunction, name: str, names: Mapping[str, int]) -> list[int | None] | None:
    decl = re.search(r"\b" + re.escape(name) + r"((?:\[[^\]]+\])+)\s*[;,)]", strip_comments(fn.signature + fn.body))
    if not decl:
        return None
    return [eval_const(scoped(d), names) for d in re.findall(r"\[([^\]]+)\]", decl[1])]


def _check_rams(fn: TemplateFunction, loop: Loop, names: Mapping[str, int], report: Reporter) -> None:
    text = strip_comments(loop.body)
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


def _registers(fn: TemplateFunction, arr: str, dims: list[int | None], names: Mapping[str, int]) -> bool:
    """True if every dimension of ``arr`` is size 1 or completely partitioned."""
    parts: dict[int, bool] = {}
    for m in PRAGMA.finditer(fn.body):
        if m[1].upper() != "ARRAY_PARTITION" or not re.search(r"variable\s*=\s*" + arr + r"\b", m[2]):
            continue
        dim_m = re.search(r"dim\s*=\s*(\w+)", m[2])
        dim = eval_const(dim_m[1], names) if dim_m else 1
        targets = range(1, len(dims) + 1) if dim == 0 else [dim or 1]
        factor_m = re.search(r"factor\s*=\s*(\w+)", m[2])
        factor = eval_const(factor_m[1], names) if factor_m else None
        for d in targets:
            size = dims[d - 1]
            parts[d] = "complete" in m[2] or (factor is not None and size is not None and factor >= size)
    return all(size == 1 or parts.get(i + 1, False) for i, size in enumerate(dims))


def _dependence(fn: TemplateFunction, arr: str, names: Mapping[str, int]) -> int | None:
    """Proven distance of ``arr``'s loop-carried dependence (a large number for a proven ``false``), or None."""
    lines = fn.body.splitlines()
    best: int | None = None
    for i, line in enumerate(lines):
        m = PRAGMA.search(line)
        if not m or m[1].upper() != "DEPENDENCE" or not re.search(r"variable\s*=\s*" + arr + r"\b", m[2]):
            continue
        if "inter" not in m[2]:
            continue
        dist = re.search(r"distance\s*=\s*(\w+)", m[2])
        if dist and re.search(r"\btrue\b", m[2]):
            best = eval_const(dist[1], names)
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
