"""Emulation: fast accuracy evaluation of a quantized (QONNX) model.

:class:`Emulator` folds the weight quantizers (``Quant`` of constants) into
float32 constants holding their dequantized values, computed by the same
numpy code as the node-by-node reference, and runs the rest of the graph
batched in one onnxruntime session through :class:`qnncc.Executor` (the
activation ``Quant`` nodes lowered to standard ONNX). The outputs are
bit-identical to executing the QONNX graph node by node (tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op, is_custom_node
from qnncc.execution import Executor

__all__ = ["EmulationBenchmark", "Emulator", "benchmark_emulation", "fold_constant_quantizers", "top1"]


def fold_constant_quantizers(model: ModelWrapper) -> ModelWrapper:
    """A copy of ``model`` whose custom nodes with constant inputs (weight ``Quant``) are constants."""
    work = model.copy()
    for node in list(work.graph.node):
        if not is_custom_node(node):
            continue
        values = [work.get_initializer(t) for t in node.input if t]
        if any(v is None for v in values):
            continue
        outs = get_custom_op(node).execute([v for v in values if v is not None])
        work.remove_node(node)
        for name, value in zip(node.output, outs, strict=False):
            work.set_initializer(name, np.asarray(value))
    return work


def top1(out: np.ndarray) -> np.ndarray:
    """Predicted class per item: argmax over everything but the batch axis."""
    return np.asarray(out).reshape(len(out), -1).argmax(-1)


class Emulator:
    """Batched evaluation of a model (float or QONNX) through :class:`qnncc.Executor`.

    Args:
        model: the model (not modified).
        batch_size: items per onnxruntime call.
    """

    def __init__(self, model: ModelWrapper, batch_size: int = 1000) -> None:
        self.model = fold_constant_quantizers(model)
        self.batch_size = batch_size
        self.input_name = self.model.graph_input_names()[0]
        self.output_name = self.model.graph_output_names()[0]
        self._executor = Executor(self.model, backend="fast")

    def run(self, images: np.ndarray) -> np.ndarray:
        """First graph output for ``images`` ``[N, ...]`` (already in the model's input shape)."""
        outs = [
            self._executor.run({self.input_name: images[i : i + self.batch_size]})[self.output_name]
            for i in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(outs) if outs else np.zeros((0,), np.float32)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Top-1 classes."""
        return top1(self.run(images))

    def correct(self, images: np.ndarray, labels: np.ndarray) -> int:
        """Number of correct top-1 predictions."""
        return int((self.predict(images) == np.asarray(labels).reshape(-1)).sum())


@dataclass(frozen=True)
class EmulationBenchmark:
    """Seconds per image of the emulation and of node-by-node execution.

    Attributes:
        images: images timed for the emulation.
        emulation: emulation, seconds per image (batched).
        reference_batched: qnncc's node-by-node reference back end, whole batch, seconds per image.
        reference_single: the same, one image per call, seconds per image.
        qonnx_single: QONNX's ``execute_onnx`` (node by node, one image per call), seconds
            per image; None when qonnx is not installed.
        identical: emulation outputs equal the node-by-node outputs bit for bit.
    """

    images: int
    emulation: float
    reference_batched: float
    reference_single: float
    qonnx_single: float | None
    identical: bool

    def ratios(self) -> dict[str, float]:
        """Speed-up of the emulation over each node-by-node executor."""
        out = {
            "qnncc reference, batched": self.reference_batched / self.emulation,
            "qnncc reference, per image": self.reference_single / self.emulation,
        }
        if self.qonnx_single is not None:
            out["qonnx execute_onnx, per image"] = self.qonnx_single / self.emulation
        return out


def _per_image(fn: Callable[[int], object], count: int) -> float:
    t0 = time.perf_counter()
    for i in range(count):
        fn(i)
    return (time.perf_counter() - t0) / count


def benchmark_emulation(
    model: ModelWrapper, images: np.ndarray, single: int = 100, qonnx_images: int = 20
) -> EmulationBenchmark:
    """Time the emulation against executing the QONNX graph node by node.

    Args:
        model: the QONNX model.
        images: inputs ``[N, ...]`` in the model's input shape (all are used for
            the batched timings).
        single: images timed one by one on qnncc's reference back end.
        qonnx_images: images timed one by one with QONNX's ``execute_onnx``
            (0 to skip).

    Returns:
        The timings (warm: sessions are built before timing).
    """
    emu = Emulator(model, batch_size=len(images))
    emu.run(images[:1])
    t0 = time.perf_counter()
    fast = emu.run(images)
    emulation = (time.perf_counter() - t0) / len(images)
    ref = Executor(model, backend="reference")
    name, out = emu.input_name, emu.output_name
    ref.run({name: images[:1]})
    t0 = time.perf_counter()
    slow = ref.run({name: images})[out]
    reference_batched = (time.perf_counter() - t0) / len(images)
    count = min(single, len(images))
    reference_single = _per_image(lambda i: ref.run({name: images[i : i + 1]}), count)
    qonnx_single = None
    if qonnx_images:
        try:
            from qonnx.core.modelwrapper import ModelWrapper as QonnxModel
            from qonnx.core.onnx_exec import execute_onnx
        except ImportError:
            pass
        else:
            qmodel = QonnxModel(model.copy().model)
            count = min(qonnx_images, len(images))
            qonnx_single = _per_image(lambda i: execute_onnx(qmodel, {name: images[i : i + 1]}), count)
    return EmulationBenchmark(
        len(images), emulation, reference_batched, reference_single, qonnx_single, bool(np.array_equal(fast, slow))
    )
