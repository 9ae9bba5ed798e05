"""Verification of a design of several dataflow partitions: every partition's C++ simulation vs ``execute``.

:func:`verify_partitions` follows the model's run order
(:func:`qnncc.codegen.schedule.run_schedule`), as the driver does on the board:
software segments run with ``execute``; each partition is compiled with g++
and simulated on the values that reach it, and its outputs are compared word
for word with ``execute`` of its child model on the same inputs. The
simulated outputs (not the executed ones) feed the next segments, so the
final outputs are what the accelerator and the host would compute together;
with labels and class-index outputs their accuracy is reported.
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


def verify_partitions(
    parent: ModelWrapper,
    data: str | Path,
    folder: str | Path,
    count: int | None = None,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """C++-simulate every partition of ``parent`` in run order on the images of ``data``; compare with ``execute``.

    Args:
        parent: the model with its ``StreamingDataflowPartition`` nodes (children as code generation sees them).
        data: ``.npz`` with ``images`` (model input values) and optionally ``labels``.
        folder: where ``cppsim_results.json`` and ``cppsim_output_<k>.npy`` (partition ``k``'s outputs) go.
        count: use only the first images.
        scheduler: Dask scheduler for the compiles and simulation shards (None: local or ``$QNNCC_SCHEDULER``).

    Returns:
        ``images``, ``bit_exact`` (every partition), ``mismatching_images`` (images
        with a differing word in any partition), ``compile_seconds``,
        ``simulation_seconds`` (sums), ``partitions`` (the same figures per
        partition, with its name) and, with labels and class-index outputs, ``accuracy``/``correct``.

    Raises:
        QnnccError: for bad data, a model without partitions, or a failing compile or simulation.
    """
    from qnncc.codegen import build_partition_sim, hw_partition
    from qnncc.codegen.hls.cppsim import run_sharded
    from qnncc.codegen.schedule import run_schedule, segment_model
    from qnncc.custom_op.partition import partition_child
    from qnncc.flow.verify import MIN_SHARD_FRAMES, label_accuracy, load_verification_data
    from qnncc.jobs import get_executor

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
            sim = build_partition_sim(child, executor=executor)
            start = time.perf_counter()
            shards = min(executor.workers, max(1, n // MIN_SHARD_FRAMES))
            got = run_sharded(sim, [feeds[t.name].reshape(n, -1) for t in child.graph.input], executor, shards)
            seconds = time.perf_counter() - start
            differs = np.zeros(n, dtype=bool)
            for tensor, value in zip(child.graph_output_names(), got, strict=True):
                want = expected[tensor]
                differs |= (value.reshape(n, -1) != want.reshape(n, -1)).any(axis=1)
                values[tensor] = value.reshape(want.shape)
                np.save(out / f"cppsim_output_{segment.index}.npy", value)
            bad |= differs
            per_partition.append(
                {
                    "partition": segment.index,
                    "name": node.name,
                    "bit_exact": not differs.any(),
                    "mismatching_images": int(differs.sum()),
                    "compile_seconds": round(sim.compile_seconds, 3),
                    "simulation_seconds": round(seconds, 3),
                }
            )
    figures: dict[str, Any] = {
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
    (out / "cppsim_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures
