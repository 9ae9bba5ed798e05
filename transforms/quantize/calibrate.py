"""Calibration data and tensor statistics gathered by running a model on it.

Calibration data is a numpy array ``[N, ...]`` (reshaped to the model's input
shape), a mapping of input name to array, or an iterable of such batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeAlias

import numpy as np
import onnx
from onnx import helper

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.shapes import infer_shapes
from qnncc.execution import Executor

__all__ = [
    "CalibrationData",
    "RangeStats",
    "as_batches",
    "collect_ranges",
    "expose_tensors",
    "feeds_for",
    "run_exposed",
]

Batch: TypeAlias = np.ndarray | Mapping[str, np.ndarray]
CalibrationData: TypeAlias = np.ndarray | Mapping[str, np.ndarray] | Iterable[np.ndarray | Mapping[str, np.ndarray]]

#: Images per batch when an array is split into batches.
DEFAULT_BATCH = 250


def feeds_for(model: ModelWrapper, batch: Batch) -> dict[str, np.ndarray]:
    """Model feeds for one batch: an array goes to the single graph input, reshaped to its shape.

    The array's leading axis is the batch; the rest is reshaped to the input's
    declared shape (e.g. MNIST ``[N, 28, 28]`` to ``[N, 1, 28, 28]``) and cast to float32.

    Raises:
        QnnccError: if the model has several inputs and ``batch`` is an array, or
            the element count does not match.
    """
    names = model.graph_input_names()
    if isinstance(batch, Mapping):
        unknown = sorted(set(batch) - set(names))
        if unknown:
            raise QnnccError(f"calibration data names {unknown} are not graph inputs {names}")
        return {k: _fit(model, k, v) for k, v in batch.items()}
    if len(names) != 1:
        raise QnnccError(f"the model has inputs {names}; give calibration batches as a mapping of name to array")
    return {names[0]: _fit(model, names[0], batch)}


def _fit(model: ModelWrapper, name: str, batch: np.ndarray) -> np.ndarray:
    """``batch`` reshaped to ``[N, *input_shape[1:]]`` (same element count per item) as float32."""
    arr = np.asarray(batch)
    shape = model.get_tensor_shape(name)
    if shape is not None and len(shape) > 1:
        per_item = int(np.prod(shape[1:]))
        if arr.ndim == 0 or arr.size % per_item or (arr.ndim > 1 and int(np.prod(arr.shape[1:])) != per_item):
            raise QnnccError(f"data of shape {list(arr.shape)} does not fit the model input {name!r} {shape}")
        arr = arr.reshape([-1, *shape[1:]])
    return np.ascontiguousarray(arr, dtype=np.float32)


def as_batches(
    model: ModelWrapper, data: CalibrationData, batch_size: int = DEFAULT_BATCH
) -> list[dict[str, np.ndarray]]:
    """Calibration data as a re-iterable list of feed dicts (an iterator is consumed once).

    Args:
        model: the model whose inputs the batches feed.
        data: an array ``[N, ...]``, a mapping of input name to ``[N, ...]`` array,
            or an iterable of arrays/mappings, each one batch.
        batch_size: items per batch when an array or mapping is split.

    Returns:
        The feed dicts in order.

    Raises:
        QnnccError: for empty data or data that does not fit the model.
    """
    if isinstance(data, np.ndarray | Mapping):
        feeds = feeds_for(model, data)
        total = len(next(iter(feeds.values())))
        out = [{k: v[i : i + batch_size] for k, v in feeds.items()} for i in range(0, total, batch_size)]
    else:
        out = [feeds_for(model, b) for b in data]
    if not out or all(len(next(iter(f.values()))) == 0 for f in out):
        raise QnnccError("calibration data is empty")
    return out


def expose_tensors(model: ModelWrapper, names: Sequence[str]) -> ModelWrapper:
    """A copy of ``model`` whose graph outputs also include the tensors ``names``.

    Raises:
        QnnccError: if a name is not a tensor of the graph.
    """
    work = model.copy()
    infer_shapes(work)
    known = set(work.get_all_tensor_names())
    existing = set(work.graph_output_names())
    for name in names:
        if name not in known:
            raise QnnccError(f"tensor {name!r} is not in the graph")
        if name in existing:
            continue
        shape = work.get_tensor_shape(name)
        elem = work.get_tensor_elem_type(name) or onnx.TensorProto.FLOAT
        work.graph.output.append(helper.make_tensor_value_info(name, elem, shape))
        existing.add(name)
    return work


def run_exposed(
    model: ModelWrapper, names: Sequence[str], batches: Iterable[Mapping[str, np.ndarray]]
) -> Iterator[dict[str, np.ndarray]]:
    """Run ``model`` (fast back end) on each batch and yield the tensors ``names`` of that batch."""
    executor = Executor(expose_tensors(model, names), backend="fast")
    for feeds in batches:
        out = executor.run(dict(feeds))
        yield {n: out[n] for n in names}


class RangeStats:
    """Running minimum and maximum of tensors, per tensor and per channel (axis 1).

    Attributes:
        lo: tensor name -> per-channel minimum ``[C]`` (``[1]`` for rank < 2).
        hi: tensor name -> per-channel maximum.
        count: number of samples seen.
    """

    def __init__(self) -> None:
        self.lo: dict[str, np.ndarray] = {}
        self.hi: dict[str, np.ndarray] = {}
        self.count = 0

    def update(self, values: Mapping[str, np.ndarray]) -> None:
        """Fold one batch of tensor values into the running ranges."""
        for name, v in values.items():
            v = np.asarray(v, np.float32)
            flat = v.reshape(v.shape[0], v.shape[1], -1) if v.ndim >= 2 else v.reshape(1, 1, -1)
            lo = flat.min(axis=(0, 2))
            hi = flat.max(axis=(0, 2))
            if name in self.lo:
                self.lo[name] = np.minimum(self.lo[name], lo)
                self.hi[name] = np.maximum(self.hi[name], hi)
            else:
                self.lo[name], self.hi[name] = lo, hi

    def tensor_range(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Scalar ``(min, max)`` of one tensor."""
        return np.asarray(self.lo[name].min()), np.asarray(self.hi[name].max())

    def channel_range(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(min, max)`` of one tensor (axis 1), each ``[C]``."""
        return self.lo[name], self.hi[name]


def collect_ranges(
    model: ModelWrapper, names: Sequence[str], batches: Sequence[Mapping[str, np.ndarray]]
) -> RangeStats:
    """Minimum and maximum of the tensors ``names`` over all calibration batches.

    Args:
        model: the model to run (fast back end, batched).
        names: tensors to observe (non-constant).
        batches: feed dicts, e.g. from :func:`as_batches`.

    Returns:
        The per-tensor and per-channel ranges.
    """
    stats = RangeStats()
    for k, values in enumerate(run_exposed(model, names, batches)):
        stats.update(values)
        stats.count += len(next(iter(batches[k].values())))
    return stats
