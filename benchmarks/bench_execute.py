"""Execution benchmark: fast path vs reference path on TFC-W1A1 (images/second).

Both paths run in the same process on the same MNIST test images; the result
is printed as a ratio against the reference measured in this run. The fast
path is measured batched (one onnxruntime session, batch 1000) and at batch 1;
the reference path one image at a time (how the debugging executor is used)
and batched.

A second table measures repeated ``qnncc.execute(model, ...)`` calls at batch 1
(the cached executor found by a fingerprint of the model) against the former
cache check, which serialized the whole model on every call, measured in the
same run (issue 15). For LFC-W1A1: ``--model tests/data/lfc_w1a1/LFCW1A1.onnx --scale 255``.

Usage: python benchmarks/bench_execute.py [--images N] [--model PATH --scale S]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import qnncc
from qnncc.data import demo_model_path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "mnist_test.npz"


def images_per_second(run: Callable[[np.ndarray], object], images: np.ndarray, batch: int, budget_s: float) -> float:
    """Throughput of ``run`` over ``images`` in chunks of ``batch``, for about ``budget_s`` seconds."""
    run(images[:batch])  # warm-up: builds and caches the executor
    done, t0 = 0, time.perf_counter()
    while True:
        for start in range(0, len(images), batch):
            run(images[start : start + batch])
            done += min(batch, len(images) - start)
            if time.perf_counter() - t0 > budget_s:
                return done / (time.perf_counter() - t0)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--model", type=Path, default=demo_model_path())
    parser.add_argument("--scale", type=float, default=1.0, help="input = pixels / scale")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per measurement")
    args = parser.parse_args()

    model = qnncc.load(args.model)
    name = model.graph_input_names()[0]
    images = np.load(DATA)["images"][: args.images].astype(np.float32)[:, None] / np.float32(args.scale)

    def runner(backend: str) -> Callable[[np.ndarray], object]:
        ex = qnncc.Executor(model, backend=backend)  # type: ignore[arg-type]
        return lambda x: ex.run({name: x})

    fast, ref = runner("fast"), runner("reference")
    rows = [
        ("fast, batch 1000", images_per_second(fast, images, 1000, args.budget)),
        ("fast, batch 1", images_per_second(fast, images, 1, args.budget)),
        ("reference, batch 1", images_per_second(ref, images, 1, args.budget)),
        ("reference, batch 1000", images_per_second(ref, images, 1000, args.budget)),
    ]
    ref_single = rows[2][1]
    print(f"model {args.model.name}, {len(images)} MNIST images")
    print(f"{'path':<24}{'images/s':>12}{'x reference batch 1':>22}")
    for label, ips in rows:
        print(f"{label:<24}{ips:>12,.0f}{ips / ref_single:>22.1f}")

    def execute_call(x: np.ndarray) -> object:
        return qnncc.execute(model, {name: x})

    def execute_serialized_key(x: np.ndarray) -> object:
        # the former cache check: serialize the whole model, compare with the cached bytes
        key = model.serialize()
        if key != cached_key:
            raise RuntimeError("model changed during the benchmark")
        return qnncc.execute(model, {name: x})

    cached_key = model.serialize()
    now = images_per_second(execute_call, images, 1, args.budget)
    before = images_per_second(execute_serialized_key, images, 1, args.budget)
    print(f"\nqnncc.execute at batch 1 (calls/s): fingerprint {now:,.0f}, serialized-model check {before:,.0f}")
    print(f"ratio fingerprint / serialized check: {now / before:.1f}x")


if __name__ == "__main__":
    main()
