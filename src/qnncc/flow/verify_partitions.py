"""Verification of a design of several dataflow partitions: every partition's C++ simulation vs ``execute``.

:func:`verify_partitions` follows the model's run order
(:func:`qnncc.codegen.schedule.run_schedule`), as the driver does on the board:
software segments run with ``execute``; each partition is compiled with g++
and simulated on the values that reach it, and its outputs are compared word
for word with ``execute`` of its child model on the same inputs. The
simulated outputs (not the executed ones) feed the next segments, so the
final outputs are what the accelerator and the host would compute together;
with labels and class-index outputs their accuracy is reported.

With ``backend="rtl"`` (a ``--backend rtl`` build) each partition's stitched
Verilog is simulated in Verilator instead (:func:`_simulate_rtl`): all images
at full rate, the first :data:`~qnncc.flow.rtl_steps.PRESSURED_FRAMES` again
under random back-pressure, both compared with ``execute``; the figures go to
``rtlsim_results.json`` with each partition's cycles per frame and latency.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["verify_partitions"]

#: Images per ``execute`` call (as :data:`qnncc.flow.verify.CHUNK`).
CHUNK = 500


def _run(model: ModelWrapper, feeds: dict[str, np.ndarray], chunk: int = CHUNK) -> dict[str, np.ndarray]:
    """Every graph output of ``model`` on ``feeds`` (batch on axis 0), ``chunk`` images per ``execute`` call."""
    from qnncc.execution import execute

    n = len(next(iter(feeds.values())))
    names = model.graph_output_names()
    parts = [
        execute(model, {k: v[i : i + chunk].astype(np.float32) for k, v in feeds.items()})
        for i in range(0, max(n, 1), chunk)
    ]
    return {o: np.concatenate([p[o] for p in parts]) for o in names}


def _simulate_hls(
    child: ModelWrapper, inputs: list[np.ndarray], executor: Any
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """C++ simulation of a partition (sharded over the executor's workers): outputs and timing figures."""
    from qnncc.codegen import build_partition_sim
    from qnncc.codegen.hls.cppsim import run_sharded
    from qnncc.flow.verify import MIN_SHARD_FRAMES

    n = len(inputs[0])
    sim = build_partition_sim(child, executor=executor)
    start = time.perf_counter()
    got = run_sharded(sim, inputs, executor, min(executor.workers, max(1, n // MIN_SHARD_FRAMES)))
    seconds = time.perf_counter() - start
    return got, {"compile_seconds": round(sim.compile_seconds, 3), "simulation_seconds": round(seconds, 3)}


def _simulate_rtl(
    child: ModelWrapper, inputs: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, Any]]:
    """Verilator simulation of a partition's stitched RTL at full rate, then the first frames under back-pressure.

    Returns:
        The full-rate outputs, the pressured outputs (first :data:`~qnncc.flow.rtl_steps.PRESSURED_FRAMES`
        frames) and ``compile_seconds``, ``simulation_seconds``, ``cycles_per_frame``, ``latency_cycles``,
        ``backpressure_images``.
    """
    from qnncc.codegen.rtl import build_partition_rtlsim
    from qnncc.flow.rtl_steps import PRESSURED_FRAMES

    sim = build_partition_rtlsim(child)
    start = time.perf_counter()
    run = sim.run(inputs)
    pressured = min(PRESSURED_FRAMES, len(inputs[0]))
    slow = sim.run([x[:pressured] for x in inputs], seed=7, p_valid=50, p_ready=40)
    seconds = time.perf_counter() - start
    figures = {
        "compile_seconds": round(sim.build_seconds, 3),
        "simulation_seconds": round(seconds, 3),
        "cycles_per_frame": run.cycles_per_frame,
        "latency_cycles": run.latency,
        "backpressure_images": pressured,
    }
    return run.outputs, slow.outputs, figures


def verify_partitions(
    parent: ModelWrapper,
    data: str | Path,
    folder: str | Path,
    count: int | None = None,
    scheduler: str | None = None,
    backend: str = "hls",
) -> dict[str, Any]:
    """Simulate every partition of ``parent`` in run order on the images of ``data``; compare with ``execute``.

    Args:
        parent: the model with its ``StreamingDataflowPartition`` nodes (children as code generation sees them).
        data: ``.npz`` with ``images`` (model input values) and optionally ``labels``.
        folder: where ``cppsim_results.json`` and ``cppsim_output_<k>.npy`` (partition ``k``'s outputs) go
            (``rtlsim_*`` with the RTL backend).
        count: use only the first images.
        scheduler: Dask scheduler for the compiles and simulation shards (None: local or ``$QNNCC_SCHEDULER``).
        backend: ``hls`` (g++ C++ simulation, ``cppsim_*`` files) or ``rtl`` (Verilator, ``rtlsim_*``
            files; a partition is bit-exact only if it is so under back-pressure too).

    Returns:
        ``images``, ``bit_exact`` (every partition), ``mismatching_images`` (images
        with a differing word in any partition), ``compile_seconds``,
        ``simulation_seconds`` (sums), ``partitions`` (the same figures per
        partition, with its name) and, with labels and class-index outputs, ``accuracy``/``correct``.

    Raises:
        QnnccError: for bad data, a model without partitions, or a failing compile or simulation.
    """
    from qnncc.codegen import hw_partition
    from qnncc.codegen.schedule import run_schedule, segment_model
    from qnncc.custom_op.partition import partition_child
    from qnncc.flow.verify import label_accuracy, load_verification_data
    from qnncc.jobs import get_executor

    prefix = "rtlsim" if backend == "rtl" else "cppsim"
    images, labels = load_verification_data(data, count)
    n = len(images)
    in_name = parent.graph.input[0].name
    in_shape = parent.get_tensor_shape(in_name) or []
    try:
        values: dict[str, np.ndarray] = {in_name: images.reshape(n, *[int(d) for d in in_shape[1:]])}
    except ValueError:
        raise QnnccError(
            f"verification images of shape {list(images.shape)} do not fit the model input {in_shape}"
        ) from None
    schedule = run_schedule(parent)
    if not any(s.kind == "partition" for s in schedule):
        raise QnnccError("the model has no dataflow partition (run the 'partition' step first)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    bad = np.zeros(n, dtype=bool)
    per_partition: list[dict[str, Any]] = []
    with get_executor(scheduler) as executor:
        for segment in schedule:
            if segment.kind == "software":
                values.update(_run(segment_model(parent, segment), {t: values[t] for t in segment.inputs}))
                continue
            node = segment.nodes[0]
            child = hw_partition(partition_child(parent, node))
            feeds = {t.name: values[t.name] for t in child.graph.input}
            expected = _run(child, feeds)
            inputs = [feeds[t.name].reshape(n, -1) for t in child.graph.input]
            slow: list[np.ndarray] = []
            if backend == "rtl":
                got, slow, timing = _simulate_rtl(child, inputs)
            else:
                got, timing = _simulate_hls(child, inputs, executor)
            differs = np.zeros(n, dtype=bool)
            pressured = np.zeros(n, dtype=bool)  # images that differ under back-pressure (RTL)
            for k, (tensor, value) in enumerate(zip(child.graph_output_names(), got, strict=True)):
                want = expected[tensor]
                differs |= (value.reshape(n, -1) != want.reshape(n, -1)).any(axis=1)
                if slow:
                    m = len(slow[k])
                    pressured[:m] |= (slow[k].reshape(m, -1) != want[:m].reshape(m, -1)).any(axis=1)
                values[tensor] = value.reshape(want.shape)
                np.save(out / f"{prefix}_output_{segment.index}.npy", value)
            if slow:
                timing["backpressure_bit_exact"] = not pressured.any()
            differs |= pressured
            bad |= differs
            per_partition.append(
                {
                    "partition": segment.index,
                    "name": node.name,
                    "bit_exact": not differs.any(),
                    "mismatching_images": int(differs.sum()),
                    **timing,
                }
            )
    figures: dict[str, Any] = {
        **({"simulator": "verilator"} if backend == "rtl" else {}),
        "images": n,
        "bit_exact": not bad.any(),
        "mismatching_images": int(bad.sum()),
        "compile_seconds": round(sum(p["compile_seconds"] for p in per_partition), 3),
        "simulation_seconds": round(sum(p["simulation_seconds"] for p in per_partition), 3),
        "partitions": per_partition,
    }
    final = values.get(parent.graph_output_names()[0])
    if labels is not None and final is not None:
        figures.update(label_accuracy(final, labels))
    (out / f"{prefix}_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures
