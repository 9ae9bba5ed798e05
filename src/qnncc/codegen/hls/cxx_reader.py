"""A reader of the HLS library's C++ for the linter: brackets, constant expressions, template functions, loops.

Not a C++ parser: it reads the regular subset qnncc's own headers are written
in (``template <...> void f(...) { ... }``, canonical ``for`` loops, ``const``
integer locals and ``#pragma HLS`` lines), enough to bind a template instance's
parameters and walk its loops the way :mod:`qnncc.codegen.hls.lint` needs.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "Loop",
    "TemplateFunction",
    "bind_names",
    "closing_bracket",
    "eval_const",
    "find_function",
    "is_pipelined",
    "find_loops",
    "scoped",
    "split_args",
    "strip_comments",
    "synthesis_view",
    "trip_count",
    "type_bits",
]


PRAGMA = re.compile(r"#pragma\s+HLS\s+(\w+)(.*)")


LOOP = re.compile(r"\b(for|while)\s*\(")


# ------------------------------------------------------------------ text helpers
def closing_bracket(text: str, start: int, open_: str, close: str) -> int:
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


def split_args(text: str) -> list[str]:
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


def synthesis_view(text: str) -> str:
    """``text`` with ``#ifdef QNNCC_CSIM_FAST`` blocks dropped (what Vitis HLS compiles)."""
    return re.sub(r"#ifdef QNNCC_CSIM_FAST.*?#endif", "", text, flags=re.S)


def strip_comments(text: str) -> str:
    """``text`` without ``//`` and ``/* */`` comments."""
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def eval_const(expr: str, names: Mapping[str, int]) -> int | None:
    """Value of a C integer constant expression over ``names``, or None if not constant."""
    e = re.sub(r"\b(\d+)[uU]\b", r"\1", expr.strip().rstrip(";"))
    tern = re.fullmatch(r"(.+?)\?(.+?):(.+)", e, flags=re.S)
    if tern:
        cond = eval_const(tern[1], names)
        return None if cond is None else eval_const(tern[2] if cond else tern[3], names)
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


def type_bits(arg: str) -> int | None:
    """Element bits of a qnncc datatype argument (``qnncc::UInt<8>``, ``qnncc::Bipolar``)."""
    m = re.fullmatch(r"(?:qnncc::)?(?:UInt|Int)<(\d+)>", arg.strip())
    if m:
        return int(m[1])
    return 1 if arg.strip() in ("qnncc::Bipolar", "Bipolar") else None


# ------------------------------------------------------------------ the library function
@dataclass
class TemplateFunction:
    """A function template of the library: its template parameters, signature and body."""

    name: str
    params: list[tuple[str, str]]  # (kind, name): kind "unsigned"/"int"/"bool"/"typename"
    signature: str
    body: str  # raw body (comments kept, fast paths removed)


def find_function(library: Mapping[str, str], name: str) -> TemplateFunction | None:
    """The ``template <...> void name(...)`` of ``library`` (file name -> text), fast paths removed, or None."""
    pattern = re.compile(r"template\s*<([^{;]*?)>\s*void\s+" + re.escape(name) + r"\s*\(")
    for text in library.values():
        view = synthesis_view(text)
        m = pattern.search(view)
        if not m:
            continue
        params = []
        for p in split_args(m[1]):
            kind, _, pname = p.split("=")[0].strip().rpartition(" ")  # a default (``RES = RES_AUTO``) dropped
            params.append((kind.strip(), pname.strip()))
        sig_end = closing_bracket(view, m.end() - 1, "(", ")")
        body_start = view.index("{", sig_end)
        body_end = closing_bracket(view, body_start, "{", "}")
        return TemplateFunction(name, params, view[m.end() : sig_end], view[body_start + 1 : body_end])
    return None


def bind_names(fn: TemplateFunction, args: list[str]) -> dict[str, int]:
    """Integer names of an instance: template values, ``T::bits`` of datatypes, then ``const`` locals."""
    names: dict[str, int] = {}
    for (kind, pname), arg in zip(fn.params, args, strict=False):
        if kind == "typename":
            bits = type_bits(arg)
            m = re.fullmatch(r"ap_u?int<(\d+)>", arg.strip())
            if bits is not None:
                names[f"{pname}__bits"] = bits
            elif m:
                names[f"{pname}__width"] = int(m[1])
        else:
            value = eval_const(arg, names)
            if value is not None:
                names[pname] = value
    for m in re.finditer(r"const\s+(?:unsigned|int)\s+(\w+)\s*=\s*([^;]+);", strip_comments(fn.body)):
        value = eval_const(scoped(m[2]), names)
        if value is not None:
            names[m[1]] = value
    return names


def scoped(expr: str) -> str:
    """``expr`` with ``T::bits``/``T::width`` spelled as the bound names ``T__bits``/``T__width``."""
    return re.sub(r"\b(\w+)::(bits|width)\b", r"\1__\2", expr)


# ------------------------------------------------------------------ loops
@dataclass
class Loop:
    """A ``for``/``while`` loop: header, body, its own statements and pragmas, and if an outer loop pipelines it."""

    header: str
    body: str  # raw body of the loop
    direct: str  # body without nested loops (comments removed)
    pragmas: list[tuple[str, str]]
    parent_pipelined: bool


def find_loops(body: str, inside_pipeline: bool = False) -> list[Loop]:
    """Every loop of ``body``, outer before inner, each marked if an enclosing loop is pipelined."""
    found: list[Loop] = []
    pos = 0
    while True:
        m = LOOP.search(body, pos)
        if not m:
            return found
        hdr_end = closing_bracket(body, m.end() - 1, "(", ")")
        brace = body.index("{", hdr_end)
        end = closing_bracket(body, brace, "{", "}")
        inner = body[brace + 1 : end]
        direct = strip_comments(inner)
        for sub in reversed(list(LOOP.finditer(direct))):
            s_hdr = closing_bracket(direct, sub.end() - 1, "(", ")")
            s_end = closing_bracket(direct, direct.index("{", s_hdr), "{", "}")
            direct = direct[: sub.start()] + direct[s_end + 1 :]
        pragmas = [(p[1].upper(), p[2]) for p in PRAGMA.finditer(direct)]
        loop = Loop(body[m.start() : hdr_end + 1], inner, direct, pragmas, inside_pipeline)
        found.append(loop)
        pipelined = inside_pipeline or is_pipelined(loop)
        found += find_loops(inner, pipelined)
        pos = end + 1


def is_pipelined(loop: Loop) -> bool:
    """Whether ``loop`` carries ``#pragma HLS PIPELINE``."""
    return any(kind == "PIPELINE" for kind, _ in loop.pragmas)


def trip_count(loop: Loop, names: Mapping[str, int]) -> tuple[str, int | None]:
    """Induction variable and trip count of a canonical ``for`` loop."""
    m = re.match(r"for\s*\(\s*(?:unsigned|int)\s+(\w+)\s*=\s*([^;]+);\s*\w+\s*(<|>=)\s*([^;]+);", loop.header)
    if not m:
        return "", None
    start, bound = eval_const(scoped(m[2]), names), eval_const(scoped(m[4]), names)
    if start is None or bound is None:
        return m[1], None
    return m[1], (bound - start) if m[3] == "<" else (start - bound + 1)
