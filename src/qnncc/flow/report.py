"""The readable build report: ``report/summary.md`` and ``report/summary.html``.

The estimate step stores its figures as ``report/estimate.json``
(:func:`estimate_figures`); the summary is written at the end of every
build (also of a resumed one) from that file, the FIFO table
(``report/fifo_depths.json``), the verification results and the step times.
Both formats come from one list of blocks, so they always say the same.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnncc.boards import Board

if TYPE_CHECKING:
    from qnncc.flow.estimate import EstimateResult

__all__ = ["Report", "estimate_figures", "read_json", "write_summary"]

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")


def estimate_figures(result: EstimateResult, board: Board, clock_ns: float, target_fps: float | None) -> dict[str, Any]:
    """JSON-ready figures of an estimate: per-layer cycles and resources, totals, fit, throughput."""
    from qnncc.transforms.hw import iter_hw_nodes

    op_types = {n.name: n.op_type for n in iter_hw_nodes(result.model)}
    perf = result.reports.get("estimate_network_performance.json", {})
    fit = result.fit
    return {
        "board": board.name,
        "part": board.part,
        "clock_ns": clock_ns,
        "target_fps": target_fps,
        "layers": [
            {
                "name": name,
                "op_type": op_types.get(name, ""),
                "cycles": int(e.cycles),
                "LUT": int(e.lut),
                "FF": int(e.ff),
                "BRAM_18K": int(e.bram_18k),
                "URAM": int(e.uram),
                "DSP": int(e.dsp),
            }
            for name, e in result.layers
        ],
        "max_cycles": int(result.partition.interval_cycles),
        "bottleneck": result.partition.bottleneck,
        "estimated_throughput_fps": float(perf.get("estimated_throughput_fps", 0.0)),
        "estimated_latency_ns": float(perf.get("estimated_latency_ns", 0.0)),
        "partitions": len(result.partitions) or 1,
        "used": {k: float(v) for k, v in fit.used.items()},
        "available": {k: int(v) for k, v in fit.available.items()},
        "utilisation_percent": {k: float(v) for k, v in fit.utilisation.items()},
        "margin": fit.margin,
        "fits": fit.fits,
        "over_budget": list(fit.over_budget),
        "software_nodes": [f"{n} ({t})" for n, t in result.software_nodes],
        "software_report": list(result.software_report),
        "unmatched_folding_keys": list(result.unmatched_folding_keys),
    }


def read_json(path: Path) -> Any:
    """The parsed JSON file, or None if it does not exist or cannot be read."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@dataclass
