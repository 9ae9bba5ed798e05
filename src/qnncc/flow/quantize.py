"""Post-training quantization flow (``qnncc quantize``): QONNX models per format and accuracy tables."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnncc.core.errors import QnnccError
from qnncc.flow.outdir import check_output_dir, install_output

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["run_quantize"]


def run_quantize(
    model_path: Path,
    calib_path: Path,
    formats: tuple[str, ...],
    output: Path,
    eval_path: Path | None = None,
    calib_items: str | None = None,
    eval_items: str | None = None,
    input_scale: str | None = None,
    sparsity: bool = False,
    encoding: str | None = None,
    relu_taus: tuple[float, ...] = (),
    console: Console | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Post-training quantization of a float model into QONNX models, with accuracy tables.

    Writes ``<format>.onnx`` per format, ``report.md`` and ``report.csv`` (and the sparsity and
    encoding tables as CSV) into ``output``, atomically: into ``<output>.incomplete`` first, then
    renamed; ``output`` is replaced only if it is a previous qnncc output (see
    :mod:`qnncc.flow.outdir`), or with ``force`` (then only qnncc's files are replaced).

    Args:
        model_path: float ONNX model.
        calib_path: ``.npz`` with ``images`` ``[N, ...]`` (and optional ``labels``).
        formats: format names (:func:`qnncc.transforms.quantize.get_format`) or ``all``.
        output: the output folder.
        eval_path: evaluation ``.npz`` with ``images`` and ``labels`` for top-1 accuracy.
        calib_items: ``START:STOP`` range of the calibration images.
        eval_items: ``START:STOP`` range of the evaluation images.
        input_scale: multiply the images by this scale (e.g. ``"1/255"``).
        sparsity: annotate zeros-per-window histograms and add the sparsity tables.
        encoding: a format whose RLE/Huffman compression ratios to report.
        relu_taus: ReLU thresholds for the thresholded-ReLU sparsity rows.
        console: where to print the tables (default: a new rich console).
        force: write into a non-empty folder that is not a qnncc output.

    Returns:
        The tables by name (``accuracy``, ``sparsity``, ``sparsity_layers``, ``encoding``).

    Raises:
        QnnccError: for bad input, an output folder qnncc may not replace, or a failing step.
    """
    from rich.console import Console

    from qnncc.analysis import accuracy_report, compression_report, load_npz, sparsity_report
    from qnncc.analysis.reports import DEFAULT_FORMATS
    from qnncc.flow.estimate import parse_scale
    from qnncc.ingest import load
    from qnncc.transforms.quantize import SparsityAnnotate, get_format

    console = console or Console(highlight=False, width=160)
    names = list(DEFAULT_FORMATS) if "all" in formats else list(formats)
    fmts = [get_format(f) for f in names]
    model = load(model_path)
    scale = parse_scale(input_scale)
    calib = load_npz(calib_path, model, calib_items, scale)
    evaluation = load_npz(eval_path, model, eval_items, scale) if eval_path is not None else None
    if evaluation is not None and evaluation.labels is None:
        raise QnnccError(f"{eval_path} has no labels array; accuracy needs labels")
    target = check_output_dir(output, force)
    t0 = time.perf_counter()
    report = accuracy_report(model, calib, evaluation, fmts)
    tables = {"accuracy": report.table}
    tmp = target.with_name(target.name + ".incomplete")
    if tmp.exists():
        shutil.rmtree(tmp)  # an unfinished qnncc output (check_output_dir refuses anything else)
    tmp.mkdir(parents=True)
    for r in report.results:
        qmodel = r.model
        if sparsity:
            qmodel = qmodel.transform(SparsityAnnotate(calib.images))
        qmodel.save(tmp / f"{r.format.name}.onnx")
    if sparsity and evaluation is not None:
        sp = sparsity_report(model, calib, evaluation, relu_taus=relu_taus)
        tables["sparsity"], tables["sparsity_layers"] = sp.experiments, sp.layers
    if encoding is not None:
        enc_model = next((r.model for r in report.results if r.format.name == get_format(encoding).name), None)
        if enc_model is None:
            from qnncc.analysis import quantize

            enc_model = quantize(model, encoding, calib.images)
        tables["encoding"] = compression_report(enc_model, calib)
    (tmp / "report.csv").write_text(report.table.to_csv())
    for key, table in tables.items():
        if key != "accuracy":
            (tmp / f"{key}.csv").write_text(table.to_csv())
    header = f"# Quantization report: {model_path.name}\n\n"
    (tmp / "report.md").write_text(header + "\n".join(t.to_markdown() for t in tables.values()))
    install_output(tmp, target)
    for table in tables.values():
        console.print(table.to_rich())
    console.print(
        f"wrote {len(report.results)} model(s) and report.md/report.csv to {output} in {time.perf_counter() - t0:.1f} s"
    )
    return tables
