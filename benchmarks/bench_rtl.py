"""RTL backend: Verilator cycles per frame vs the performance model and the cycle-level simulator; Yosys resources.

For TFC-W1A1 (seed folding), LFC-W1A1 (``--input-scale 1/255``) and the
Brevitas CNNs of ``tests/data/brevitas_dev`` (``--target-fps 10000``; with
``--models cnv3_w2a2_mmv,res2_w3a3_mmv`` at their fastest folding, with MMV > 1):

* the stitched partition (width converters inserted, FIFO depths chosen by
  the cycle-level simulator's ``SetFIFODepths``) simulated in Verilator on
  MNIST test images, bit-exact with ``qnncc.execute`` (also 20 images under
  random back-pressure; accuracy against the labels, for the Brevitas models
  agreement with Brevitas' own predictions on images 5000..);
* its cycles per frame (steady state, full throughput) next to the
  performance model's interval and the cycle-level simulator of the same
  partition, and the first-output latency from RTL and the simulator;
* cycles per frame without FIFOs (RTL and simulator; a residual network may
  deadlock) and with a large FIFO on every stream (the layers' own throughput);
* with ``--synth``: Yosys ``synth_xilinx -family xc7`` per layer (LUT, FF,
  CARRY, BRAM_18K, DSP) next to FINN's formula (qnncc.hw.perf), for TFC at the
  seed folding and at 100k FPS and for the other models.

Usage: python benchmarks/bench_rtl.py [--images N] [--models tfc,lfc,...] [--synth [--synth-models tfc,...]]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from onnx import TensorProto, helper
from qnncc.transforms.hw import InsertDWC, InsertFIFO, SetFIFODepths

import qnncc
from qnncc.codegen.hls import hw_partition
from qnncc.codegen.render import CodegenError
from qnncc.codegen.rtl import build_partition_rtlsim, synth_model
from qnncc.data import demo_model_path
from qnncc.estimate import estimate
from qnncc.hw.sim import build_network, simulate

ROOT = Path(__file__).resolve().parent.parent
BREVITAS = ROOT / "tests" / "data" / "brevitas_dev"
CNNS = ("mlp_w2a2", "cnv3_w2a2", "dws_w4a4", "res2_w3a3")
#: CNNs also measured at their fastest folding (``<name>_mmv``: MMV > 1 layers; not in the default --models).
MMV_CNNS = ("cnv3_w2a2", "res2_w3a3")
#: Depth of the FIFO put on every stream for the "large FIFOs" run (no stream ever blocks a layer).
LARGE_FIFO = 8192


def models() -> dict[str, Any]:
    """Name -> a function returning the estimate (HW model, folding, perf model)."""
    seed = json.loads((Path(qnncc.data.__file__).parent / "tfc_w1a1_folding_config.json").read_text())
    table: dict[str, Any] = {
        "tfc": lambda: estimate(demo_model_path(), board="Pynq-Z1", folding=seed),
        "tfc100k": lambda: estimate(demo_model_path(), board="Pynq-Z1", target_fps=100_000),
        "lfc": lambda: estimate(ROOT / "tests/data/lfc_w1a1/LFCW1A1.onnx", board="Pynq-Z1", input_scale="1/255"),
    }
    for name in CNNS:
        path = BREVITAS / name / "model_qonnx.onnx"
        table[name] = lambda p=path: estimate(p, board="Pynq-Z1", input_scale="1/255", target_fps=10_000)
    for name in MMV_CNNS:  # the fastest folding: the optimiser takes MMV > 1 where the folding is maxed
        path = BREVITAS / name / "model_qonnx.onnx"
        table[f"{name}_mmv"] = lambda p=path: estimate(p, board="Pynq-Z1", input_scale="1/255")
    return table


def partition_io(parent: qnncc.ModelWrapper, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partition input, partition output and model output of ``execute`` on the images.

    The partition's input and output tensors are made graph outputs of a copy
    of the model, so the fast backend computes them (graphs with a fixed batch
    of 1 run image by image).
    """
    sdp = parent.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    model = parent.copy()
    wanted = [sdp.input[0], sdp.output[0], parent.graph.output[0].name]
    for tensor in wanted[:2]:
        if tensor not in [o.name for o in model.graph.output]:
            model.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    name = parent.graph.input[0].name
    shape = parent.get_tensor_shape(name)
    batch = images.reshape(len(images), *shape[1:]).astype(np.float32)
    chunks = [batch] if shape[0] != 1 else [batch[i : i + 1] for i in range(len(batch))]
    out: list[list[np.ndarray]] = [[], [], []]
    for chunk in chunks:
        values = qnncc.execute(model, {name: chunk})
        for i, tensor in enumerate(wanted):
            out[i].append(values[tensor])
    return np.concatenate(out[0]), np.concatenate(out[1]), np.concatenate(out[2])


def bare_cycles(child: qnncc.ModelWrapper, x: np.ndarray) -> tuple[str, str]:
    """Cycles per frame without FIFOs (streams of the cores' own registers) in RTL and in the cycle simulator."""
    try:
        rtl = f"{build_partition_rtlsim(child).run([x[:8]]).cycles_per_frame:,}"
    except CodegenError:
        rtl = "deadlock"
    try:
        sim = f"{simulate(build_network(child), frames=4).check().interval_cycles:,}"
    except Exception:
        sim = "deadlock"
    return rtl, sim


