"""Pareto plot of a sweep table: FPS against LUT, BRAM_18K and DSP, one row of panels per board.

Each model has one colour; every estimated point is a marker (hollow when the
design does not fit the board), and each model's Pareto front (no other point
of that model and board fits and has fewer resources and more FPS) is a step
line through the designs that fit. The dashed vertical line is the board's
amount of the resource. Resource axes are logarithmic, or symmetric-log
(linear below 1) when a design uses none of the resource, so it sits at 0.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["RESOURCES", "pareto_front", "pareto_plot"]

#: Resources on the x axes, in panel order.
RESOURCES = ("LUT", "BRAM_18K", "DSP")


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Non-dominated ``(resource, fps)`` points (less resource and more FPS is better), by resource.

    A point is dominated when another has resource <= and fps >= with one strictly better.
    """
    front: list[tuple[float, float]] = []
    for x, y in sorted(set(points), key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


def pareto_plot(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Draw the Pareto plot of the estimated rows (``status`` ``ok`` or ``short``) into ``path`` (PNG, atomically).

    Args:
        rows: sweep table rows (``board``, ``model``, ``quant_format``, ``fps``, resources, ``fits``).
        path: the PNG file.

    Returns:
        ``path``.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from qnncc.boards import get_board

    ok = [r for r in rows if r.get("status") in ("ok", "short") and r.get("fps")]  # short: fastest folding
    boards = list(dict.fromkeys(r["board"] for r in rows)) or ["(none)"]
    series = list(dict.fromkeys(_series(r) for r in ok))
    colours = colormaps["tab10"]
    fig = Figure(figsize=(4.2 * len(RESOURCES), 3.4 * len(boards) + 0.5))
    axes = fig.subplots(len(boards), len(RESOURCES), squeeze=False)
    for b, board in enumerate(boards):
        available = get_board(board).resources.as_dict() if board != "(none)" else {}
        for c, resource in enumerate(RESOURCES):
            ax = axes[b][c]
            largest = float(available.get(resource, 0))
            smallest = largest or 1.0
            for s, name in enumerate(series):
                mine = [r for r in ok if r["board"] == board and _series(r) == name]
                if not mine:
                    continue
                colour = colours(s % 10)
                xs = [float(r[resource]) for r in mine]
                largest = max(largest, *xs)
                smallest = min(smallest, *xs)
                ys = [float(r["fps"]) for r in mine]
                faces = [colour if r.get("fits") else "none" for r in mine]
                ax.scatter(xs, ys, s=22, facecolors=faces, edgecolors=[colour] * len(mine), label=name)
                fitting = [(x, y) for x, y, r in zip(xs, ys, mine, strict=True) if r.get("fits")]
                front = pareto_front(fitting)
                ax.step([p[0] for p in front], [p[1] for p in front], where="post", color=colour, lw=1.1)
            if available.get(resource):
                ax.axvline(available[resource], color="grey", ls="--", lw=0.8)
            if smallest > 0:
                ax.set_xscale("log")
                ax.set_xlim(smallest / 1.6, max(largest, 1.0) * 1.6)
            else:  # symmetric-log: 0 (no DSP, no BRAM) stays on the axis
                ax.set_xscale("symlog", linthresh=1.0)
                ax.set_xlim(0, max(largest, 1.0) * 1.6)
            ax.set_yscale("log")
            ax.set_xlabel(resource)
            ax.set_ylabel("FPS" if c == 0 else "")
            ax.set_title(f"{board}: FPS vs {resource}", fontsize=9)
            ax.grid(True, which="both", alpha=0.25)
    if series:
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(series)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 if series else 0, 1, 1))
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)
    return out


def _series(row: dict[str, Any]) -> str:
    """Legend entry of a row: the model (and its quantization format)."""
    fmt = row.get("quant_format")
    return f"{row['model']}{' ' + fmt if fmt else ''}"
