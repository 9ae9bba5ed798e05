"""Performance model vs cycle-level simulator: cycles per frame of the hardware qnncc emits.

For TFC-W1A1 (its folding file), LFC-W1A1, the four Brevitas development
models and a FINN model of finn-plus's generic HW ops (``tests/finn_plus_graphs.py``:
elementwise with broadcasting, split/concat, upsampling, reshapes; auto folding on
Pynq-Z1) it builds the HW partition with width
converters, takes the perf model's bottleneck cycles (the largest per-layer
``cycles`` of :func:`qnncc.flow.estimate.estimate_layers`, the layer code
qnncc emits) and simulates the partition cycle by cycle
(:mod:`qnncc.hw.sim`) with unbounded streams, so the steady-state interval
is the slowest layer's, and prints both, their ratio and the slowest layer
of each, plus the network-level interval with the DMA shell (input/output
words through the DMA stream width).

Usage: python benchmarks/bench_perf_vs_sim.py [--markdown]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import onnx
from qnncc.transforms.hw import InsertDWC

from qnncc.codegen.hls import hw_partition
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate, estimate_layers
from qnncc.hw.sim import UNBOUNDED, build_network, simulate

ROOT = Path(__file__).resolve().parent.parent
BREVITAS = ("cnv3_w2a2", "mlp_w2a2", "res2_w3a3", "dws_w4a4")
sys.path.insert(0, str(ROOT / "tests"))
from finn_plus_graphs import finn_plus_model  # noqa: E402


def cases() -> dict[str, dict[str, Any]]:
    """estimate() arguments per design."""
    out: dict[str, dict[str, Any]] = {
        "tfc_w1a1": dict(model=demo_model_path(), folding=demo_model_path().parent / "tfc_w1a1_folding_config.json"),
        "lfc_w1a1": dict(model=ROOT / "tests" / "data" / "lfc_w1a1" / "LFCW1A1.onnx", input_scale="1/255"),
    }
    for name in BREVITAS:
        out[name] = dict(model=ROOT / "tests" / "data" / "brevitas_dev" / name / "model_qonnx.onnx")
    finn_plus = Path(tempfile.mkdtemp()) / "finn_plus_ops.onnx"
    onnx.save(finn_plus_model(), finn_plus)
    out["finn_plus_ops"] = dict(model=finn_plus, insert_topk=False)
    return out


def compare(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Model and simulated cycles per frame of one design."""
    r = estimate(board="Pynq-Z1", **kwargs)
    child = hw_partition(r.model).transform(InsertDWC())
    layers = estimate_layers(child)
    slowest, est = max(layers, key=lambda item: item[1].frame_cycles)
    net = build_network(child)
    sim = simulate(net, frames=4, capacities=[UNBOUNDED] * len(net.streams)).check()
    interval = sim.interval_cycles
    assert interval is not None
    return {
        "design": name,
        "model": est.frame_cycles,
        "sim": interval,
        "ratio": est.frame_cycles / interval,
        "slowest": slowest,
        "network": r.network.interval_cycles if hasattr(r.network, "interval_cycles") else None,
    }


def main() -> None:
    """Print the table (Markdown with ``--markdown``)."""
    rows = [compare(name, kwargs) for name, kwargs in cases().items()]
    md = "--markdown" in sys.argv
    header = ["design", "model cycles", "sim cycles", "model/sim", "slowest layer (model)"]
    if md:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    else:
        print(f"{header[0]:<12} {header[1]:>12} {header[2]:>10} {header[3]:>9}  {header[4]}")
    for row in rows:
        cells = [row["design"], str(row["model"]), str(row["sim"]), f"{row['ratio']:.4f}", row["slowest"]]
        if md:
            print("| " + " | ".join(cells) + " |")
        else:
            print(f"{cells[0]:<12} {cells[1]:>12} {cells[2]:>10} {cells[3]:>9}  {cells[4]}")


if __name__ == "__main__":
    main()
