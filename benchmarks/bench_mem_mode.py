"""Weights that do not fit on chip (issue 16): what the optimiser streams, and what it costs.

Prints, measured in the same run:

* ``resnet50``: seeded ResNet-50 W1A2 (``tests/scale_graphs.py``; 8-bit stem and
  classifier) estimated on the ZCU104, fastest folding that fits 85% of each resource:
  with weight streaming (the default) and with ``stream_weights`` off (what qnncc did
  before: on-chip only, then split), each with FPS, resources, the streamed layers,
  the DMA shell's bound and the estimate's wall time;
* ``mlp``: two 4-Mbit FC layers on the Pynq-Z1 (``tests/mem_mode_graphs.py``): the same,
  plus the C++ simulation of the streamed design (weights fed per frame) against
  ``execute`` on 8 random frames.

Usage: ``python benchmarks/bench_mem_mode.py [resnet50] [mlp]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import scale_graphs  # noqa: E402
from mem_mode_graphs import Layer, mvau_chain, random_input  # noqa: E402

import qnncc  # noqa: E402
from qnncc.boards import get_board  # noqa: E402
from qnncc.flow import folding as flow_folding  # noqa: E402
from qnncc.flow.estimate import estimate  # noqa: E402


def _streamed(model: qnncc.ModelWrapper) -> list[str]:
    from qnncc.transforms.hw import iter_hw_nodes

    from qnncc.custom_op import get_custom_op

    return [n.name for n in iter_hw_nodes(model) if get_custom_op(n).attrs.get("mem_mode") == "external"]


def _report(label: str, make: object, board: str, stream: bool) -> None:
    original = flow_folding.fold_model

    def fold(*args: object, **kwargs: object) -> object:
        return original(*args, **{**kwargs, "stream_weights": stream})  # type: ignore[arg-type]

    start = time.perf_counter()
    try:
        with mock.patch.object(flow_folding, "fold_model", fold):  # the fold step imports it at run time
            result = estimate(make(), board=board, input_scale="1/255")  # type: ignore[operator]
    except qnncc.QnnccError as err:
        print(f"{label:<40} failed after {time.perf_counter() - start:.1f} s: {err}")
        return
    seconds = time.perf_counter() - start
    perf = result.reports["estimate_network_performance.json"]
    totals = result.fit.used
    print(
        f"{label:<40} {perf['estimated_throughput_fps']:>9,.0f} FPS  partitions {len(result.partitions)}  "
        f"streamed {_streamed(result.model) or '-'}  ({seconds:.1f} s)"
    )
    print(f"{'':<40} resources {dict((k, round(v)) for k, v in totals.items())}")
    if "dma_shell_cycles" in perf:
        print(f"{'':<40} DMA shell {perf['dma_shell_cycles']} cycles: {perf['dma_shell_bottleneck']}")
    for note in result.folding_notes:
        print(f"{'':<40} note: {note}")


def bench_resnet50() -> None:
    """ResNet-50 W1A2 on the ZCU104 with and without weight streaming."""
    for stream in (True, False):
        _report(f"ResNet-50 W1A2 ZCU104 stream={stream}", scale_graphs.resnet50, "ZCU104", stream)


def bench_mlp() -> None:
    """Two 4-Mbit FC layers on the Pynq-Z1: fold, then C++ simulation of the streamed design."""
    from qnncc.codegen.hls import build_partition_sim
    from qnncc.flow.folding import fold_model

    layers = [Layer(1024, 1024, wbits=4), Layer(1024, 1024, wbits=4), Layer(1024, 64, wbits=4)]
    layers.append(Layer(64, 10, act=False))
    notes: list[str] = []
    model, _, splits = fold_model(mvau_chain(layers), get_board("Pynq-Z1"), 10.0, notes=notes)
    print(f"MLP 8.6 Mbit Pynq-Z1: streamed {_streamed(model)}, partitions {len(set(splits.values())) or 1}")
    for note in notes:
        print(f"    note: {note}")
    from qnncc.transforms.hw import InsertDWC

    model = model.transform(InsertDWC())
    start = time.perf_counter()
    sim = build_partition_sim(model)
    x = random_input(model, 8)
    same = np.array_equal(sim.run([x])[0].reshape(8, -1), qnncc.execute(model, {"x": x})["y"].reshape(8, -1))
    print(f"    cppsim of 8 frames bit-exact with execute: {same} (compile {sim.compile_seconds:.1f} s, "
          f"total {time.perf_counter() - start:.1f} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=["mlp", "resnet50"], choices=["mlp", "resnet50"])
    args = parser.parse_args()
    for which in args.which:
        {"mlp": bench_mlp, "resnet50": bench_resnet50}[which]()


if __name__ == "__main__":
    main()
