"""C++ simulation benchmark: source generation, g++ compile and simulation of whole partitions.

For TFC-W1A1 (its folding file) and LFC-W1A1 (auto-folded for Pynq-Z1,
input scale 1/255) it prints, measured in the same run:

* generation: wall-clock from the ONNX file to every source (estimate
  pipeline, HLS C++, stitch tcl, driver), excluding g++;
* compile: cold compile of the partition simulation (empty cache), seconds;
* simulation of the 10,000 MNIST test images, images/s, and the ratio to
  qnncc's Python execution (fast path) of the same HW model;
* accuracy and whether the C++ simulation equals execute bit for bit.

Usage: python benchmarks/bench_cppsim.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from qnncc.codegen import build_partition_sim, hw_partition
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.data import demo_model_path
from qnncc.execution import execute
from qnncc.flow.build import BuildConfig, build

ROOT = Path(__file__).resolve().parent.parent
LFC = ROOT / "tests" / "data" / "lfc_w1a1" / "LFCW1A1.onnx"
MNIST = ROOT / "tests" / "data" / "mnist_test.npz"


def main() -> None:
    data = np.load(MNIST)
    images = data["images"].reshape(len(data["images"]), -1).astype(np.float32)
    labels = data["labels"]
    folding = demo_model_path().parent / "tfc_w1a1_folding_config.json"
    cases = {
        "tfc": dict(model=demo_model_path(), folding=folding, input_scale=None),
        "lfc": dict(model=LFC, folding=None, input_scale="1/255"),
    }
    print(
        f"{'model':<5} {'generate s':>10} {'compile s':>10} {'sim s':>7} {'img/s':>9} "
        f"{'vs execute':>10} {'acc':>7} exact"
    )
    for key, case in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            config = BuildConfig(output_dir=Path(tmp) / "out", folding=case["folding"], input_scale=case["input_scale"])
            t0 = time.perf_counter()
            build(case["model"], config)
            t_gen = time.perf_counter() - t0
            child = ModelWrapper(str(Path(tmp) / "out" / "intermediate_models" / "dataflow_partition.onnx"))
            sim = build_partition_sim(hw_partition(child), cache=Path(tmp) / "cache")
            t0 = time.perf_counter()
            got = sim.run([images])[0][:, 0]
            t_sim = time.perf_counter() - t0
            t0 = time.perf_counter()
            ref = next(iter(execute(child, {child.graph.input[0].name: images}).values())).reshape(-1)
            t_exec = time.perf_counter() - t0
        acc = float(np.mean(got == labels))
        exact = bool(np.array_equal(got, ref))
        print(
            f"{key:<5} {t_gen:>10.2f} {sim.compile_seconds:>10.1f} {t_sim:>7.2f} {len(images) / t_sim:>9,.0f} "
            f"{t_exec / t_sim:>9.2f}x {acc:>7.2%} {exact}"
        )
    print(json.dumps({"note": "vs execute = Python fast-path time / C++ simulation time (same images)"}))


if __name__ == "__main__":
    main()
