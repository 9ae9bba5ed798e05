"""Compression table of a quantized model: RLE-N and Huffman ratios of its weights and activations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.transforms.quantize import quantized_tensors, run_exposed
from qnncc.transforms.quantize.calibrate import as_batches

from .encoding import huffman_ratio, rle_pairs
from .reports import Dataset
from .table import Table

__all__ = ["compression_report"]


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
