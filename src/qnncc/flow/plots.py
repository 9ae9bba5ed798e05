"""PNG plots of a build's estimates (matplotlib, Agg canvas; no pyplot state is touched).

* ``layer_cycles.png``: cycles per frame of every HW layer against the
  bottleneck (and the cycle budget of the target frame rate, if any);
* ``resource_utilisation.png``: each resource as a share of the board,
  stacked by layer, with the usable margin and 100 % (a design far below the
  margin gets a zoomed axis, so its bars stay readable).

Both take the figures of :func:`qnncc.flow.report.estimate_figures`
(``report/estimate.json``), so notebooks can redraw them from a finished build.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["layer_cycles_figure", "resource_figure", "write_plots"]

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")


def layer_cycles_figure(figures: dict[str, Any]) -> Figure:
    """Horizontal bars of cycles per layer; the bottleneck in red, the target's cycle budget dashed."""
    from matplotlib.figure import Figure

    layers = figures["layers"]
    names = [layer["name"] for layer in layers]
    cycles = [layer["cycles"] for layer in layers]
    worst = max(cycles) if cycles else 1
    height = 0.8 + 0.32 * max(len(names), 3)
    fig = Figure(figsize=(7.0, height), dpi=100)
    ax = fig.add_axes(_frame(7.0, height, max((len(n) for n in names), default=8)))
    colors = ["#c0392b" if c == worst else "#2e86c1" for c in cycles]
    ax.barh(range(len(names)), cycles, color=colors)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(worst, color="#c0392b", linestyle=":", linewidth=1, label=f"bottleneck {worst} cycles")
    target = figures.get("target_fps")
    if target:
        budget = 1e9 / (target * figures["clock_ns"])
        ax.axvline(budget, color="black", linestyle="--", linewidth=1, label=f"target {target:,.0f} FPS")
    ax.set_xlabel("cycles per frame (initiation interval)")
    fps = figures.get("estimated_throughput_fps", 0.0)
    ax.set_title(f"Cycles per layer: {fps:,.0f} FPS at {figures['clock_ns']:g} ns", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def resource_figure(figures: dict[str, Any]) -> Figure:
    """Stacked bars: each resource's use by layer as a percentage of the board, with the margin and 100 %."""
    from matplotlib.figure import Figure

    layers = figures["layers"]
    available = figures["available"]
    keys = [k for k in RESOURCES if available.get(k, 0) > 0]
    fig = Figure(figsize=(9.0, 3.2), dpi=100)
    ax = fig.add_axes(_frame(9.0, 3.2, 9, right=2.0 if len(layers) <= 16 else 0.3))
    left = [0.0] * len(keys)
    cmap = _colors(len(layers))
    for layer, color in zip(layers, cmap, strict=True):
        share = [100.0 * layer[k] / available[k] for k in keys]
        if any(share):
            ax.barh(
                range(len(keys)), share, left=left, color=color, label=layer["name"], edgecolor="white", linewidth=0.3
            )
        left = [a + b for a, b in zip(left, share, strict=True)]
    highest = max(left, default=0.0)
    for i, total in enumerate(left):
        ax.text(
            total + 0.01 * max(highest, 1.0),
            i,
            f"{total:.2g}%" if total < 1 else f"{total:.1f}%",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    ax.invert_yaxis()
    margin = 100.0 * figures.get("margin", 0.85)
    highest = max(left, default=0.0)
    zoomed = highest < 0.5 * margin  # a small design: zoom in so its bars are readable
    top = max(highest * 1.35, 1.0) if zoomed else max([*left, 100.0]) * 1.05
    if margin <= top:
        ax.axvline(margin, color="#e67e22", linestyle="--", linewidth=1)
    if top >= 100.0:
        ax.axvline(100.0, color="#c0392b", linewidth=1)
    ax.set_xlim(0, top)
    note = f"axis zoomed to {top:.1f}%; the limit is {margin:.0f}%" if zoomed else f"dashed: {margin:.0f}% limit"
    ax.set_xlabel(f"% of {figures['board']} ({figures['part']}); {note}")
    ax.set_title("Resource utilisation by layer", fontsize=10)
    if len(layers) <= 16:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return fig


def _frame(width: float, height: float, label_chars: int, right: float = 0.3) -> tuple[float, float, float, float]:
    """Axes rectangle (figure fractions) leaving room for y labels of ``label_chars`` characters.

    Fixed margins instead of matplotlib's constrained layout, which measured
    every text twice and cost about a third of the plotting time.
    """
    left = min(0.2 + 0.07 * label_chars, width * 0.45)
    bottom, top = 0.55, 0.35
    return (left / width, bottom / height, 1 - (left + right) / width, 1 - (bottom + top) / height)


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def write_plots(figures: dict[str, Any], folder: str | Path) -> list[Path]:
    """Write ``layer_cycles.png`` and ``resource_utilisation.png`` into ``folder``; their paths.

    The PNGs carry no time stamp or software tag, so equal figures give equal files.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in (
        ("layer_cycles.png", layer_cycles_figure(figures)),
        ("resource_utilisation.png", resource_figure(figures)),
    ):
        FigureCanvasAgg(fig)
        path = folder / name
        fig.savefig(path, format="png", metadata={"Software": None})
        written.append(path)
    return written
