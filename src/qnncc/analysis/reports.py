"""Accuracy, sparsity and compression tables of a float ONNX model under post-training quantization.

The ONNX counterparts of fpgaConvNet's PyTorch front-end results
(``fpgaconvnet-torch`` README: quantization, sparsity and encoding tables):

* :func:`accuracy_report`: top-1 accuracy per format (Float32, Fixed16, Fixed8,
  BFP8 per layer/channel, INTn per channel), each a QONNX model;
* :func:`~qnncc.analysis.sparsity_report.sparsity_report`: Q+AS and Q+AS+WS(tau) (Fixed16 quantization,
  activation sparsity, global weight pruning) with per-layer sparsity;
* :func:`~qnncc.analysis.compression_report.compression_report`: RLE-8/4/2 and Huffman compression ratios of the
  quantized weights and activations.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.transforms.quantize import (
    QuantFormat,
    QuantizeAnnotate,
    get_format,
)
from qnncc.transforms.quantize.calibrate import DEFAULT_BATCH

from .emulate import Emulator
from .table import Table

__all__ = [
    "DEFAULT_FORMATS",
    "AccuracyReport",
    "Dataset",
    "FormatResult",
    "accuracy_report",
    "load_npz",
    "quantize",
]

#: Formats of the accuracy table, in column order.
DEFAULT_FORMATS = ("float32", "fixed16", "fixed8", "bfp8-layer", "bfp8-channel", "int8-channel", "int4-channel")


@dataclass
class Dataset:
    """Images in a model's input shape and optional labels.

    Attributes:
        images: float32 ``[N, ...]``.
        labels: int64 ``[N]`` or None.
        description: where the data came from (for reports), e.g. ``"mnist.npz[0:1000]"``.
    """

    images: np.ndarray
    labels: np.ndarray | None
    description: str

    def __len__(self) -> int:
        return len(self.images)


def _slice(spec: str | None, total: int) -> slice:
    if not spec:
        return slice(0, total)
    try:
        start_text, stop_text = spec.split(":")
        start = int(start_text) if start_text.strip() else 0
        stop = int(stop_text) if stop_text.strip() else total
    except ValueError:
        raise QnnccError(f"range {spec!r} is not START:STOP (e.g. 0:1000)") from None
    if not 0 <= start < stop <= total:
        raise QnnccError(f"range {spec!r} is outside the {total} items of the data")
    return slice(start, stop)


def load_npz(path: str | Path, model: ModelWrapper, items: str | None = None, scale: float | None = None) -> Dataset:
    """Load ``images`` (and ``labels`` if present) from an ``.npz`` file.

    Args:
        path: the file; arrays ``images`` (else ``x``, else the first array) and
            ``labels`` (else ``y``; optional).
        model: the model whose single input the images are reshaped to.
        items: optional ``"START:STOP"`` range of items.
        scale: multiply the images by this (e.g. ``1/255``); the data must
            otherwise be scaled as the model expects.

    Returns:
        The dataset.

    Raises:
        QnnccError: for a missing/unreadable file, no images, or a shape that does not fit.
    """
    path = Path(path)
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise QnnccError(f"cannot read {path}: {exc}") from None
    keys = list(data.keys())
    if not keys:
        raise QnnccError(f"{path} holds no arrays")
    key = next((k for k in ("images", "x", "inputs") if k in keys), keys[0])
    images = np.asarray(data[key])
    label_key = next((k for k in ("labels", "y", "targets") if k in keys), None)
    labels = None if label_key is None else np.asarray(data[label_key]).astype(np.int64).reshape(-1)
    if labels is not None and len(labels) != len(images):
        raise QnnccError(f"{path}: {len(images)} images but {len(labels)} labels")
    names = model.graph_input_names()
    if len(names) != 1:
        raise QnnccError(f"the model has {len(names)} inputs; npz data needs a single-input model")
    shape = model.get_tensor_shape(names[0]) or []
    per_item = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    if images.ndim == 0 or images[0].size != per_item:
        raise QnnccError(f"{path}: items of shape {list(images.shape[1:])} do not fit the model input {shape}")
    sel = _slice(items, len(images))
    images = images[sel].reshape([-1, *shape[1:]]).astype(np.float32)
    if scale is not None:
        images = images * np.float32(scale)
    labels = None if labels is None else labels[sel]
    desc = f"{path.name}[{sel.start}:{sel.stop}]"
    return Dataset(images, labels, desc)


@dataclass
class FormatResult:
    """One format of the accuracy table.

    Attributes:
        format: the format.
        model: the quantized QONNX model (the float model for float32).
        correct: correct top-1 predictions (None without labels).
        total: evaluated images.
        quantize_seconds: time of quantize-annotate (calibration included).
        eval_seconds: time of the emulated evaluation.
    """

    format: QuantFormat
    model: ModelWrapper
    correct: int | None
    total: int
    quantize_seconds: float
    eval_seconds: float

    @property
    def accuracy(self) -> float | None:
        """Top-1 accuracy in percent."""
        return None if self.correct is None or not self.total else 100.0 * self.correct / self.total


@dataclass
class AccuracyReport:
    """Result of :func:`accuracy_report`.

    Attributes:
        results: one entry per format, in order.
        table: the accuracy table.
    """

    results: list[FormatResult]
    table: Table

    def result(self, name: str) -> FormatResult:
        """The result of a format by name."""
        for r in self.results:
            if r.format.name == name:
                return r
        raise KeyError(name)


def split_note(calib: Dataset, evaluation: Dataset | None) -> str:
    """A table note naming the calibration and evaluation images."""
    if evaluation is None:
        return f"calibration: {len(calib):,} images ({calib.description}); no evaluation data"
    return (
        f"calibration: {len(calib):,} images ({calib.description}); "
        f"evaluation: {len(evaluation):,} images ({evaluation.description})"
    )


def quantize(
    model: ModelWrapper, fmt: QuantFormat | str, calib: np.ndarray, batch_size: int = DEFAULT_BATCH
) -> ModelWrapper:
    """A quantized copy of a float model (the model itself is not modified)."""
    return model.copy().transform(QuantizeAnnotate(fmt, calib, batch_size))


def accuracy_report(
    model: ModelWrapper,
    calib: Dataset,
    evaluation: Dataset | None,
    formats: Sequence[str | QuantFormat] = DEFAULT_FORMATS,
    batch_size: int = DEFAULT_BATCH,
) -> AccuracyReport:
    """Top-1 accuracy of a float model quantized to each format (emulated, batched).

    Args:
        model: the float model (not modified).
        calib: calibration images.
        evaluation: evaluation images (labels needed for accuracy); None: quantize only.
        formats: format names or objects.
        batch_size: calibration batch size.

    Returns:
        The per-format results and the table (``Format``, ``Top-1 (%)``, ``Correct``,
        ``Images``, ``Delta vs Float32 (points)``, ``Quantizers``).
    """
    results: list[FormatResult] = []
    for f in formats:
        fmt = get_format(f)
        t0 = time.perf_counter()
        qmodel = quantize(model, fmt, calib.images, batch_size)
        t1 = time.perf_counter()
        correct = None
        if evaluation is not None and evaluation.labels is not None:
            correct = Emulator(qmodel).correct(evaluation.images, evaluation.labels)
        t2 = time.perf_counter()
        total = 0 if evaluation is None else len(evaluation)
        results.append(FormatResult(fmt, qmodel, correct, total, t1 - t0, t2 - t1))
    table = Table(
        "Top-1 accuracy by quantization format",
        ["Format", "Top-1 (%)", "Correct", "Images", "Delta vs Float32 (points)", "Quantizers"],
        formats={"Top-1 (%)": ".2f", "Delta vs Float32 (points)": "+.2f"},
        notes=[
            split_note(calib, evaluation),
            "post-training quantization, no fine-tuning; fpgaConvNet's min/max quantizers "
            "(Fixed: one range per network, BFP: per tensor / per output channel; INTn: symmetric, "
            "weights per output channel, activations per tensor)",
        ],
    )
    base = next((r.accuracy for r in results if r.format.is_float), None)
    for r in results:
        delta = None if base is None or r.accuracy is None else r.accuracy - base
        quantizers = sum(n.op_type == "Quant" for n in r.model.graph.node)
        table.add_row(r.format.label, r.accuracy, r.correct, r.total, delta, quantizers)
    return AccuracyReport(results, table)