class Report:
    """A document of headings, paragraphs, lists, tables and images, rendered as Markdown or HTML."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """Add a section heading."""
        self.blocks.append(("h2", text))

    def para(self, text: str) -> None:
        """Add a paragraph."""
        self.blocks.append(("p", text))

    def items(self, items: Sequence[str]) -> None:
        """Add a bulleted list."""
        if items:
            self.blocks.append(("ul", list(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> None:
        """Add a table; ``align`` has one ``l``/``r`` per column (default: first left, others right)."""
        align = align or "l" + "r" * (len(header) - 1)
        self.blocks.append(("table", (list(header), [[str(c) for c in r] for r in rows], align)))

    def warnings(self, items: Sequence[str]) -> None:
        """Add a highlighted list of warnings."""
        if items:
            self.blocks.append(("warn", list(items)))

    def image(self, src: str, alt: str) -> None:
        """Add an image (path relative to the report)."""
        self.blocks.append(("img", (src, alt)))

    def markdown(self) -> str:
        """The report as GitHub-flavoured Markdown."""
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "h2":
                out += [f"## {value}", ""]
            elif kind == "p":
                out += [value, ""]
            elif kind == "ul":
                out += [f"- {item}" for item in value] + [""]
            elif kind == "warn":
                out += [f"> **warning**: {item}" + ("  " if i + 1 < len(value) else "") for i, item in enumerate(value)]
                out.append("")
            elif kind == "table":
                header, rows, align = value
                out.append("| " + " | ".join(header) + " |")
                out.append("| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |")
                out += ["| " + " | ".join(r) + " |" for r in rows]
                out.append("")
            elif kind == "img":
                out += [f"![{value[1]}]({value[0]})", ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        """The report as a standalone HTML page (images by relative path)."""
        esc = html.escape
        body = [f"<h1>{esc(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "h2":
                body.append(f"<h2>{esc(value)}</h2>")
            elif kind == "p":
                body.append(f"<p>{esc(value)}</p>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in value) + "</ul>")
            elif kind == "warn":
                body.append('<ul class="warn">' + "".join(f"<li>{esc(i)}</li>" for i in value) + "</ul>")
            elif kind == "table":
                header, rows, align = value
                cls = ["" if a == "l" else ' class="num"' for a in align]
                head = "".join(f"<th{c}>{esc(h)}</th>" for h, c in zip(header, cls, strict=True))
                lines = [
                    "<tr>" + "".join(f"<td{c}>{esc(v)}</td>" for v, c in zip(r, cls, strict=True)) + "</tr>"
                    for r in rows
                ]
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>")
            elif kind == "img":
                body.append(f'<p><img src="{esc(value[0])}" alt="{esc(value[1])}"></p>')
        style = (
            "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .6em}"
            "th{background:#f0f0f0}.num{text-align:right}img{max-width:100%}"
            ".warn{background:#fef5e7;border-left:4px solid #e67e22;padding:.5em 1em .5em 2em}"
        )
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(self.title)}</title>'
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def _io_section(doc: Report, io: dict[str, Any]) -> None:
    """Input/output streams: datatype, scale, shape, packing, words per frame."""
    doc.heading("Inputs and outputs")
    rows = []
    for kind in ("inputs", "outputs"):
        for s in io[kind]:
            scale = s.get("scale")
            rows.append(
                [
                    f"{kind[:-1]} {s['name']}",
                    s["datatype"],
                    "" if scale is None else f"x * {scale:.6g}",
                    "x".join(str(d) for d in s["frame_shape"]),
                    f"{s['elems_per_word']} x {s['stream_width'] // max(s['elems_per_word'], 1)} bits",
                    f"{s['stream_width']} ({s['word_bytes']} B)",
                    s["words_per_frame"],
                    s["frame_bytes"],
                ]
            )
    header = ["stream", "datatype", "scale", "frame", "elements per word", "word bits (bytes)", "words/frame"]
    doc.table([*header, "bytes/frame"], rows, "lllllrrr")
    parts = [p for p, key in (("before", "software_prefix"), ("after", "software_suffix")) if io.get(key)]
    where = " and ".join(parts)
    doc.para(
        "The driver packs each frame into these words (little-endian, first element in the low bits)"
        + (f"; the model's software nodes run {where} the accelerator (driver/software_*.onnx)." if parts else ".")
    )


def _folding_section(doc: Report, folding: dict[str, Any]) -> None:
    """The applied folding per layer (FINN's folding_config.json keys)."""
    keys = ["PE", "SIMD", "ram_style", "mem_mode", "resType"]
    layers = {k: v for k, v in folding.items() if k != "Defaults" and isinstance(v, dict)}
    used = [k for k in keys if any(k in v for v in layers.values())]
    doc.heading("Folding")
    rows = [[name, *(str(v.get(k, "")) for k in used)] for name, v in layers.items()]
    doc.table(["layer", *used], rows, "l" + "r" * len(used))


def _stream_resources(dwcs: Any, fifo: Any) -> dict[str, int]:
    rows = list(dwcs or []) + list((fifo or {}).get("fifos", []))
    if not rows:
        return {}
    return {k: int(sum(r.get(k, 0) for r in rows)) for k in ("LUT", "BRAM_18K")}


def write_summary(
    out: Path,
    *,
    name: str,
    status: str,
    config: dict[str, Any],
    steps: dict[str, float],
    warnings: Sequence[str] = (),
    error: str | None = None,
    resumed_from: str | None = None,
) -> Report:
    """Write ``report/summary.md`` and ``report/summary.html`` of the build folder ``out``.

    Args:
        out: the build folder.
        name: the model's name.
        status: ``complete`` or ``failed``.
        config: the build settings (``BuildConfig.describe()``).
        steps: seconds per step run by this invocation.
        warnings: messages for the user.
        error: the error that stopped a failed build.
        resumed_from: the checkpoint a resumed build started from.

    Returns:
        The :class:`Report` that was written.
    """
    report_dir = out / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    est = read_json(report_dir / "estimate.json")
    fifo = read_json(report_dir / "fifo_depths.json")
    verification = read_json(out / "verification" / "cppsim_results.json")
    doc = Report(f"qnncc build: {name}")
    board = config.get("board", "")
    doc.para(
        f"Status: {status}. Board {board}, clock {config.get('clock_ns')} ns, "
        f"{config.get('shell')} shell, FIFO sizing {config.get('fifo_sizing')}, {config.get('backend', 'hls')} backend."
    )
    if error:
        doc.para(f"Error: {error}")
    if warnings:
        doc.heading(f"Warnings ({len(warnings)})")
        doc.warnings(warnings)
    io = read_json(report_dir / "io.json")
    dwcs = read_json(report_dir / "stream_components.json")
    if (report_dir / "dataflow_graph.png").exists():
        doc.heading("Dataflow graph")
        doc.image("dataflow_graph.png", "software nodes, HW layers, width converters and FIFOs in stream order")
    if io:
        _io_section(doc, io)
    if est:
        doc.heading("Performance estimate")
        target = f", target {_fmt(est['target_fps'])} FPS" if est.get("target_fps") else ""
        doc.para(
            f"Throughput {_fmt(est['estimated_throughput_fps'])} FPS{target}; latency "
            f"{est['estimated_latency_ns'] / 1e3:,.2f} us; interval {est['max_cycles']} cycles per frame at "
            f"{est['clock_ns']:g} ns, bottleneck {est['bottleneck']}; {est['partitions']} partition(s)."
        )
        rows = [
            [
                layer["name"],
                layer["op_type"],
                layer["cycles"],
                f"{100 * layer['cycles'] / max(est['max_cycles'], 1):.0f}%",
                *(_fmt(layer[k]) for k in RESOURCES),
            ]
            for layer in est["layers"]
        ]
        doc.table(["layer", "op", "cycles", "of bottleneck", *RESOURCES], rows, "llrrrrrrr")
        if (report_dir / "layer_cycles.png").exists():
            doc.image("layer_cycles.png", "cycles per layer against the bottleneck")
        doc.heading(f"Resources on {est['board']} ({est['part']})")
        rows = [
            [k, _fmt(est["used"][k]), _fmt(est["available"][k]), f"{est['utilisation_percent'][k]:.1f}%"]
            for k in RESOURCES
            if k in est["used"]
        ]
        doc.table(["resource", "used", "available", "utilisation"], rows)
        extra = _stream_resources(dwcs, fifo)
        if extra:
            doc.para(
                f"Width converters and FIFOs add {extra['LUT']:,} LUT and {extra['BRAM_18K']:,} BRAM_18K "
                f"({100 * extra['LUT'] / max(est['available'].get('LUT', 1), 1):.2f}% of the LUTs)."
            )
        verdict = "fits" if est["fits"] else "does NOT fit (" + ", ".join(est["over_budget"]) + ")"
        doc.para(
            f"The design {verdict} within {100 * est['margin']:.0f}% of each resource "
            "(the layers; width converters and FIFOs are listed below)."
        )
        if (report_dir / "resource_utilisation.png").exists():
            doc.image("resource_utilisation.png", "resource utilisation against the board")
        if est["software_nodes"]:
            doc.para(
                "Nodes left in software (run before/after the accelerator): " + ", ".join(est["software_nodes"]) + "."
            )
            doc.items(est.get("software_report", []))
    folding = read_json(report_dir / "folding_config.json")
    if folding:
        _folding_section(doc, folding)
    if dwcs:
        doc.heading("Width converters")
        rows = [[d["name"], f"{d['producer']} -> {d['consumer']}", d["in_bits"], d["out_bits"], d["LUT"]] for d in dwcs]
        doc.table(["DWC", "stream", "in bits", "out bits", "LUT"], rows, "llrrr")
    if fifo:
        doc.heading("FIFOs")
        rows = [
            [
                f["name"],
                f"{f['producer']} -> {f['consumer']}",
                f["depth"],
                f["width_bits"],
                f"{f['impl_style']}/{f['ram_style']}",
                f["LUT"],
                f["BRAM_18K"],
            ]
            for f in fifo["fifos"]
        ]
        sizing = fifo.get("sizing") or {}
        line = (
            f"Strategy {fifo['strategy']}: {len(rows)} StreamingFIFO node(s), axis_data_fifo cells in the stitch"
            if rows
            else f"Strategy {fifo['strategy']}: no FIFO needed beyond the 2 words each stream holds"
        )
        if fifo.get("unsized_joins"):
            line = (
                f"Strategy {fifo['strategy']}: no FIFOs inserted, although the design forks and joins streams "
                f"({', '.join(fifo['unsized_joins'])}): it can deadlock; size FIFOs with --fifo-sizing sim"
            )
        if sizing:
            line += (
                f"; simulated interval {sizing.get('interval_cycles')} cycles "
                f"(unbounded FIFOs: {sizing.get('interval_cycles_unbounded')})"
            )
            if sizing.get("baseline_status"):
                line += f"; without these FIFOs: {sizing['baseline_status']}"
        doc.para(line + ".")
        if rows:
            doc.table(["FIFO", "stream", "depth", "bits", "style", "LUT", "BRAM_18K"], rows, "llrrlrr")
    if verification:
        doc.heading("Verification (C++ simulation)")
        acc = f", accuracy {verification['accuracy']:.2%}" if "accuracy" in verification else ""
        exact = (
            "bit-exact with execute"
            if verification["bit_exact"]
            else (f"{verification['mismatching_images']} images differ from execute")
        )
        doc.para(
            f"{verification['images']} images, {exact}{acc} (compile {verification['compile_seconds']:.1f} s, "
            f"simulation {verification['simulation_seconds']:.1f} s)."
        )
    from qnncc.flow.rtl_report import rtl_sections

    rtl_sections(doc, out, est, fifo)
    doc.heading("Steps")
    if resumed_from:
        doc.para(f"Resumed from {resumed_from}.")
    doc.table(["step", "seconds"], [[k, f"{v:.3f}"] for k, v in steps.items()])
    doc.heading("Files")
    doc.items(
        [
            f"{p}/" if (out / p).is_dir() else p
            for p in (
                "intermediate_models",
                "report",
                "hls",
                "rtl",
                "stitch",
                "driver",
                "verification",
                "Makefile.vivado",
            )
            if (out / p).exists()
        ]
    )
    (report_dir / "summary.md").write_text(doc.markdown())
    (report_dir / "summary.html").write_text(doc.html())
    return doc
