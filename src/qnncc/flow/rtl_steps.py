"""The RTL backend's build steps: ``rtl`` (Verilog), ``synth`` (Yosys) and the Verilator ``verify``.

``qnncc build --backend rtl`` runs ``rtl`` instead of ``hls``: the HW
partition (after width converters and FIFO sizing) becomes ``rtl/`` --
one Verilog wrapper per layer around qnncc's RTL library, ROM files and the
stitched top ``qnncc_partition.v`` (:func:`qnncc.codegen.rtl.generate_rtl`);
in zynq mode the TLAST inserters before the DMAs are RTL modules too
(``rtl/qnncc_tlast_<k>.v``), so the design has no HLS IP. ``stitch`` then uses the layer modules as module
references. ``verify`` (with ``--verify-data``) simulates the stitched
partition with Verilator (:func:`verify_partition_rtl`) and compares with
``execute`` bit for bit. ``synth`` (``--synth``, either backend) runs Yosys
``synth_xilinx`` per layer (:func:`synth_partition`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = [
    "RTLSIM_RESULTS",
    "SYNTH_JSON",
    "refresh_summary",
    "rtl_step",
    "synth_build",
    "synth_partition",
    "synth_step",
    "verify_partition_rtl",
    "write_synth_report",
]

#: RTL simulation figures, relative to the build folder.
RTLSIM_RESULTS = "verification/rtlsim_results.json"
#: Yosys resource table, relative to the build folder.
SYNTH_JSON = "report/synth.json"
#: Frames simulated again under random back-pressure (input valid 50 %, output ready 40 %).
PRESSURED_FRAMES = 20


def rtl_step(ctx: Any, work: ModelWrapper) -> ModelWrapper:
    """Build step ``rtl``: write ``rtl/`` (with the zynq shell's RTL TLAST inserters) for the single partition.

    (A design of several partitions: :func:`qnncc.flow.partition_steps.rtl`.)

    Raises:
        QnnccError: for a model without one partition; CodegenError for a layer without an RTL core.
    """
    from qnncc.codegen.rtl import generate_rtl
    from qnncc.codegen.vivado.plan import stitch_plan
    from qnncc.codegen.vivado.tlast import write_tlast_rtl
    from qnncc.flow.steps import child_model

    child = child_model(work)
    project = generate_rtl(child, ctx.out)
    ctx.layers = [r.name for r in project.layers]
    hls = ctx.out / "hls"
    if hls.exists():
        import shutil

        shutil.rmtree(hls)
    if ctx.shell == "zynq":
        write_tlast_rtl(stitch_plan(child, "rtl"), ctx.out)
    return work


def synth_partition(
    child: ModelWrapper | list[ModelWrapper],
    out: Path,
    scheduler: str | None = None,
    estimate: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Yosys ``synth_xilinx -family xc7`` of every layer of a HW partition; writes ``report/synth.json``/``.md``.

    Args:
        child: the HW partition (as code generation sees it), or those of a design of several
            partitions (one report over all their layers).
        out: the build folder.
        scheduler: runs the per-layer jobs (see :func:`qnncc.jobs.get_executor`).
        estimate: ``report/estimate.json`` of the build, for FINN's formula next to each layer.

    Returns:
        The report (see :func:`write_synth_report`).

    Raises:
        CodegenError: a layer without RTL; JobError naming the layers Yosys failed on.
    """
    from qnncc.codegen.rtl.generate import partition_layers
    from qnncc.codegen.rtl.yosys import synth_layers
    from qnncc.jobs import get_executor

    layers = [r for c in (child if isinstance(child, list) else [child]) for r in partition_layers(c)[1]]
    start = time.perf_counter()
    with get_executor(scheduler) as executor:
        results = synth_layers(layers, executor)
    seconds = time.perf_counter() - start
    nodes = {r.name: r.node_name for r in layers}
    return write_synth_report(results, nodes, out, seconds, estimate)


def write_synth_report(
    results: list[Any], nodes: dict[str, str], out: Path, seconds: float, estimate: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``report/synth.json`` and ``report/synth.md``: resources per layer and total.

    Args:
        results: :class:`~qnncc.codegen.rtl.yosys.SynthResult` per layer.
        nodes: module name -> ONNX node name.
        out: the build folder.
        seconds: wall-clock time of the synthesis.
        estimate: ``estimate.json`` figures: FINN's LUT/BRAM formula per layer is put next to Yosys'.

    Returns:
        ``{"tool", "seconds", "layers": [...], "total": {...}}`` (the JSON written).
    """
    from qnncc.codegen.rtl.yosys import RESOURCE_KEYS, total_resources

    formula = {layer["name"]: layer for layer in (estimate or {}).get("layers", [])}
    rows = []
    for r in results:
        node = nodes.get(r.layer, r.layer)
        row: dict[str, Any] = {"layer": r.layer, "node": node, "op_type": r.op_type}
        row.update({k: int(getattr(r, k)) for k in RESOURCE_KEYS})
        if node in formula:
            row["formula_lut"] = round(float(formula[node].get("LUT", 0)))
            row["formula_bram_18k"] = round(float(formula[node].get("BRAM_18K", 0)))
        rows.append(row)
    report = {
        "tool": "yosys 0.70 (yowasp) synth_xilinx -family xc7",
        "seconds": round(seconds, 3),
        "layers": rows,
        "total": total_resources(results),
    }
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    (out / SYNTH_JSON).write_text(json.dumps(report, indent=2) + "\n")
    (folder / "synth.md").write_text(synth_markdown(report))
    return report


def synth_table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows (per layer, then the total) of a ``synth.json`` report."""
    header = ["layer", "op", "LUT", "LUTRAM", "FF", "CARRY4", "BRAM_18K", "URAM", "DSP", "LUT (FINN formula)"]
    keys = ("lut", "lutram", "ff", "carry", "bram_18k", "uram", "dsp")
    rows: list[list[Any]] = []
    for r in report["layers"]:
        rows.append([r["layer"], r["op_type"], *(r[k] for k in keys), r.get("formula_lut", "")])
    total = report["total"]
    formula = [r["formula_lut"] for r in report["layers"] if "formula_lut" in r]
    rows.append(["total", "", *(total[k] for k in keys), sum(formula) if formula else ""])
    return header, rows


def synth_markdown(report: dict[str, Any]) -> str:
    """``synth.md``: the resource table of a ``synth.json`` report."""
    header, rows = synth_table(report)
    lines = [
        f"# Yosys synthesis ({report['tool']}, {report['seconds']:.1f} s)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def synth_step(ctx: Any, work: ModelWrapper) -> ModelWrapper:
    """Build step ``synth``: :func:`synth_partition` of every partition (FINN's formula from the estimate)."""
    from qnncc.flow.partition_steps import children, is_multi
    from qnncc.flow.report import read_json
    from qnncc.flow.steps import child_model

    estimate = read_json(ctx.out / "report" / "estimate.json")
    kids = children(work) if is_multi(work) else child_model(work)
    synth_partition(kids, ctx.out, ctx.config.scheduler, estimate)
    return work


def verify_partition_rtl(
    parent: ModelWrapper, data: str | Path, folder: str | Path, count: int | None = None
) -> dict[str, Any]:
    """Verilator-simulate the stitched partition of ``parent`` on ``data``; compare with ``execute`` bit for bit.

    All images stream at full rate (input always valid, output always ready),
    which gives the cycles per frame (steady state: between the last output
    words of the last two frames) and the first-output latency; the first
    :data:`PRESSURED_FRAMES` run again under random back-pressure and must give
    the same outputs (a deadlock fails the simulation).

    Args:
        parent: the model with one ``StreamingDataflowPartition``.
        data: ``.npz`` with ``images`` and optionally ``labels``.
        folder: where ``rtlsim_results.json`` and ``rtlsim_output.npy`` go.
        count: use only the first images.

    Returns:
        ``images``, ``bit_exact``, ``mismatching_images``, ``backpressure_bit_exact``,
        ``cycles_per_frame``, ``latency_cycles``, ``compile_seconds``,
        ``simulation_seconds`` and, with labels and class-index outputs, ``accuracy``/``correct``.

    Raises:
        QnnccError: for bad data or a model without one partition; RtlToolError if Verilator fails.
    """
    from qnncc.codegen.rtl import build_partition_rtlsim
    from qnncc.flow.verify import _run_suffix, label_accuracy, partition_io

    images, labels, child, sdp, part_in, part_out = partition_io(parent, data, count)
    sim = build_partition_rtlsim(child)
    flat = part_in.reshape(len(images), -1)
    start = time.perf_counter()
    run = sim.run([flat])
    pressured = min(PRESSURED_FRAMES, len(images))
    slow = sim.run([flat[:pressured]], seed=7, p_valid=50, p_ready=40)
    sim_seconds = time.perf_counter() - start
    got = run.outputs[0]
    expected = part_out.reshape(got.shape)
    mismatches = int(np.count_nonzero((got != expected).reshape(len(images), -1).any(axis=1)))
    figures: dict[str, Any] = {
        "simulator": "verilator",
        "images": len(images),
        "bit_exact": mismatches == 0,
        "mismatching_images": mismatches,
        "backpressure_images": pressured,
        "backpressure_bit_exact": bool(np.array_equal(slow.outputs[0], expected[:pressured])),
        "cycles_per_frame": run.cycles_per_frame,
        "latency_cycles": run.latency,
        "compile_seconds": round(sim.build_seconds, 3),
        "simulation_seconds": round(sim_seconds, 3),
    }
    if labels is not None:
        figures.update(label_accuracy(_run_suffix(parent, sdp.output[0], got), labels))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rtlsim_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    np.save(out / "rtlsim_output.npy", got)
    return figures


def synth_build(build_dir: str | Path, scheduler: str | None = None) -> dict[str, Any]:
    """Yosys resources of a finished build (``qnncc synth BUILD_DIR``); refreshes its summary.

    Synthesises the HW partition the build's ``fifo`` step saved
    (``intermediate_models/dataflow_partition.onnx``, or every
    ``dataflow_partition_<k>.onnx`` of a design of several), whatever its backend.

    Returns:
        The report written to ``report/synth.json`` (see :func:`write_synth_report`).

    Raises:
        QnnccError: for a folder that is not a build or has no partition model;
            CodegenError for a layer without RTL; JobError if Yosys fails on a layer.
    """
    from qnncc.flow.report import read_json

    folder = Path(build_dir)
    path = folder / "intermediate_models" / "dataflow_partition.onnx"
    if not folder.is_dir():
        raise QnnccError(f"build folder {folder} does not exist")
    several = sorted(path.parent.glob("dataflow_partition_*.onnx"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if not path.is_file() and not several:
        raise QnnccError(f"{folder} has no {path.relative_to(folder)}; build it through the 'fifo' step first")
    kids = [ModelWrapper(str(p)) for p in several] if not path.is_file() else ModelWrapper(str(path))
    report = synth_partition(kids, folder, scheduler, read_json(folder / "report" / "estimate.json"))
    refresh_summary(folder)
    return report


def refresh_summary(folder: Path) -> None:
    """Rewrite ``report/summary.md``/``.html`` of a finished build from its ``build_log.json`` and reports."""
    from qnncc.flow.report import read_json, write_summary

    record = read_json(folder / "build_log.json") or {}
    config = {**record.get("config", {}), "clock_ns": record.get("clock_ns"), "shell": record.get("shell")}
    write_summary(
        folder,
        name=record.get("model", folder.name),
        status=record.get("status", "complete"),
        config=config,
        steps={k: float(v) for k, v in record.get("steps_seconds", {}).items()},
        warnings=record.get("warnings", []),
        resumed_from=record.get("resumed_from"),
    )
