"""Accuracy, sparsity and encoding analysis of quantized models (fpgaConvNet's front-end tables, on ONNX).

* :mod:`.encoding`: RLE-N and Huffman encoders with decoders and compression ratios;
* :mod:`.emulate`: :class:`Emulator`, fast batched evaluation of QONNX models, and
  :func:`benchmark_emulation` against node-by-node execution;
* :mod:`.reports` (:func:`accuracy_report`), :mod:`.sparsity_report` and
  :mod:`.compression_report`, returning :class:`Table` objects (CSV, Markdown, rich).

Example:
    >>> from qnncc.analysis import accuracy_report, load_npz
    >>> calib = load_npz("mnist.npz", model, items="0:1000")          # doctest: +SKIP
    >>> evaluation = load_npz("mnist.npz", model, items="5000:10000")  # doctest: +SKIP
    >>> print(accuracy_report(model, calib, evaluation).table.to_markdown())  # doctest: +SKIP
"""

from .compression_report import compression_report
from .emulate import EmulationBenchmark, Emulator, benchmark_emulation, fold_constant_quantizers, top1
from .encoding import HuffmanCode, huffman_ratio, rle_bits, rle_decode, rle_encode, rle_pairs, rle_ratio
from .hw import CppsimReport, sparse_cycle_table, verify_cppsim
from .reports import DEFAULT_FORMATS, AccuracyReport, Dataset, FormatResult, accuracy_report, load_npz, quantize
from .sparsity_report import DEFAULT_TAUS, SparsityReport, sparsity_report
from .table import Table

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_TAUS",
    "AccuracyReport",
    "CppsimReport",
    "Dataset",
    "EmulationBenchmark",
    "Emulator",
    "FormatResult",
    "HuffmanCode",
    "SparsityReport",
    "Table",
    "accuracy_report",
    "benchmark_emulation",
    "compression_report",
    "fold_constant_quantizers",
    "huffman_ratio",
    "load_npz",
    "quantize",
    "rle_bits",
    "rle_decode",
    "rle_encode",
    "rle_pairs",
    "rle_ratio",
    "sparse_cycle_table",
    "sparsity_report",
    "verify_cppsim",
    "top1",
]
