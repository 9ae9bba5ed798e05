"""Emulation benchmark: quantized mnist-conv, emulation vs executing the QONNX graph node by node.

The model is quantized (INT8 per channel by default; calibration on MNIST
test images 0..999) and evaluated on images 5000.. with:

* the emulation (:class:`qnncc.analysis.Emulator`: weight quantizers folded,
  one batched onnxruntime session);
* qnncc's node-by-node reference back end, whole batch and one image per call;
* QONNX's own node-by-node executor ``qonnx.core.onnx_exec.execute_onnx``
  (one image per call, as QONNX/FINN run accuracy checks).

Prints seconds per image and the speed-up of the emulation over each, and
checks the emulation's outputs equal the node-by-node outputs bit for bit.

Usage: python benchmarks/bench_quantize.py [--format int8-channel] [--images 1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import qnncc
from qnncc.analysis import benchmark_emulation, load_npz, quantize

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "mnist_test.npz"
MODEL = ROOT / "tests" / "data" / "mnist_conv" / "model.onnx"


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="int8-channel")
    parser.add_argument("--images", type=int, default=1000, help="images for the batched timings")
    parser.add_argument("--single", type=int, default=100, help="images timed one by one (qnncc reference)")
    parser.add_argument("--qonnx", type=int, default=20, help="images timed one by one (qonnx execute_onnx)")
    args = parser.parse_args()

    model = qnncc.load(MODEL)
    calib = load_npz(DATA, model, items="0:1000")
    images = load_npz(DATA, model, items=f"5000:{5000 + args.images}").images
    qmodel = quantize(model, args.format, calib.images)
    bench = benchmark_emulation(qmodel, np.ascontiguousarray(images), args.single, args.qonnx)

    print(f"mnist-conv, {args.format}: {bench.images} images (MNIST test 5000..), calibration 0..999")
    print(f"{'executor':<34} {'ms/image':>10} {'speed-up of emulation':>22}")
    print(f"{'emulation (batched)':<34} {1e3 * bench.emulation:>10.3f} {'1.0x':>22}")
    rows = [
        ("qnncc reference, batched", bench.reference_batched),
        ("qnncc reference, per image", bench.reference_single),
        ("qonnx execute_onnx, per image", bench.qonnx_single),
    ]
    for name, sec in rows:
        if sec is not None:
            print(f"{name:<34} {1e3 * sec:>10.3f} {sec / bench.emulation:>21.1f}x")
    print(f"emulation outputs identical to node-by-node execution: {bench.identical}")
    if bench.qonnx_single is not None:
        ratio = bench.qonnx_single / bench.emulation
        print(f"ratio vs executing the QONNX graph node by node (qonnx execute_onnx): {ratio:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
