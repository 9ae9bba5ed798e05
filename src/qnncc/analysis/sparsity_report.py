"""Sparsity table of a quantized model: Q+AS, Q+AS+WS(tau) and threshold ReLU, as fpgaConvNet's sparsity table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from qnncc.core.model_wrapper import ModelWrapper
from qnncc.transforms.quantize import (
    PruneWeights,
    QuantFormat,
    SparsityAnnotate,
    ThresholdRelu,
    get_format,
    network_sparsity,
    quantized_tensors,
    sparse_speedup,
)
from qnncc.transforms.quantize.calibrate import DEFAULT_BATCH

from .emulate import Emulator
from .reports import Dataset, quantize, split_note
from .table import Table

__all__ = ["DEFAULT_TAUS", "SparsityReport", "sparsity_report"]


#: Pruning thresholds of the sparsity table (fpgaConvNet README).
DEFAULT_TAUS = (0.005, 0.01, 0.015, 0.02)


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
            split_note(calib, evaluation) + "; sparsity measured on the calibration images",
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
