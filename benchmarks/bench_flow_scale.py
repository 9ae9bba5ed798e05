"""Scale of the flow itself (issue 16): C++ simulation compile and FIFO sizing on FINN's example networks.

Prints, measured in the same run:

* ``cppsim``: CNV-W2A2 (``tests/scale_graphs.py``, Pynq-Z1, default folding)
  partition simulation compiled cold (empty object cache), wall and CPU
  seconds (this process, g++ and the compile workers), bit-exact with
  ``execute`` on 4 images; with ``--reference`` also the same compile with
  the weights compiled in as ROM initialisers (how qnncc compiled before the
  parameter files), and the ratio.
* ``fifo``: ``--fifo-sizing sim`` (``SetFIFODepths``) of ResNet-50 W1A2
  224x224 folded for 2,000 FPS on the U250: seconds, simulations, FIFOs
  minimised within the budget, deepest FIFO and the stitched
  ``axis_data_fifo`` cells it needs, peak RSS. Building the HW model takes
  several minutes; ``--rn50 DIR`` reuses a ``qnncc build ... --to-step
  insert_dwc`` output.

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


def bench_fifo(rn50: Path | None) -> None:
    """FIFO sizing by simulation of ResNet-50 224x224 at 2,000 FPS on the U250."""
    from qnncc.transforms.hw.set_fifo_depths import SetFIFODepths

    from qnncc.codegen.vivado.plan import fifo_chain_depths
    from qnncc.custom_op.partition import partition_child, partition_nodes

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
        results = []
        start = time.perf_counter()
        for child in children:
            sizer = SetFIFODepths()
            child.transform(sizer)
            assert sizer.result is not None
            results.append(sizer.result)
        seconds = time.perf_counter() - start
    for k, s in enumerate(results):
        deepest = max(s.depths.values())
        print(
            f"fifo ResNet-50 224x224 partition {k}: {s.seconds:.1f} s sizing, {s.simulated_cycles:,} cycles "
            f"simulated, interval {s.interval_cycles} (unbounded {s.reference.interval_cycles}), {len(s.sized)} "
            f"streams, {s.unminimized} not minimised in the budget, {sum(d > 2 for d in s.depths.values())} FIFOs, "
            f"deepest {deepest} -> {len(fifo_chain_depths(deepest))} axis_data_fifo"
        )
    print(
        f"fifo ResNet-50 224x224: --fifo-sizing sim {seconds:.1f} s for {len(results)} partition(s); "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB"
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
