"""Summary sections of the RTL backend: Verilator verification with cycles, and the Yosys resource table.

:func:`rtl_sections` adds them to a build's :class:`~qnncc.flow.report.Report`
when ``verification/rtlsim_results.json`` (the ``verify`` step of
``--backend rtl``) or ``report/synth.json`` (``synth`` step, ``qnncc synth``) exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["rtl_sections"]


def rtl_sections(doc: Any, out: Path, estimate: dict[str, Any] | None, fifo: dict[str, Any] | None) -> None:
    """Append the RTL simulation and Yosys sections (if their JSON files exist) to ``doc``.

    Args:
        doc: the summary (:class:`qnncc.flow.report.Report`).
        out: the build folder.
        estimate: ``report/estimate.json`` (the performance model's interval), or None.
        fifo: ``report/fifo_depths.json`` (the cycle-level simulator's interval), or None.
    """
    from qnncc.flow.report import read_json
    from qnncc.flow.rtl_steps import RTLSIM_RESULTS, SYNTH_JSON, synth_table

    rtl = read_json(out / RTLSIM_RESULTS)
    if rtl and "partitions" in rtl:
        _partitions_section(doc, rtl, fifo)
    elif rtl:
        doc.heading("Verification (RTL simulation, Verilator)")
        acc = f", accuracy {rtl['accuracy']:.2%}" if "accuracy" in rtl else ""
        exact = "bit-exact with execute" if rtl["bit_exact"] else f"{rtl['mismatching_images']} images differ"
        pressure = "also" if rtl["backpressure_bit_exact"] else "NOT"
        doc.para(
            f"{rtl['images']} images of the stitched partition, {exact}{acc}; the first "
            f"{rtl['backpressure_images']} {pressure} bit-exact under random back-pressure "
            f"(build {rtl['compile_seconds']:.1f} s, simulation {rtl['simulation_seconds']:.1f} s)."
        )
        rows = [["RTL simulation (Verilator)", f"{rtl['cycles_per_frame']:,}", f"{rtl['latency_cycles']:,}"]]
        sizing = (fifo or {}).get("sizing") or {}
        if sizing.get("interval_cycles"):
            rows.append(
                [
                    "cycle-level simulator",
                    f"{sizing['interval_cycles']:,}",
                    f"{sizing.get('first_output_latency_cycles') or ''}",
                ]
            )
        if estimate:
            rows.append(["performance model", f"{estimate['max_cycles']:,}", ""])
        doc.table(["cycles per frame from", "interval", "first-output latency"], rows, "lrr")
    synth = read_json(out / SYNTH_JSON)
    if synth:
        doc.heading("Resources (Yosys synthesis)")
        doc.para(f"{synth['tool']}, per layer of the RTL backend ({synth['seconds']:.1f} s; cached by layer).")
        header, rows = synth_table(synth)
        doc.table(header, rows, "ll" + "r" * (len(header) - 2))


def _partitions_section(doc: Any, rtl: dict[str, Any], fifo: dict[str, Any] | None) -> None:
    """Verilator figures of a design of several partitions: one row per partition, next to the simulator."""
    doc.heading("Verification (RTL simulation, Verilator)")
    acc = f", accuracy {rtl['accuracy']:.2%}" if "accuracy" in rtl else ""
    exact = "bit-exact with execute" if rtl["bit_exact"] else f"{rtl['mismatching_images']} images differ"
    doc.para(
        f"{rtl['images']} images through {len(rtl['partitions'])} stitched partitions in run order, {exact}{acc} "
        f"(build {rtl['compile_seconds']:.1f} s, simulation {rtl['simulation_seconds']:.1f} s)."
    )
    sizing = {s["partition"]: s for s in (fifo or {}).get("sizing_per_partition") or []}
    rows = []
    for p in rtl["partitions"]:
        sim = sizing.get(p["partition"], {}).get("interval_cycles")
        rows.append(
            [
                f"{p['partition']} {p['name']}",
                "yes" if p["bit_exact"] else f"{p['mismatching_images']} differ",
                "yes" if p.get("backpressure_bit_exact") else "NO",
                f"{p.get('cycles_per_frame', 0):,}",
                f"{sim:,}" if sim else "",
                f"{p.get('latency_cycles', 0):,}",
            ]
        )
    header = ["partition", "bit-exact", "under back-pressure", "RTL cycles/frame", "cycle sim", "RTL latency"]
    doc.table(header, rows, "llrrrr")
