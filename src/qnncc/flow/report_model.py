"""Report files taken from the build's final model: I/O streams, width converters, the dataflow picture.

Written at the end of a build (:func:`write_model_reports`) into ``report/``:

* ``io.json``: the accelerator's input and output streams as the driver
  packs them (datatype, shape, input scale, elements per word, stream width
  in bits, bytes per word, words and bytes per frame);
* ``stream_components.json``: the width converters (DWCs) between layers,
  with their widths and LUT estimate (FIFOs are in ``fifo_depths.json``);
* ``dataflow_graph.png`` (with plots): the software nodes before the
  accelerator, its layers, DWCs and FIFOs in stream order, and the software
  nodes after it (matplotlib boxes; no graphviz).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["dataflow_graph_figure", "io_report", "stream_components", "write_model_reports"]

log = logging.getLogger("qnncc.build")
_STREAM_KEYS = ("name", "datatype", "frame_shape", "elems_per_word", "stream_width", "word_bytes", "words_per_frame")


def io_report(model: ModelWrapper, input_scale: float | None) -> dict[str, Any]:
    """The partition's input and output streams as the driver packs them (see ``driver_context``)."""
    from qnncc.codegen.driver import driver_context

    ctx = driver_context(model)
    rows: dict[str, Any] = {}
    for kind in ("inputs", "outputs"):
        rows[kind] = [{k: s[k] for k in _STREAM_KEYS} | {"frame_bytes": s["frame_bytes"]} for s in ctx[kind]]
    for row in rows["inputs"]:
        row["scale"] = input_scale
    rows["software_prefix"] = ctx["meta"]["software_prefix"] is not None
    rows["software_suffix"] = ctx["meta"]["software_suffix"] is not None
    return rows


def stream_components(child: ModelWrapper) -> list[dict[str, Any]]:
    """One row per width converter of a HW model: name, stream, widths in bits and LUT estimate."""
    from qnncc.custom_op import get_custom_op

    rows = []
    for node in child.get_nodes_by_op_type("StreamingDataWidthConverter"):
        dwc = get_custom_op(node)
        attrs = dict(dwc.attrs)
        producer = child.find_producer(node.input[0])
        consumer = child.find_consumer(node.output[0])
        est = dwc.estimate(emitted=False)  # type: ignore[attr-defined]
        rows.append(
            {
                "name": node.name,
                "producer": producer.name if producer is not None else "(input)",
                "consumer": consumer.name if consumer is not None else "(output)",
                "in_bits": int(attrs["inWidth"]),
                "out_bits": int(attrs["outWidth"]),
                "LUT": int(est.lut),
                "BRAM_18K": int(est.bram_18k),
            }
        )
    return rows


def _chain(model: ModelWrapper) -> list[tuple[str, str, str]]:
    """``(name, op_type, kind)`` in graph order; kind ``sw``, ``hw``, ``dwc`` or ``fifo``; partitions expanded."""
    from qnncc.custom_op.partition import partition_child

    out: list[tuple[str, str, str]] = []
    for node in model.topological_sort():
        if node.op_type != "StreamingDataflowPartition":
            out.append((node.name, node.op_type, "sw"))
            continue
        for inner in partition_child(model, node).topological_sort():
            kind = {"StreamingDataWidthConverter": "dwc", "StreamingFIFO": "fifo"}.get(inner.op_type, "hw")
            out.append((inner.name, inner.op_type, kind))
    return out


_COLOURS = {"sw": "#d5d8dc", "hw": "#aed6f1", "dwc": "#f9e79f", "fifo": "#d2b4de"}
_LABELS = {"sw": "software (CPU)", "hw": "HW layer", "dwc": "width converter", "fifo": "FIFO"}


def _fit(text: str, width: int = 20) -> str:
    """``text`` shortened to fit a box (``StreamingDataWidthConverter_0`` -> ``StreamingDataWidthC…_0``)."""
    if len(text) <= width:
        return text
    head, sep, tail = text.rpartition("_")
    tail = sep + tail if head and len(tail) < 6 else ""
    return text[: width - len(tail) - 1] + "\u2026" + tail


def dataflow_graph_figure(model: ModelWrapper) -> Any:
    """A matplotlib Figure of the model's nodes in stream order, the accelerator's boxed, software grey."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, Patch

    chain = _chain(model)
    per_row = 6
    rows = (len(chain) + per_row - 1) // per_row
    fig = Figure(figsize=(9.0, 0.6 + 0.9 * rows), dpi=100)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, per_row)
    ax.set_ylim(rows, -0.35)
    ax.axis("off")
    for i, (name, op, kind) in enumerate(chain):
        r, c = divmod(i, per_row)
        c = c if r % 2 == 0 else per_row - 1 - c  # snake, so arrows stay short
        box = FancyBboxPatch(
            (c + 0.08, r + 0.2), 0.84, 0.5, boxstyle="round,pad=0.02", fc=_COLOURS[kind], ec="#566573", lw=0.8
        )
        ax.add_patch(box)
        ax.text(c + 0.5, r + 0.38, _fit(name), ha="center", va="center", fontsize=7, weight="bold")
        ax.text(c + 0.5, r + 0.58, _fit(op), ha="center", va="center", fontsize=6, color="#34495e")
        if i + 1 < len(chain):
            r2, c2 = divmod(i + 1, per_row)
            c2 = c2 if r2 % 2 == 0 else per_row - 1 - c2
            if r2 == r:
                x0, x1 = (c + 0.92, c2 + 0.08) if c2 > c else (c + 0.08, c2 + 0.92)
                ax.annotate("", (x1, r + 0.45), (x0, r + 0.45), arrowprops={"arrowstyle": "->", "lw": 0.8})
            else:
                ax.annotate("", (c2 + 0.5, r2 + 0.2), (c + 0.5, r + 0.7), arrowprops={"arrowstyle": "->", "lw": 0.8})
    kinds = [k for k in _LABELS if any(kind == k for _, _, kind in chain)]
    ax.legend(
        handles=[Patch(fc=_COLOURS[k], ec="#566573", label=_LABELS[k]) for k in kinds],
        loc="upper center",
        ncol=len(kinds),
        fontsize=7,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )
    return fig


def write_model_reports(folder: Path, model: ModelWrapper, input_scale: float | None, plots: bool) -> None:
    """Write ``io.json``, ``stream_components.json`` and (with ``plots``) ``dataflow_graph.png`` into ``folder``.

    A model without a single dataflow partition of HW layers gets none of them.
    """
    from qnncc.codegen import hw_partition

    try:
        child = hw_partition(model)
        io = io_report(model, input_scale)
    except QnnccError as exc:  # several partitions or software nodes inside one: nothing to describe
        log.info("no I/O report: %s", exc)
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "io.json").write_text(json.dumps(io, indent=2) + "\n")
    (folder / "stream_components.json").write_text(json.dumps(stream_components(child), indent=2) + "\n")
    if plots:
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError:
            return
        fig = dataflow_graph_figure(model)
        FigureCanvasAgg(fig)
        fig.savefig(folder / "dataflow_graph.png", format="png", metadata={"Software": None})
