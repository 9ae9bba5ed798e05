"""FIFO sizing benchmark: cycle-level simulation instead of FINN's RTL simulation.

For each design it prints, measured in the same run:

* perf: the perf model's bottleneck cycles per frame;
* sim default / sized: simulated steady-state cycles per frame with depth-2
  streams (no FIFOs) and with the sized FIFOs ("deadlock" if it deadlocks);
* FIFOs: FIFO nodes inserted (depth > 2) and their storage in bits;
* sizing s: wall-clock of ``SetFIFODepths`` on the HW partition (network
  construction, every simulation, graph edits; the model compile before it
  is not counted; the C++ engine is compiled once beforehand);
* Mcycles: cycles simulated by the sizing, and Mcyc/s: simulated cycles per
  wall-clock second of the whole sizing; engine Mcyc/s: the engine alone on
  a long run (50 frames, sized FIFOs).

Designs: TFC-W1A1 (its folding file), LFC-W1A1 (auto folding, Pynq-Z1), the
test CNN of ``tests/transforms/test_cnn_flow.py`` (12x12, auto folding), the
same CNN at 32x32 with 16/32 channels, and the residual block of
``tests/hw/test_cyclesim.py`` (deadlocks with depth-2 streams).

Usage: python benchmarks/bench_fifo.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from qnncc.transforms.hw import InsertDWC
from qnncc.transforms.hw.set_fifo_depths import SetFIFODepths

from qnncc.codegen.hls import hw_partition
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate, estimate_layers
from qnncc.hw.sim import build_network, simulate

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "transforms"), str(ROOT / "tests" / "hw")]

from test_cnn_flow import build_cnn  # noqa: E402
from test_cyclesim import residual_cnn  # noqa: E402


def designs() -> dict[str, tuple[ModelWrapper, int]]:
    """HW partitions (with width converters) and the perf model's interval."""
    out = {}
    folding = json.loads((demo_model_path().parent / "tfc_w1a1_folding_config.json").read_text())
    cases: dict[str, dict[str, Any]] = {
        "tfc_w1a1": dict(model=demo_model_path(), folding=folding),
        "lfc_w1a1": dict(model=ROOT / "tests" / "data" / "lfc_w1a1" / "LFCW1A1.onnx", input_scale="1/255"),
        "cnn_12x12": dict(model=ModelWrapper(build_cnn(0)), input_scale="1/255"),
        "cnn_32x32": dict(model=ModelWrapper(build_cnn(0, size=32, c1=16, c2=32)), input_scale="1/255"),
    }
    for name, kwargs in cases.items():
        r = estimate(board="Pynq-Z1", **kwargs)
        out[name] = (hw_partition(r.model).transform(InsertDWC()), r.partition.interval_cycles)
    res = residual_cnn(h=16, c=8, simd=4)
    out["residual_16x16"] = (res, max(e.cycles for _, e in estimate_layers(res)))
    return out


def main() -> None:
    """Print one row per design."""
    cases = designs()
    simulate(build_network(cases["tfc_w1a1"][0]), frames=2)  # compile (or load) the engine once
    header = (
        f"{'design':<15} {'perf':>6} {'sim default':>11} {'sim sized':>9} {'FIFOs':>5} {'bits':>6} "
        f"{'sizing s':>8} {'Mcycles':>7} {'Mcyc/s':>6} {'engine Mcyc/s':>13}"
    )
    print(header)
    for name, (model, perf) in cases.items():
        t = SetFIFODepths()
        start = time.perf_counter()
        sized = model.transform(t, copy=True)
        seconds = time.perf_counter() - start
        result = t.result
        assert result is not None and result.baseline is not None
        base = result.baseline
        default = str(base.interval_cycles) if base.ok else base.status
        fifos = [n for n in sized.graph.node if n.op_type == "StreamingFIFO"]
        bits = sum(d * result.network.streams[i].width for i, d in result.depths.items() if d > 2)
        long_run = simulate(build_network(sized), frames=50).check()
        print(
            f"{name:<15} {perf:>6} {default:>11} {result.interval_cycles:>9} {len(fifos):>5} {bits:>6} "
            f"{seconds:>8.3f} {result.simulated_cycles / 1e6:>7.2f} {result.simulated_cycles / seconds / 1e6:>6.1f} "
            f"{long_run.cycles_per_second / 1e6:>13.1f}"
        )


if __name__ == "__main__":
    main()
