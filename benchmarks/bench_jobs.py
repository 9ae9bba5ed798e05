"""Job executor benchmark: a CNN's per-layer C++ simulation compiles on 1 vs 2 local workers.

The Brevitas CNN ``cnv3_w2a2`` (3 conv layers, 2 max-pools, a dense layer)
is compiled to its HW partition (optimiser folding for Pynq-Z1, input scale
1/255, width converters inserted); then its C++ simulation (one translation unit per layer plus the
partition and the test bench) is compiled cold through
:mod:`qnncc.jobs` with a local pool of 1 worker and of 2 workers, each into
an empty object cache (the shared precompiled header is built before the
clock starts). It prints the wall times, their ratio, and checks that both
binaries simulate 200 MNIST images identically to qnncc's execution. Then it
simulates ``--images`` MNIST images as one job (1 worker) and as 2 shards on 2
workers (``run_sharded``, as the build's ``verify`` step does) and prints the
wall times, their ratio and whether the outputs are equal.

Usage: python benchmarks/bench_jobs.py [--rounds N] [--model NAME] [--images N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from qnncc.transforms.hw import InsertDWC

from qnncc.codegen.hls import hw_partition
from qnncc.codegen.hls.compile_cache import Toolchain, precompiled_header
from qnncc.codegen.hls.cppsim import build_partition_sim, run_sharded
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.execution import execute
from qnncc.flow.estimate import estimate
from qnncc.jobs import LocalExecutor

ROOT = Path(__file__).resolve().parent.parent
BREVITAS = ROOT / "tests" / "data" / "brevitas_dev"
MNIST = ROOT / "tests" / "data" / "mnist_test.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="cold compiles per pool size (best is kept)")
    parser.add_argument("--model", default="cnv3_w2a2", help="folder under tests/data/brevitas_dev")
    parser.add_argument("--images", type=int, default=2000, help="images for the sharded simulation")
    args = parser.parse_args()
    model_path = BREVITAS / args.model / "model_qonnx.onnx"
    result = estimate(model_path, board="Pynq-Z1", input_scale="1/255")
    child = hw_partition(result.model).transform(InsertDWC())  # as the build's insert_dwc step
    layers = [n.name for n in child.graph.node]
    print(f"{args.model}: {len(layers)} HW layers in the partition: {', '.join(layers)}")
    all_images = np.load(MNIST)["images"].astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="qnncc-bench-jobs-") as root:
        _run(args, result.model, child, all_images, Path(root))


def _run(
    args: argparse.Namespace, parent: ModelWrapper, child: ModelWrapper, all_images: np.ndarray, root: Path
) -> None:
    """The measurements; caches and binaries live under ``root``."""
    images = all_images[:200].reshape(200, -1)
    first_in = child.graph.input[0].name
    shape = [int(d) for d in (child.get_tensor_shape(first_in) or [])[1:]]
    times: dict[int, float] = {}
    outputs: dict[int, np.ndarray] = {}
    for workers in (1, 2):
        best = float("inf")
        for round_ in range(args.rounds):
            cache = root / f"cache-{workers}-{round_}"
            precompiled_header(cache, Toolchain.of(False, None))
            with LocalExecutor(workers) as executor:
                start = time.perf_counter()
                sim = build_partition_sim(child, cache=cache, executor=executor)
                best = min(best, time.perf_counter() - start)
            feed = _partition_input(parent, images, shape)
            outputs[workers] = sim.run([feed.reshape(len(feed), -1)])[0]
            expected = execute(child, {first_in: feed})[child.graph.output[0].name]
            assert np.array_equal(outputs[workers].reshape(expected.shape), expected), "cppsim != execute"
        times[workers] = best
        units = sim.compiled_units
        print(f"  {workers} worker{'s' if workers > 1 else ' '}: {units} units compiled in {best:6.2f} s (wall)")
    assert np.array_equal(outputs[1], outputs[2])
    print(f"  speed-up 2 vs 1 workers: {times[1] / times[2]:.2f}x (both bit-exact with execute on 200 images)")
    many = all_images[: args.images].reshape(args.images, -1)
    feed = _partition_input(parent, many, shape).reshape(args.images, -1)
    sims: dict[int, np.ndarray] = {}
    for workers in (1, 2):
        with LocalExecutor(workers) as executor:
            start = time.perf_counter()
            sims[workers] = run_sharded(sim, [feed], executor, workers)[0]
            times[workers] = time.perf_counter() - start
        print(f"  simulation of {args.images} images, {workers} shard(s)/worker(s): {times[workers]:6.2f} s")
    same = np.array_equal(sims[1], sims[2])
    print(f"  speed-up 2 vs 1 shards: {times[1] / times[2]:.2f}x (outputs equal: {same})")


def _partition_input(parent: ModelWrapper, images: np.ndarray, shape: list[int]) -> np.ndarray:
    """The partition's input for raw MNIST pixels: the software prefix of ``parent`` run by ``execute``."""
    from qnncc.flow.verify import _execute_chunks, _prefix_model

    sdp = next(n for n in parent.graph.node if n.op_type == "StreamingDataflowPartition")
    prefix = _prefix_model(parent, sdp.input[0])
    in_shape = parent.get_tensor_shape(parent.graph.input[0].name) or []
    feed = images.reshape(len(images), *[int(d) for d in in_shape[1:]])
    return np.asarray(_execute_chunks(prefix, feed)).reshape(len(images), *shape)


if __name__ == "__main__":
    main()
