"""SparsityAnnotate: zeros per sliding window of every Conv/Gemm/MatMul input, measured on data.

fpgaConvNet's sparse convolution skips the zero products of each sliding
window: a window of ``K = k_h * k_w`` elements with ``j`` zeros costs
``ceil((K - j) / fine)`` cycles. Its PyTorch front end (``fpgaconvnet-torch``,
``sparsity/utils.py``) measures, per convolution and per input channel, the
histogram of zeros per window (bins ``0 .. K``) on calibration data, the
windows taken from the zero-padded input, and reports the average sparsity
``sum_j j * h_j / (K * sum_j h_j)``. This pass does the same on ONNX and
records two histograms per input channel:

* ``histogram``: zeros of the activation window (what a zero-skipping engine
  sees on its input stream; padding zeros included);
* ``histogram_with_weights``: zeros of the window of products ``x * w`` (a zero
  activation or a zero weight), summed over the output channels, which is
  the reference's measure and grows with weight pruning.

A ``Gemm``/``MatMul`` is a 1x1 window per input feature (bins 0..1).

The result is a JSON record (never code) in the node's ``metadata_props``
under ``qnncc.sparsity`` (a standard ONNX node cannot carry unknown
attributes: ``onnx.checker`` and onnxruntime reject them) and, so that it
survives lowering to HW layers (which keep the weight tensor's name), in the
weight tensor's annotation under ``qnncc_window_sparsity``. QONNX's
``tensor_sparsity`` key (:data:`qnncc.transforms.lower._util.SPARSITY_KEY`)
is not used: it marks depthwise weights for the HW conversion passes.
:func:`sparsity_hint` turns a record into the perf model's
:class:`~qnncc.hw.perf.SparsityHint` for :func:`~qnncc.hw.perf.sparse_window_cycles`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from typing_extensions import override

from qnncc.core.annotations import get_annotation, set_annotation
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op, is_custom_node
from qnncc.custom_op.shapes import infer_shapes
from qnncc.hw.perf import SparsityHint, sparse_window_cycles

from ..lower.conv import explicit_pads
from .calibrate import DEFAULT_BATCH, CalibrationData, as_batches, run_exposed
from .window_zeros import conv_histograms, gemm_histograms

__all__ = [
    "SPARSITY_METADATA_KEY",
    "SPARSITY_TENSOR_KEY",
    "LayerSparsity",
    "SparsityAnnotate",
    "constant_value",
    "conv_pads",
    "network_sparsity",
    "read_sparsity",
    "read_tensor_sparsity",
    "sparse_speedup",
    "sparsity_hint",
]

#: Key of the JSON record in a node's ``metadata_props``.
SPARSITY_METADATA_KEY = "qnncc.sparsity"
#: Key of the JSON record in the weight tensor's annotation.
SPARSITY_TENSOR_KEY = "qnncc_window_sparsity"

SPARSE_OPS = ("Conv", "Gemm", "MatMul")


@dataclass
class LayerSparsity:
    """Zeros-per-window histograms of one layer's input.

    Attributes:
        node: node name.
        op_type: ``Conv``, ``Gemm`` or ``MatMul``.
        input: the data input tensor.
        weight: the weight tensor.
        kernel_shape: ``[k_h, k_w]`` (``[1, 1]`` for Gemm/MatMul).
        histogram: ``[C, K+1]`` window counts by number of zero activations, per input channel.
        histogram_with_weights: ``[C, K+1]`` window counts by number of zero products
            ``x * w``, per input channel, summed over output channels.
        samples: calibration items seen.
    """

    node: str
    op_type: str
    input: str
    weight: str
    kernel_shape: list[int]
    histogram: np.ndarray
    histogram_with_weights: np.ndarray
    samples: int = 0

    @property
    def window(self) -> int:
        """Elements per window ``K``."""
        return int(np.prod(self.kernel_shape))

    @property
    def channels(self) -> int:
        """Input channels (features for Gemm/MatMul)."""
        return int(self.histogram.shape[0])

    @staticmethod
    def _sparsity(hist: np.ndarray) -> float:
        k = hist.shape[1] - 1
        total = float(hist.sum()) * k
        return float((hist * np.arange(k + 1)).sum()) / total if total else 0.0

    @property
    def sparsity(self) -> float:
        """Average fraction of zero activations per window (padding included)."""
        return self._sparsity(self.histogram)

    @property
    def sparsity_with_weights(self) -> float:
        """Average fraction of zero products ``x * w`` per window (the reference's measure)."""
        return self._sparsity(self.histogram_with_weights)

    @property
    def channel_sparsity(self) -> np.ndarray:
        """Average fraction of zero activations per window, per input channel ``[C]``."""
        k = self.window
        totals = self.histogram.sum(axis=1) * k
        zeros = (self.histogram * np.arange(k + 1)).sum(axis=1)
        return np.divide(zeros, totals, out=np.zeros(len(totals)), where=totals > 0)

    def to_json(self) -> str:
        """The JSON record stored in the graph."""
        return json.dumps(
            {
                "op_type": self.op_type,
                "input": self.input,
                "weight": self.weight,
                "kernel_shape": list(self.kernel_shape),
                "window": self.window,
                "channels": self.channels,
                "samples": self.samples,
                "histogram": self.histogram.astype(np.int64).tolist(),
                "histogram_with_weights": self.histogram_with_weights.astype(np.int64).tolist(),
                "sparsity": round(self.sparsity, 6),
                "sparsity_with_weights": round(self.sparsity_with_weights, 6),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, node: str, text: str) -> LayerSparsity:
        """Parse a record written by :meth:`to_json`.

        Raises:
            QnnccError: if the text is not a valid record.
        """
        try:
            d = json.loads(text)
            k = int(np.prod(d["kernel_shape"]))
            hist = np.asarray(d["histogram"], dtype=np.int64)
            hist_w = np.asarray(d["histogram_with_weights"], dtype=np.int64)
            if hist.ndim != 2 or hist.shape[1] != k + 1 or hist_w.shape != hist.shape or (hist < 0).any():
                raise ValueError("histogram shape")
            return cls(
                node, str(d["op_type"]), str(d["input"]), str(d.get("weight", "")), list(d["kernel_shape"]),
                hist, hist_w, int(d.get("samples", 0)),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise QnnccError(f"node {node!r}: invalid sparsity record ({exc})") from None


def conv_pads(model: ModelWrapper, node: onnx.NodeProto, hw: Sequence[int], kernel: Sequence[int]) -> list[int]:
    """``[top, left, bottom, right]`` padding of a 2-D Conv (:func:`qnncc.transforms.lower.conv.explicit_pads`)."""
    strides = [int(s) for s in model.get_nodeattr(node, "strides", [1, 1])]
    dil = [int(d) for d in model.get_nodeattr(node, "dilations", [1, 1])]
    return explicit_pads(model, node, hw, kernel, strides, dil)


def constant_value(model: ModelWrapper, name: str) -> np.ndarray | None:
    """Value of a constant tensor: an initializer or a custom op (e.g. ``Quant``) of initializers."""
    value = model.get_initializer(name)
    if value is not None:
        return value
    producer = model.find_producer(name)
    if producer is None or not is_custom_node(producer):
        return None
    inputs = [model.get_initializer(t) for t in producer.input if t]
    if any(v is None for v in inputs):
        return None
    outs = get_custom_op(producer).execute([v for v in inputs if v is not None])
    return np.asarray(outs[list(producer.output).index(name)])


def _effective_gemm_weight(model: ModelWrapper, node: onnx.NodeProto, w: np.ndarray) -> np.ndarray:
    if node.op_type == "Gemm" and int(model.get_nodeattr(node, "transB", 0)):
        return np.asarray(w).T
    return np.asarray(w).reshape(-1, w.shape[-1]) if w.ndim > 2 else np.asarray(w)


def _targets(model: ModelWrapper) -> list[tuple[onnx.NodeProto, np.ndarray]]:
    found = []
    for node in model.graph.node:
        if node.op_type not in SPARSE_OPS or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        if model.is_constant(node.input[0]) or constant_value(model, node.input[0]) is not None:
            continue
        if node.op_type == "Gemm" and int(model.get_nodeattr(node, "transA", 0)):
            continue
        w = constant_value(model, node.input[1])
        if w is None or (node.op_type == "Conv" and w.ndim != 4):
            continue
        found.append((node, np.asarray(w, np.float32)))
    return found


class SparsityAnnotate(Transformation):
    """Measure zeros-per-window histograms on calibration data and record them in the graph.

    Args:
        calibration: data as for :class:`~.annotate.QuantizeAnnotate`.
        batch_size: items per batch when an array is split.

    After :meth:`apply`, :attr:`layers` holds one :class:`LayerSparsity` per
    Conv/Gemm/MatMul with constant weights (graph order).
    """

    def __init__(self, calibration: CalibrationData, batch_size: int = DEFAULT_BATCH) -> None:
        self.calibration = calibration
        self.batch_size = batch_size
        self.layers: list[LayerSparsity] = []

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        infer_shapes(model)
        targets = _targets(model)
        self.layers = []
        if not targets:
            return model, False
        batches = as_batches(model, self.calibration, self.batch_size)
        names = list(dict.fromkeys(node.input[0] for node, _ in targets))
        hists: dict[str, list[np.ndarray]] = {}
        samples = 0
        for k, values in enumerate(run_exposed(model, names, batches)):
            samples += len(next(iter(batches[k].values())))
            for node, w in targets:
                x = values[node.input[0]]
                if node.op_type == "Conv":
                    kernel = list(w.shape[2:])
                    if x.ndim != 4:
                        raise QnnccError(f"Conv node {node.name!r}: only 2-D convolutions are supported")
                    pads = conv_pads(model, node, x.shape[2:], kernel)
                    strides = [int(s) for s in model.get_nodeattr(node, "strides", [1, 1])]
                    dil = [int(d) for d in model.get_nodeattr(node, "dilations", [1, 1])]
                    group = int(model.get_nodeattr(node, "group", 1))
                    h, hw = conv_histograms(x, w, strides, pads, dil, group)
                else:
                    h, hw = gemm_histograms(x, _effective_gemm_weight(model, node, w))
                key = node.name or node.output[0]
                if key in hists:
                    hists[key][0] += h
                    hists[key][1] += hw
                else:
                    hists[key] = [h, hw]
        for node, w in targets:
            key = node.name or node.output[0]
            kernel = list(w.shape[2:]) if node.op_type == "Conv" else [1, 1]
            layer = LayerSparsity(
                key, node.op_type, node.input[0], node.input[1], kernel, hists[key][0], hists[key][1], samples
            )
            self.layers.append(layer)
            _write(model, node, layer)
        return model, False


def _write(model: ModelWrapper, node: onnx.NodeProto, layer: LayerSparsity) -> None:
    text = layer.to_json()
    for kv in node.metadata_props:
        if kv.key == SPARSITY_METADATA_KEY:
            kv.value = text
            break
    else:
        kv = node.metadata_props.add()
        kv.key, kv.value = SPARSITY_METADATA_KEY, text
    set_annotation(model.graph, node.input[1], SPARSITY_TENSOR_KEY, text)


def read_sparsity(model: ModelWrapper, node: onnx.NodeProto) -> LayerSparsity | None:
    """The sparsity record of a node: its ``metadata_props``, else its weight (input 1) annotation."""
    for kv in node.metadata_props:
        if kv.key == SPARSITY_METADATA_KEY:
            return LayerSparsity.from_json(node.name, kv.value)
    if len(node.input) > 1:
        return read_tensor_sparsity(model, node.input[1], node.name)
    return None


def read_tensor_sparsity(model: ModelWrapper, tensor: str, node: str = "") -> LayerSparsity | None:
    """The sparsity record annotated on a weight tensor (kept by lowering and HW conversion)."""
    text = get_annotation(model.graph, tensor, SPARSITY_TENSOR_KEY)
    return None if text is None else LayerSparsity.from_json(node or tensor, text)


def sparsity_hint(layer: LayerSparsity, include_weights: bool = False) -> SparsityHint:
    """The perf model's :class:`SparsityHint`: the histogram summed over channels, normalised.

    Args:
        layer: the record.
        include_weights: use the zero products ``x * w`` (a zero-skipping engine
            with static weight sparsity) instead of the zero activations.
    """
    hist = (layer.histogram_with_weights if include_weights else layer.histogram).sum(axis=0).astype(np.float64)
    total = hist.sum()
    probs = hist / total if total > 0 else np.eye(1, len(hist)).reshape(-1)
    return SparsityHint(tuple(float(p) for p in probs), layer.window)


def sparse_speedup(layer: LayerSparsity, fine: int = 1, include_weights: bool = False) -> float:
    """Dense over expected sparse cycles per window, ``ceil(K/fine) / E[max(1, ceil((K-j)/fine))]``."""
    hint = sparsity_hint(layer, include_weights)
    dense = math.ceil(layer.window / fine)
    return dense / sparse_window_cycles(hint.histogram, hint.kernel_elems, fine)


def network_sparsity(
    layers: Iterable[LayerSparsity], include_weights: bool = True, op_types: Sequence[str] = ("Conv",)
) -> float:
    """Zeros over all window elements of the listed layers (fpgaConvNet's ``measure_model_sparsity``).

    The reference measures convolutions only, on the products ``x * w``.
    """
    zeros = total = 0.0
    for layer in layers:
        if layer.op_type not in op_types:
            continue
        hist = layer.histogram_with_weights if include_weights else layer.histogram
        k = hist.shape[1] - 1
        zeros += float((hist * np.arange(k + 1)).sum())
        total += float(hist.sum()) * k
    return zeros / total if total else 0.0
