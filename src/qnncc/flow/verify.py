"""Verification of a build: C++ simulation of the HW partition against qnncc's execution.

:func:`verify_partition` runs the software nodes before the partition with
``execute``, simulates the partition with g++ (:func:`qnncc.codegen.build_partition_sim`),
compares every output word with ``execute`` on the partition (bit-exact), runs
the software nodes after it, and computes the accuracy when labels are given.
``qnncc build --verify-data`` runs it as the ``verify`` step and
``qnncc verify BUILD_DIR --data FILE.npz`` on a finished build.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["load_verification_data", "verify_partition"]


def load_verification_data(path: str | Path, count: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(images, labels or None)`` from an ``.npz`` with ``images`` and optionally ``labels``.

    Raises:
        QnnccError: if the file is missing or has no ``images`` array.
    """
    path = Path(path)
    if not path.is_file():
        raise QnnccError(f"verification data {path} does not exist")
    try:
        data = np.load(path)
        images = np.asarray(data["images"], dtype=np.float32)
        labels = np.asarray(data["labels"]) if "labels" in data.files else None
    except (OSError, KeyError, ValueError, AttributeError) as exc:
        raise QnnccError(f"verification data {path}: needs an .npz with 'images' ({exc})") from None
    if count is not None:
        images = images[:count]
        labels = labels[:count] if labels is not None else None
    return images, labels


def _prefix_model(model: ModelWrapper, tensor: str) -> ModelWrapper:
    """The part of ``model`` that computes ``tensor`` from the graph input, as a model whose output is ``tensor``."""
    import onnx

    prefix = model.copy()
    graph = prefix.graph
    needed: set[str] = {tensor}
    keep = []
    for node in reversed(prefix.topological_sort()):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep_ids = {id(n) for n in keep}
    for node in list(graph.node):
        if id(node) not in keep_ids:
            graph.node.remove(node)
    shape = model.get_tensor_shape(tensor)
    del graph.output[:]
    graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, shape))
    return prefix


#: Images per ``execute`` call: bounds the memory of lowered CNNs (im2col of a whole batch).
CHUNK = 500


def _execute_chunks(model: ModelWrapper, value: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """The first output of ``model`` on ``value`` (batch on axis 0), executed ``chunk`` images at a time."""
    from qnncc.execution import execute

    name = model.graph.input[0].name
    parts = [
        next(iter(execute(model, {name: value[i : i + chunk]}).values())) for i in range(0, max(len(value), 1), chunk)
    ]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _run_suffix(model: ModelWrapper, tensor: str, value: np.ndarray) -> np.ndarray:
    """Run the nodes of ``model`` downstream of ``tensor`` on ``value``; the first graph output."""
    import onnx

    out_name = model.graph.output[0].name
    if tensor == out_name:
        return value
    suffix = model.copy()
    graph = suffix.graph
    reached: set[str] = {tensor}
    keep = []
    for node in suffix.topological_sort():
        if any(i in reached for i in node.input):
            keep.append(node)
            reached.update(node.output)
    keep_ids = {id(n) for n in keep}
    for node in list(graph.node):
        if id(node) not in keep_ids:
            graph.node.remove(node)
    del graph.input[:]
    graph.input.append(
        onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, model.get_tensor_shape(tensor))
    )
    return _execute_chunks(suffix, value.astype(np.float32))


#: Fewest frames per simulation job when the images are split over workers.
MIN_SHARD_FRAMES = 256


def verify_partition(
    parent: ModelWrapper,
    data: str | Path,
    folder: str | Path,
    count: int | None = None,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """C++-simulate the single partition of ``parent`` on the images of ``data``; compare with ``execute``.

    Args:
        parent: the model with one ``StreamingDataflowPartition`` (its child as code generation sees it).
        data: ``.npz`` with ``images`` (model input values, any shape that reshapes
            to the input) and optionally ``labels``.
        folder: where ``cppsim_results.json`` and ``cppsim_output.npy`` go.
        count: use only the first images.
        scheduler: Dask scheduler for the per-layer compiles and the simulation
            shards (None: ``$QNNCC_SCHEDULER``, else the local process pool).

    Returns:
        ``images``, ``bit_exact``, ``mismatching_images``, ``compile_seconds``,
        ``simulation_seconds`` and, with labels and class-index outputs, ``accuracy``.

    Raises:
        QnnccError: for bad data, a model without one partition, or a failing compile.
    """
    from qnncc.codegen import build_partition_sim
    from qnncc.codegen.hls.cppsim import run_sharded
    from qnncc.flow.steps import child_model
    from qnncc.jobs import get_executor

    images, labels = load_verification_data(data, count)
    child = child_model(parent)
    sdp = parent.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    in_shape = parent.get_tensor_shape(parent.graph.input[0].name) or []
    try:
        feed = images.reshape(len(images), *[int(d) for d in in_shape[1:]])
    except ValueError:
        raise QnnccError(
            f"verification images of shape {list(images.shape)} do not fit the model input {in_shape}"
        ) from None
    prefix = _prefix_model(parent, sdp.input[0])
    part_in = _execute_chunks(prefix, feed)
    part_out = _execute_chunks(child, part_in)
    with get_executor(scheduler) as executor:
        sim = build_partition_sim(child, executor=executor)
        start = time.perf_counter()
        shards = min(executor.workers, max(1, len(images) // MIN_SHARD_FRAMES))
        got = run_sharded(sim, [part_in.reshape(len(images), -1)], executor, shards)[0]
        sim_seconds = time.perf_counter() - start
    expected = part_out.reshape(got.shape)
    mismatches = int(np.count_nonzero((got != expected).reshape(len(images), -1).any(axis=1)))
    figures: dict[str, Any] = {
        "images": len(images),
        "bit_exact": mismatches == 0,
        "mismatching_images": mismatches,
        "compile_seconds": round(sim.compile_seconds, 3),
        "simulation_seconds": round(sim_seconds, 3),
    }
    if labels is not None:
        final = _run_suffix(parent, sdp.output[0], got)  # software nodes after the partition, if any
        if final.ndim >= 1 and np.issubdtype(final.dtype, np.integer):  # class indices (LabelSelect/TopK)
            predictions = final.reshape(len(images), -1)[:, 0]
            figures["accuracy"] = float(np.mean(predictions == labels.reshape(-1)))
            figures["correct"] = int(np.sum(predictions == labels.reshape(-1)))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cppsim_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    np.save(out / "cppsim_output.npy", got)
    return figures
