"""Accuracy, sparsity and compression tables of a float ONNX model under post-training quantization.

The ONNX counterparts of fpgaConvNet's PyTorch front-end results
(``fpgaconvnet-torch`` README: quantization, sparsity and encoding tables):

* :func:`accuracy_report`: top-1 accuracy per format (Float32, Fixed16, Fixed8,
  BFP8 per layer/channel, INTn per channel), each a QONNX model;
* :func:`sparsity_report`: Q+AS and Q+AS+WS(tau) (Fixed16 quantization,
  activation sparsity, global weight pruning) with per-layer sparsity;
* :func:`compression_report`: RLE-8/4/2 and Huffman compression ratios of the
  quantized weights and activations.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.transforms.quantize import (
    PruneWeights,
    QuantFormat,
    QuantizeAnnotate,
    SparsityAnnotate,
    ThresholdRelu,
    get_format,
    network_sparsity,
    quantized_tensors,
    run_exposed,
    sparse_speedup,
)
from qnncc.transforms.quantize.calibrate import DEFAULT_BATCH, as_batches

from .emulate import Emulator
from .encoding import huffman_ratio, rle_pairs
from .table import Table

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_TAUS",
    "AccuracyReport",
    "Dataset",
    "FormatResult",
    "SparsityReport",
    "accuracy_report",
    "compression_report",
    "load_npz",
    "quantize",
    "sparsity_report",
]

#: Formats of the accuracy table, in column order.
DEFAULT_FORMATS = ("float32", "fixed16", "fixed8", "bfp8-layer", "bfp8-channel", "int8-channel", "int4-channel")
#: Pruning thresholds of the sparsity table (fpgaConvNet README).
DEFAULT_TAUS = (0.005, 0.01, 0.015, 0.02)


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


def _split_note(calib: Dataset, evaluation: Dataset | None) -> str:
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
            _split_note(calib, evaluation),
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


@dataclass
class SparsityReport:
    """Result of :func:`sparsity_report`.

    Attributes:
        experiments: ``Experiment``, ``Top-1 (%)``, ``Sparsity (%)``, ``Weight sparsity (%)``.
        layers: per-layer sparsity (activation sparsity, speed-up, product sparsity per experiment).
        models: the sparsity-annotated QONNX model of each experiment.
    """

    experiments: Table
    layers: Table
    models: dict[str, ModelWrapper] = field(default_factory=dict)


def sparsity_report(
    model: ModelWrapper,
    calib: Dataset,
    evaluation: Dataset,
    taus: Sequence[float] = DEFAULT_TAUS,
    fmt: str | QuantFormat = "fixed16",
    batch_size: int = DEFAULT_BATCH,
    relu_taus: Sequence[float] = (),
) -> SparsityReport:
    """Accuracy and sparsity of Q+AS and Q+AS+WS(tau), as fpgaConvNet's sparsity table.

    Q: the model quantized to ``fmt`` (Fixed16 in the reference); AS: activation
    sparsity, measured on the calibration images; WS(tau): global pruning of
    the quantized weights, ``|w| < tau -> 0``, without fine-tuning; TR(tau), for
    each of ``relu_taus``: every ``Relu`` of the quantized model becomes a
    threshold ReLU ``x > tau ? x : 0`` (the quantizers keep their ranges). The sparsity
    is the fraction of zero products ``x * w`` over all convolution windows
    (the reference's ``measure_model_sparsity``).

    Returns:
        The experiment and per-layer tables and the annotated models.
    """
    fmt = get_format(fmt)
    qmodel = quantize(model, fmt, calib.images, batch_size)
    runs: list[tuple[str, ModelWrapper, float]] = [("Q+AS", qmodel, 0.0)]
    for tau in taus:
        pruned = qmodel.copy()
        prune = PruneWeights(tau)
        pruned = pruned.transform(prune)
        runs.append((f"Q+AS+WS({tau:g})", pruned, prune.sparsity))
    for tau in relu_taus:
        runs.append((f"Q+AS+TR({tau:g})", qmodel.copy().transform(ThresholdRelu(tau)), 0.0))
    experiments = Table(
        f"Sparsity and accuracy ({fmt.label} quantization)",
        ["Experiment", "Top-1 (%)", "Sparsity (%)", "Weight sparsity (%)"],
        formats={"Top-1 (%)": ".2f", "Sparsity (%)": ".2f", "Weight sparsity (%)": ".2f"},
        notes=[
            _split_note(calib, evaluation) + "; sparsity measured on the calibration images",
            "Q: quantization; AS: activation sparsity (post-ReLU zeros); WS(tau): global weight pruning "
            "|w| < tau -> 0; TR(tau): threshold ReLU x > tau ? x : 0; no fine-tuning",
            "Sparsity: zero products x*w over all convolution windows (zero padding included), "
            "as fpgaConvNet's measure_model_sparsity",
        ],
    )
    per_layer: dict[str, dict[str, float]] = {}
    first = None
    models: dict[str, ModelWrapper] = {}
    for name, m, weight_sparsity in runs:
        correct = None
        if evaluation.labels is not None:
            correct = Emulator(m).correct(evaluation.images, evaluation.labels)
        annotate = SparsityAnnotate(calib.images, batch_size)
        m = m.transform(annotate)
        models[name] = m
        if first is None:
            first = annotate.layers
        if not weight_sparsity:
            weight_sparsity = _weight_sparsity(m)
        acc = None if correct is None else 100.0 * correct / len(evaluation)
        experiments.add_row(name, acc, 100.0 * network_sparsity(annotate.layers), 100.0 * weight_sparsity)
        for layer in annotate.layers:
            per_layer.setdefault(layer.node, {})[name] = 100.0 * layer.sparsity_with_weights
    assert first is not None
    names = [r[0] for r in runs]
    layers = Table(
        "Per-layer sparsity",
        ["Layer", "Op", "Window", "Activation sparsity (%)", "Speed-up (fine=1)", *[f"{n} (%)" for n in names]],
        formats={"Activation sparsity (%)": ".2f", "Speed-up (fine=1)": ".2f", **{f"{n} (%)": ".2f" for n in names}},
        notes=[
            "Activation sparsity: zero inputs per sliding window (Q+AS, padding included); "
            "Speed-up: dense over sparse cycles per window of a zero-skipping engine with fine=1, "
            "ceil(K/fine) / E[max(1, ceil((K-j)/fine))]",
            "per experiment: zero products x*w per window; a Gemm/MatMul is a 1x1 window per input feature",
        ],
    )
    for layer in first:
        k = layer.kernel_shape
        layers.add_row(
            layer.node,
            layer.op_type,
            f"{k[0]}x{k[1]}",
            100.0 * layer.sparsity,
            sparse_speedup(layer, 1),
            *[per_layer[layer.node].get(n) for n in names],
        )
    return SparsityReport(experiments, layers, models)


def _weight_sparsity(model: ModelWrapper) -> float:
    zeros = total = 0
    for q in quantized_tensors(model):
        if q.is_weight:
            w = model.get_initializer(q.source)
            assert w is not None
            zeros += int((q.params.fake_quantize(w) == 0).sum())
            total += w.size
    return zeros / total if total else 0.0


def compression_report(
    qmodel: ModelWrapper,
    calib: Dataset,
    length_bits: Sequence[int] = (8, 4, 2),
    batch_size: int = 100,
    max_items: int | None = None,
) -> Table:
    """Compression ratios of the quantized weights and activations of a QONNX model.

    Weights: the integer grid of each weight quantizer, flattened in C order.
    Activations: the integer values of each activation quantizer on the
    calibration images, each image flattened on its own (NCHW order; batch 1
    as in the reference's encoding example), RLE ratios averaged over images,
    Huffman over the value histogram of all images.

    Args:
        qmodel: a QONNX model from :class:`~qnncc.transforms.quantize.QuantizeAnnotate`.
        calib: images to run.
        length_bits: run-length field widths N of RLE-N.
        batch_size: images per batch.
        max_items: use at most this many images.

    Returns:
        One row per quantized tensor, then averages over weights, activations and all.

    Raises:
        QnnccError: if the model has no quantizers.
    """
    quants = quantized_tensors(qmodel)
    if not quants:
        raise QnnccError("the model has no Quant nodes; quantize it first")
    cols = [f"RLE-{n}" for n in length_bits] + ["Huffman"]
    table = Table(
        "Compression ratio (encoded bits / original bits; < 1 is smaller)",
        ["Tensor", "Kind", "Layer", "Bits", "Elements", *cols],
        formats=dict.fromkeys(cols, ".3f"),
        notes=[
            f"activations measured on {min(len(calib), max_items or len(calib)):,} images ({calib.description}), "
            "RLE per image and averaged, Huffman over all values",
            "RLE-N: (value, length) pairs, length in N bits (runs capped at 2^N); Huffman: code table not counted",
        ],
    )
    rows: list[tuple[bool, list[float]]] = []
    for q in quants:
        if not q.is_weight:
            continue
        w = qmodel.get_initializer(q.source)
        assert w is not None
        ints = q.params.integers(w).astype(np.int64)
        freqs = Counter(dict(zip(*np.unique(ints, return_counts=True), strict=True)))
        ratios = [
            float(rle_pairs(ints.reshape(1, -1), n)[0]) * (q.params.bits + n) / (ints.size * q.params.bits)
            for n in length_bits
        ]
        ratios.append(huffman_ratio(freqs, q.params.bits))
        rows.append((True, ratios))
        table.add_row(q.source, "weight", q.layer, q.params.bits, int(ints.size), *ratios)
    acts = [q for q in quants if not q.is_weight]
    images = calib.images if max_items is None else calib.images[:max_items]
    batches = as_batches(qmodel, images, batch_size)
    sums = {q.output: np.zeros(len(length_bits)) for q in acts}
    hist: dict[str, Counter[int]] = {q.output: Counter() for q in acts}
    sizes: dict[str, int] = {}
    count = 0
    for values in run_exposed(qmodel, [q.output for q in acts], batches):
        for q in acts:
            ints = q.params.integers(values[q.output]).astype(np.int64)
            per_image = ints.reshape(len(ints), -1)
            sizes[q.output] = per_image.shape[1]
            for i, n in enumerate(length_bits):
                pairs = rle_pairs(per_image, n)
                sums[q.output][i] += float((pairs * (q.params.bits + n) / (per_image.shape[1] * q.params.bits)).sum())
            uniq, cnt = np.unique(ints, return_counts=True)
            hist[q.output].update(dict(zip(uniq.tolist(), cnt.tolist(), strict=True)))
        count += len(next(iter(values.values())))
    for q in acts:
        ratios = [float(s) / count for s in sums[q.output]]
        ratios.append(huffman_ratio(hist[q.output], q.params.bits))
        rows.append((False, ratios))
        shown = q.output if q.output in qmodel.graph_output_names() else q.source
        table.add_row(shown, "activation", q.layer, q.params.bits, sizes.get(q.output, 0), *ratios)
    for label, keep in (("weights (mean)", True), ("activations (mean)", False), ("all (mean)", None)):
        sel = [r for w, r in rows if keep is None or w == keep]
        if sel:
            means = np.mean(np.asarray(sel), axis=0).tolist()
            table.add_row(label, "", "", None, None, *means)
    return table
