"""Import floors: no module imports a module of a higher floor.

qnncc is built in floors (docs/design.md, "Floors"); a module may import its own floor and the
ones below, never one above. The check reads every import statement of the installed sources
(module level and inside functions) with ``ast``, so a late ``import`` inside a function is
caught too.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Package prefixes by floor, lowest first. A module belongs to the longest matching prefix.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("qnncc.core", "qnncc.version", "qnncc.data", "qnncc.hls_templates", "qnncc.jobs"),
    ("qnncc.custom_op", "qnncc.execution", "qnncc.ingest"),
    ("qnncc.hw", "qnncc.boards"),
    ("qnncc.transforms",),
    ("qnncc.codegen",),
    ("qnncc.flow", "qnncc.analysis", "qnncc.estimate", "qnncc.build"),
    ("qnncc.cli",),
    ("qnncc",),  # the package itself: the public API re-exports
)

#: Source roots and the package each installs as (setup.cfg ``package_dir``).
SOURCES = {"src/qnncc": "qnncc", "transforms": "qnncc.transforms", "hls_templates": "qnncc.hls_templates"}


def floor_of(module: str) -> int:
    """The floor of a dotted module name (longest matching prefix)."""
    best, best_len = -1, -1
    for level, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = level, len(prefix)
    if best < 0:
        raise AssertionError(f"module {module!r} is on no floor: add its package to FLOORS")
    return best


@functools.cache
def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root, package in SOURCES.items():
        for path in (ROOT / root).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / root).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every qnncc import in ``path`` (relative ones resolved)."""
    tree = ast.parse(path.read_text())
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "qnncc" or target.startswith("qnncc."):
                names = [a.name for a in node.names]
                # ``from qnncc.x import y`` may import the submodule qnncc.x.y
                subs = [f"{target}.{n}" for n in names]
                known = _modules()
                out.extend((node.lineno, s if s in known else target) for s in subs)
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "qnncc")
    return out


MODULES = _modules()


def test_every_module_is_on_a_floor() -> None:
    for module in MODULES:
        floor_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_goes_up(module: str) -> None:
    level = floor_of(module)
    bad = [
        f"line {line}: {target} (floor {floor_of(target)})"
        for line, target in imports_of(module, MODULES[module])
        if floor_of(target) > level
    ]
    assert not bad, f"{module} (floor {level}) imports upward: " + "; ".join(bad)


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    from qnncc.flow.build import build\n")
    [(line, target)] = imports_of("qnncc.hw.perf.mod", path)
    assert line == 2 and floor_of(target) > floor_of("qnncc.hw.perf.mod")
