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
import onnx

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.flow.report import read_json
from qnncc.flow.resume import checkpoints

__all__ = [
    "check_compiler",
    "check_verification_data",
    "label_accuracy",
    "load_verification_data",
    "partition_io",
    "verify_partition",
]


def check_compiler() -> str:
    """The C++ compiler the ``verify`` step uses (``g++`` on ``PATH``).

    Raises:
        QnnccError: if there is none, saying how to get one.
    """
    import shutil

    found = shutil.which("g++")
    if found is None:
        raise QnnccError(
            "--verify-data needs a C++ compiler: g++ is not on PATH (Debian/Ubuntu: apt-get install g++); "
            "build without --verify-data to skip the C++ simulation"
        )
    return found


def check_verification_data(
    path: str | Path,
    input_shape: list[int],
    input_datatype: str | None = None,
    input_scale: float | None = None,
    count: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load verification data and check it against the model's input; ``(images, labels)``.

    Run before the build does any work (step ``load``), so a bad file costs
    seconds, not a whole build.

    Args:
        path: ``.npz`` with ``images`` ``[N, ...]`` and optionally ``labels`` ``[N]``.
        input_shape: the model's input shape, batch first (e.g. NCHW ``[1, 3, 32, 32]``).
        input_datatype: the accelerator's integer input datatype when the model
            takes integers (``--input-scale``), else None.
        input_scale: the input scale (the model's input was ``x * input_scale``).
        count: only the first images are used.

    Raises:
        QnnccError: for a missing key, labels of another length, images whose
            frame does not fit the input (NHWC data for an NCHW input is named
            as such), or float images where the accelerator takes integers.
    """
    from qnncc.core.datatype import DataType

    images, labels = load_verification_data(path)
    name = Path(path).name
    if labels is not None and (labels.ndim != 1 or len(labels) != len(images)):
        raise QnnccError(
            f"verification data {name}: 'labels' has shape {list(labels.shape)}; it needs one class index per "
            f"image, shape [{len(images)}]"
        )
    if count is not None:
        images = images[:count]
        labels = labels[:count] if labels is not None else None
    frame = [int(d) for d in input_shape[1:]]
    if images.ndim < 1 or len(images) == 0:
        raise QnnccError(f"verification data {name}: 'images' is empty (shape {list(images.shape)})")
    got = list(images.shape[1:])
    if got != frame:
        nhwc = len(frame) == 3 and frame[0] > 1 and got == [frame[1], frame[2], frame[0]]
        if nhwc:
            raise QnnccError(
                f"verification data {name}: images {list(images.shape)} look channels-last [N, H, W, C]; the model "
                f"takes [N, C, H, W] = [N, {', '.join(map(str, frame))}]: save images.transpose(0, 3, 1, 2)"
            )
        if int(np.prod(got)) != int(np.prod(frame)):
            raise QnnccError(
                f"verification data {name}: images {list(images.shape)} do not fit the model input "
                f"{[1, *frame]} (each image needs {int(np.prod(frame))} values, has {int(np.prod(got))})"
            )
    if input_datatype is not None and input_scale is not None:
        dt = DataType.from_name(input_datatype)
        if dt.is_integer():
            lo, hi = float(images.min()), float(images.max())
            whole = bool(np.all(images == np.round(images)))
            if not whole or lo < dt.min() or hi > dt.max():
                hint = f" (multiply by {1 / input_scale:g})" if hi <= 1.0 and not whole else ""
                raise QnnccError(
                    f"verification data {name}: images hold values in [{lo:g}, {hi:g}]"
                    f"{'' if whole else ', not integers'}; with the input scale {input_scale:g} the accelerator "
                    f"takes the integers x ({dt.name}, {dt.min():g}..{dt.max():g}) of x * {input_scale:g}: "
                    f"save those{hint}"
                )
    return images, labels


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
    except KeyError:
        keys = ", ".join(repr(k) for k in data.files) or "none"
        raise QnnccError(
            f"verification data {path}: needs an array 'images' (and optionally 'labels'); it has {keys}"
        ) from None
    except (OSError, ValueError, AttributeError) as exc:
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


def label_accuracy(final: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """``accuracy`` and ``correct`` of a model's final output ``[N, ...]`` against ``labels`` ``[N]``.

    Only an integer output holds class indices (LabelSelect/TopK; the first index is the prediction);
    for any other output the result is empty.
    """
    if final.ndim < 1 or not np.issubdtype(final.dtype, np.integer):
        return {}
    predictions = final.reshape(len(labels), -1)[:, 0]
    return {
        "accuracy": float(np.mean(predictions == labels.reshape(-1))),
        "correct": int(np.sum(predictions == labels.reshape(-1))),
    }


def partition_io(
    parent: ModelWrapper, data: str | Path, count: int | None = None
) -> tuple[np.ndarray, np.ndarray | None, ModelWrapper, onnx.NodeProto, np.ndarray, np.ndarray]:
    """What a simulation of the single partition of ``parent`` is checked against.

    The images of ``data`` run through the software before the partition (``execute``), giving the
    partition's input ``[N, ...]``, and through the partition's HW model, giving its expected output.

    Returns:
        ``(images, labels, child, partition node, partition input, expected partition output)``.

    Raises:
        QnnccError: for bad data, images that do not fit the model input, or a model without one partition.
    """
    from qnncc.flow.steps import child_model

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
    part_in = _execute_chunks(_prefix_model(parent, sdp.input[0]), feed)
    return images, labels, child, sdp, part_in, _execute_chunks(child, part_in)


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

    A model of several partitions is verified partition by partition in run order
    (:func:`qnncc.flow.verify_partitions.verify_partitions`, whose figures this returns).

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
    from qnncc.custom_op.partition import partition_nodes
    from qnncc.jobs import get_executor

    if len(partition_nodes(parent)) > 1:  # every partition in run order (qnncc.flow.verify_partitions)
        from qnncc.flow.verify_partitions import verify_partitions

        return verify_partitions(parent, data, folder, count=count, scheduler=scheduler)
    images, labels, child, sdp, part_in, part_out = partition_io(parent, data, count)
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
    if labels is not None:  # software nodes after the partition, if any
        figures.update(label_accuracy(_run_suffix(parent, sdp.output[0], got), labels))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cppsim_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    np.save(out / "cppsim_output.npy", got)
    return figures


def verify_build(
    build_dir: str | Path, data: str | Path, count: int | None = None, scheduler: str | None = None
) -> dict[str, Any]:
    """C++-simulate a finished build's partition on ``data`` (``qnncc verify``).

    Uses the last intermediate model of ``build_dir``, writes
    ``verification/cppsim_results.json`` (``rtlsim_results.json``, Verilator, for a
    ``--backend rtl`` build) and refreshes the summary. The compiles and simulation
    shards run on ``scheduler``'s Dask cluster (None: ``$QNNCC_SCHEDULER``, else a
    local process pool).

    Returns:
        The figures (see :func:`qnncc.flow.verify.verify_partition`).

    Raises:
        QnnccError: for a folder that is not a build, bad data or a failing compile.
    """
    from qnncc.flow.rtl_steps import refresh_summary
    from qnncc.flow.verify import verify_partition

    folder = Path(build_dir)
    if not folder.is_dir():
        raise QnnccError(f"build folder {folder} does not exist")
    saved = checkpoints(folder)
    if not saved:
        raise QnnccError(f"{folder} has no intermediate models; is it a qnncc build folder?")
    path = list(saved.values())[-1]
    model = ModelWrapper(str(path))
    if not model.get_nodes_by_op_type("StreamingDataflowPartition"):
        raise QnnccError(f"the last saved model of {folder} ({path.name}) has no dataflow partition")
    from qnncc.flow.steps import get_state
    from qnncc.flow.verify import check_compiler, check_verification_data

    state = get_state(model)
    scale = state.get("input_scale")
    shape = model.get_tensor_shape(model.graph_input_names()[0]) or []
    check_verification_data(data, shape, state.get("input_datatype") if scale is not None else None, scale, count)
    check_compiler()
    record = read_json(folder / "build_log.json") or {}
    if record.get("config", {}).get("backend") == "rtl":  # a build of the RTL backend: Verilator
        from qnncc.custom_op.partition import partition_nodes
        from qnncc.flow.rtl_steps import verify_partition_rtl
        from qnncc.flow.verify_partitions import verify_partitions

        if len(partition_nodes(model)) > 1:
            figures = verify_partitions(model, data, folder / "verification", count=count, backend="rtl")
        else:
            figures = verify_partition_rtl(model, data, folder / "verification", count=count)
    else:
        figures = verify_partition(model, data, folder / "verification", count=count, scheduler=scheduler)
    refresh_summary(folder)
    return figures
