"""Scale of the flow itself (issue 16): C++ simulation compile and FIFO sizing on FINN's example networks.

Prints, measured in the same run:

* ``cppsim``: CNV-W2A2 (``tests/scale_graphs.py``, Pynq-Z1, default folding)
  partition simulation compiled cold (empty object cache), wall and CPU
  seconds (this process, g++ and the compile workers), bit-exact with
  ``execute`` on 4 images; with ``--reference`` also the same compile with
  the weights compiled in as ROM initialisers (how qnncc compiled before the
  parameter files), and the ratio.
* ``fifo``: ``--fifo-sizing sim`` (``SetFIFODepths``) of ResNet-50 W1A2
  224x224 folded for 2,000 FPS on the U250, per SLR partition, before
  (whole-frame throttled measure, one FIFO at a time in a 20 CPU-s budget)
  and after (smooth measure, group search) in the same run: wall and CPU
  seconds, cycles simulated, FIFOs minimised within the budget, FIFO bits,
  BRAM_18K and LUT (FINN's StreamingFIFO estimate), deepest FIFO and the
  stitched ``axis_data_fifo`` cells it needs; the ratios; then the build's
  way (one job per partition, in parallel) and peak RSS. Building the HW
  model takes a minute or more; ``--rn50 DIR`` reuses a ``qnncc build ...
  --to-step insert_dwc`` output.

Usage: ``python benchmarks/bench_flow_scale.py [cppsim] [fifo] [--reference] [--rn50 DIR]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import scale_graphs  # noqa: E402

import qnncc  # noqa: E402
from qnncc.codegen.hls import build_partition_sim, hw_partition, render_layer  # noqa: E402
from qnncc.core.model_wrapper import ModelWrapper  # noqa: E402
from qnncc.flow.build import BuildConfig, build  # noqa: E402
from qnncc.hw.sim.fifo_sizing import FIFOSizing, fifo_resource_bits  # noqa: E402


def load_average() -> str:
    """1, 5 and 15 minute load averages (the machine is shared: figures depend on them)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (g++, pool workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_cppsim(reference: bool) -> None:
    """Cold compile of the CNV-W2A2 partition simulation (and the compiled-in reference)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnv_w2a2.onnx"
        scale_graphs.cnv(2, 2).save(path)
        config = BuildConfig(
            output_dir=Path(tmp) / "b", board="Pynq-Z1", input_scale="1/255", fifo_sizing="off", to_step="hls"
        )
        build(path, config)
        child = hw_partition(ModelWrapper(str(Path(tmp) / "b" / "intermediate_models" / "dataflow_partition.onnx")))
        shape = child.get_tensor_shape(child.graph.input[0].name) or []
        x = np.random.default_rng(16).integers(0, 256, [4, *shape[1:]]).astype(np.float32)
        expected = next(iter(qnncc.execute(child, {child.graph.input[0].name: x}).values())).reshape(-1)
        runs = {"parameter files": None}
        if reference:
            runs["compiled in (reference)"] = lambda code: (render_layer(code), {})
        figures = {}
        for name, patch in runs.items():
            ctx = mock.patch("qnncc.codegen.hls.cppsim.render_layer_sim", patch) if patch else mock.MagicMock()
            with ctx:
                wall, cpu = time.perf_counter(), cpu_seconds()
                sim = build_partition_sim(child, cache=Path(tmp) / name.split()[0])
                wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
            exact = np.array_equal(sim.run([x.reshape(4, -1)])[0].reshape(-1), expected)
            figures[name] = cpu
            print(
                f"cppsim CNV-W2A2 {name}: cold compile {wall:.1f} s wall, {cpu:.1f} s CPU, "
                f"{sim.compiled_units} units, bit-exact {exact}"
            )
        if reference:
            ratio = figures["compiled in (reference)"] / figures["parameter files"]
            print(f"cppsim CNV-W2A2: compiled-in / parameter files CPU time = {ratio:.1f}x")
    print(f"load average {load_average()}")


def _fifo_line(label: str, k: int, s: FIFOSizing, wall: float, cpu: float) -> dict[str, float]:
    """Print one sizing's figures; return its seconds and estimated FIFO resources."""
    from qnncc.codegen.vivado.plan import fifo_chain_depths
    from qnncc.hw.sim.fifo_sizing import fifo_resources

    cost = fifo_resources(s.network, s.depths)
    deepest = max(s.depths.values())
    print(
        f"fifo ResNet-50 224x224 partition {k} {label}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
        f"{s.simulated_cycles:,} cycles simulated, interval {s.interval_cycles} (unbounded "
        f"{s.reference.interval_cycles}), {len(s.sized)} streams, {s.unminimized} not minimised in the budget, "
        f"{sum(d > 2 for d in s.depths.values())} FIFOs ({fifo_resource_bits(s):,} bits: {cost['BRAM_18K']:.0f} "
        f"BRAM_18K, {cost['LUT']:.0f} LUT), deepest {deepest} -> {len(fifo_chain_depths(deepest))} axis_data_fifo"
    )
    return {"wall": wall, "cpu": cpu, "bits": fifo_resource_bits(s), **cost}


def bench_fifo(rn50: Path | None) -> None:
    """FIFO sizing by simulation of ResNet-50 224x224 at 2,000 FPS on the U250: before/after in one run."""
    from qnncc.custom_op.partition import partition_child, partition_nodes
    from qnncc.flow.fifo_jobs import size_partitions
    from qnncc.hw.sim import build_network, size_fifos

    with tempfile.TemporaryDirectory() as tmp:
        if rn50 is None:
            path = Path(tmp) / "rn50.onnx"
            scale_graphs.resnet50().save(path)
            rn50 = Path(tmp) / "b"
            config = BuildConfig(
                output_dir=rn50, board="U250", input_scale="1/255", target_fps=2000, to_step="insert_dwc"
            )
            build(path, config)
        parent = ModelWrapper(str(rn50 / "intermediate_models" / "11_insert_dwc.onnx"))
    # the U250 design is cut into one partition per SLR: each is sized on its own, as the build does
    children = [partition_child(parent, node) for node in partition_nodes(parent)]
    methods = {
        # qnncc's first method: whole frames throttled, one FIFO at a time, 20 CPU-s budget
        "before (frames + serial search)": {"measure": "frames", "search": "serial", "minimize_seconds": 20.0},
        "after (smooth + group search)": {},
    }
    totals: dict[str, dict[str, float]] = {}
    for k, child in enumerate(children):
        net = build_network(child)
        for label, options in methods.items():
            wall, cpu = time.perf_counter(), time.process_time()
            sizing = size_fifos(net, **options)  # type: ignore[arg-type]
            figures = _fifo_line(label, k, sizing, time.perf_counter() - wall, time.process_time() - cpu)
            for key, value in figures.items():
                totals.setdefault(label, {}).setdefault(key, 0.0)
                totals[label][key] += value
    before, after = (totals[label] for label in methods)
    for label, t in totals.items():
        print(
            f"fifo ResNet-50 224x224 {label}: {t['wall']:.1f} s wall, {t['cpu']:.1f} s CPU for {len(children)} "
            f"partitions one after another; FIFOs {t['bits']:,.0f} bits, {t['BRAM_18K']:.0f} BRAM_18K, "
            f"{t['LUT']:.0f} LUT"
        )
    print(
        f"fifo ResNet-50 224x224 before/after: {before['wall'] / after['wall']:.1f}x wall, "
        f"{before['cpu'] / after['cpu']:.1f}x CPU, BRAM_18K {before['BRAM_18K']:.0f} -> {after['BRAM_18K']:.0f}, "
        f"LUT {before['LUT']:.0f} -> {after['LUT']:.0f}"
    )
    wall = time.perf_counter()
    size_partitions(children)  # as the build runs it: one job per partition on the local pool
    wall = time.perf_counter() - wall
    print(
        f"fifo ResNet-50 224x224: --fifo-sizing sim {wall:.1f} s wall for {len(children)} partitions in parallel "
        f"(jobs); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB (this process)"
    )
    print(f"load average {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["cppsim", "fifo"], choices=["cppsim", "fifo"])
    parser.add_argument("--reference", action="store_true", help="also compile CNV-W2A2 with weights compiled in")
    parser.add_argument("--rn50", type=Path, help="a ResNet-50 build folder (--to-step insert_dwc) to reuse")
    args = parser.parse_args()
    if "cppsim" in args.what:
        bench_cppsim(args.reference)
    if "fifo" in args.what:
        bench_fifo(args.rn50)


if __name__ == "__main__":
    main()
