"""Command-line start-up benchmark: whole-process wall-clock of ``qnncc`` commands.

Measured in the same run, each the minimum and median of ``--repeat`` runs
(default 7) of a fresh process:

* ``python -c pass``: the interpreter alone (the reference);
* ``import onnx``: the floor of every command that reads a model;
* ``qnncc --help``: imports click and qnncc's errors only;
* ``qnncc estimate TFC``: the packaged TFC-W1A1 model with its folding file;
* ``estimate in-process``: the same estimate in a warm process (no imports).

Ratios are to ``python -c pass``. ``--help`` should stay within a few times
the interpreter's start-up; ``estimate`` within ``import onnx`` plus the
in-process estimate plus ~0.5 s of qnncc's own imports.

Usage: python benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _times(cmd: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    """Print the table (seconds; ratio of the minimum to the interpreter's)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from qnncc.data import demo_model_path

    model = demo_model_path()
    folding = model.parent / "tfc_w1a1_folding_config.json"
    qnncc = str(Path(sys.executable).with_name("qnncc"))
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import onnx": [sys.executable, "-c", "import onnx"],
            "qnncc --help": [qnncc, "--help"],
            "qnncc estimate TFC": [qnncc, "estimate", str(model), "--folding", str(folding), "-o", f"{tmp}/e"],
        }
        results = {name: _times(cmd, args.repeat) for name, cmd in cases.items()}
        from qnncc.flow.estimate import estimate

        estimate(model, folding=folding)
        warm = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            estimate(model, folding=folding, output_dir=Path(tmp) / "w")
            warm.append(time.perf_counter() - start)
        results["estimate in-process"] = warm
    base = min(results["python -c pass"])
    print(f"{'case':<22} {'min s':>7} {'median s':>9} {'x python':>9}")
    for name, t in results.items():
        print(f"{name:<22} {min(t):7.3f} {statistics.median(t):9.3f} {min(t) / base:9.1f}")


if __name__ == "__main__":
    main()