def cycles_row(name: str, result: Any, images: np.ndarray, labels: np.ndarray) -> str:
    """One table row: the partition with simulator-sized FIFOs in RTL (bit-exactness, accuracy, cycles, latency)."""
    child = hw_partition(result.model)
    child.transform(InsertDWC())
    x, y_ref, out = partition_io(result.model, images)
    fifo = child.copy().transform(SetFIFODepths())
    start = time.perf_counter()
    sim = build_partition_rtlsim(fifo)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    run = sim.run([x])
    sim_s = time.perf_counter() - start
    exact = np.array_equal(run.outputs[0].reshape(y_ref.shape), y_ref)
    pressured = sim.run([x[:20]], seed=3, p_valid=60, p_ready=45).outputs[0]
    exact = exact and np.array_equal(pressured.reshape(-1), y_ref[:20].reshape(-1))
    pred = out.reshape(len(images), -1)
    pred = pred[:, 0] if pred.shape[1] == 1 else pred.argmax(1)
    acc = float(np.mean(pred == labels))
    cyc = simulate(build_network(fifo), frames=4).check()
    perf = result.partition.interval_cycles
    bare_rtl, bare_sim = bare_cycles(child, x)
    large = build_partition_rtlsim(child.copy().transform(InsertFIFO(depth=LARGE_FIFO))).run([x[:8]])
    rtl = run.cycles_per_frame
    return (
        f"| {name} | {len(images)} | {'yes' if exact else 'NO'} | {acc:.2%} | {perf:,} | {rtl:,} | {rtl / perf:.3f} "
        f"| {cyc.interval_cycles:,} | {rtl / cyc.interval_cycles:.3f} | {run.latency:,} | {cyc.first_output_latency:,} "
        f"| {bare_rtl} | {bare_sim} | {large.cycles_per_frame:,} | {large.cycles_per_frame / perf:.3f} "
        f"| {build_s:.0f} / {sim_s:.1f} |"
    )


def synth_rows(name: str, result: Any) -> list[str]:
    child = hw_partition(result.model)
    child.transform(InsertDWC())
    finn = dict(result.layers)
    rows = []
    totals = np.zeros(7)
    for r in synth_model(child):
        e = finn.get(r.layer)
        ref = f"{e.lut:.0f} | {e.ff:.0f} | {e.bram_18k:.0f} | {e.dsp:.0f}" if e else "- | - | - | -"
        ratio = f"{r.lut / e.lut:.2f}" if e and e.lut else "-"
        rows.append(f"| {name} | {r.layer} | {r.lut} | {r.ff} | {r.carry} | {r.bram_18k} | {r.dsp} | {ref} | {ratio} |")
        totals += [r.lut, r.ff, r.carry, r.bram_18k, r.dsp, e.lut if e else 0, e.bram_18k if e else 0]
    p = result.partition
    ours = " | ".join(f"{v:.0f}" for v in totals[:5])
    rows.append(
        f"| {name} | **total** | {ours} | {p.lut:.0f} | {p.ff:.0f} | {p.bram_18k:.0f} | {p.dsp:.0f} "
        f"| {totals[0] / p.lut:.2f} |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--synth", action="store_true")
    parser.add_argument("--synth-models", default="tfc,tfc100k," + ",".join(CNNS))
    parser.add_argument("--models", default="tfc,lfc," + ",".join(CNNS))
    args = parser.parse_args()
    data = np.load(ROOT / "tests" / "data" / "mnist_test.npz")
    table = models()
    print("| model | images | bit-exact | accuracy | perf model | RTL cycles/frame | RTL/perf | cycle sim | RTL/sim "
          "| RTL latency | sim latency | RTL, no FIFOs | sim, no FIFOs | RTL, large FIFOs | large/perf "
          "| build s / sim s |")  # fmt: skip
    print("| --- | ---: | --- " + "| ---: " * 13 + "|")
    results = {}
    for name in args.models.split(","):
        results[name] = table[name]()
        base = name.removesuffix("_mmv")
        if base in CNNS:  # Brevitas models: evaluation images 5000.. against Brevitas' own predictions
            sl = slice(5000, 5000 + args.images)
            labels = np.load(BREVITAS / base / "ref_preds.npy")[: args.images]
        else:
            sl, labels = slice(0, args.images), data["labels"][: args.images]
        images = data["images"][sl].astype(np.float32)
        try:
            print(cycles_row(name, results[name], images, labels), flush=True)
        except Exception as err:  # a model the RTL backend cannot build: report and go on
            print(f"| {name} | failed: {type(err).__name__}: {str(err)[:150]} |", flush=True)
    if args.synth:
        print()
        print(
            "| model | layer | Yosys LUT | FF | CARRY4 | BRAM_18K | DSP | FINN LUT | FF | BRAM_18K | DSP | LUT ratio |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in args.synth_models.split(","):
            result = results.get(name) or table[name]()
            try:
                for row in synth_rows(name, result):
                    print(row, flush=True)
            except Exception as err:
                print(f"| {name} | failed: {type(err).__name__}: {str(err)[:150]} |", flush=True)


if __name__ == "__main__":
    main()
