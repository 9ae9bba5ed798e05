"""Brevitas QONNX CNNs end to end: builds on Pynq-Z1, estimates, cppsim verification and the tcl check.

For each model in ``tests/data/brevitas_dev`` (both export styles with
``--styles both``) it runs ``qnncc build --input-scale 1/255`` twice:

* ``--target-fps 10000`` and "fastest that fits" (no target): HW layer list,
  estimated FPS and latency, LUT / BRAM_18K / DSP, build time (s);
* in the fastest build, the C++ simulation of the partition on MNIST test
  images 5000..5999 (bit-exact with ``execute``, accuracy) and the stitch
  script's tcl check.

Usage: python benchmarks/bench_brevitas.py [--styles qonnx|both] [--images N]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the stub-Vivado tcl check

from vivado_stub import check_stitch_tcl

from qnncc.boards import get_board
from qnncc.flow.build import BuildConfig, build

ROOT = Path(__file__).resolve().parent.parent
BREVITAS = ROOT / "tests" / "data" / "brevitas_dev"
MODELS = ("mlp_w2a2", "cnv3_w2a2", "dws_w4a4", "res2_w3a3")
STYLES = {"qonnx": "model_qonnx.onnx", "torchscript": "model_qonnx_torchscript.onnx"}


def layer_list(layers: list[dict]) -> str:
    counts = collections.Counter(layer["op_type"] for layer in layers)
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", choices=("qonnx", "both"), default="qonnx")
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    data = np.load(ROOT / "tests" / "data" / "mnist_test.npz")
    board = get_board("Pynq-Z1")
    styles = ["qonnx"] if args.styles == "qonnx" else list(STYLES)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "eval.npz"
        sl = slice(5000, 5000 + args.images)
        np.savez(npz, images=data["images"][sl].reshape(-1, 1, 28, 28), labels=data["labels"][sl])
        head = f"{'model':<10} {'export':<11} {'mode':<8} {'FPS':>9} {'lat us':>8} {'LUT':>7} {'BRAM':>5} {'DSP':>4}"
        print(f"{head} {'build s':>7}  HW layers / verification")
        for name in MODELS:
            for style in styles:
                path = BREVITAS / name / STYLES[style]
                for mode, fps in (("10k", 10_000.0), ("fastest", None)):
                    out = Path(tmp) / f"{name}_{style}_{mode}"
                    verify = npz if mode == "fastest" else None
                    config = BuildConfig(output_dir=out, input_scale="1/255", target_fps=fps, verify_data=verify)
                    t0 = time.perf_counter()
                    result = build(path, config)
                    seconds = time.perf_counter() - t0
                    est = result.estimate or {}
                    used = est.get("used", {})
                    lat = est.get("estimated_latency_ns", 0.0) / 1e3
                    row = (
                        f"{name:<10} {style:<11} {mode:<8} {result.fps:>9,.0f} {lat:>8.1f} {used.get('LUT', 0):>7,.0f} "
                        f"{used.get('BRAM_18K', 0):>5.0f} {used.get('DSP', 0):>4.0f} {seconds:>7.1f}"
                    )
                    if mode == "10k":
                        print(f"{row}  {layer_list(est.get('layers', []))}")
                        continue
                    v = result.verification or {}
                    check = check_stitch_tcl(
                        out / "stitch" / "stitch_ipi.tcl",
                        out / "stitch" / "ip_catalog.json",
                        board,
                        board.default_clk_ns,
                    )
                    print(
                        f"{row}  cppsim {v.get('images')} images bit-exact={v.get('bit_exact')} "
                        f"accuracy={v.get('accuracy', float('nan')):.2%} (compile {v.get('compile_seconds', 0):.0f} s, "
                        f"sim {v.get('simulation_seconds', 0):.0f} s); tcl check {'ok' if check.ok else check.problems}"
                    )


if __name__ == "__main__":
    main()
