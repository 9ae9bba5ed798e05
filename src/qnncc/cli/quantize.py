"""``qnncc quantize``: post-training quantization of a float ONNX model with an accuracy report.

Registered on the main command group by ``main.add_command(quantize_command, "quantize")``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qnncc.cli.errors import guard
from qnncc.core.errors import QnnccError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["quantize_command", "run_quantize"]


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
) -> dict[str, Any]:
    """The work of ``qnncc quantize`` (see its help); returns the tables by name.

    Raises:
        QnnccError: for bad input or a failing step.
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
    t0 = time.perf_counter()
    report = accuracy_report(model, calib, evaluation, fmts)
    tables = {"accuracy": report.table}
    tmp = output.with_name(output.name + ".incomplete")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
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
    if output.exists():
        import shutil

        shutil.rmtree(output)
    tmp.rename(output)
    for table in tables.values():
        console.print(table.to_rich())
    console.print(
        f"wrote {len(report.results)} model(s) and report.md/report.csv to {output} in {time.perf_counter() - t0:.1f} s"
    )
    return tables


@click.command("quantize")
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--calib",
    "calib_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Calibration data: .npz with `images` [N, ...] (reshaped to the model input) and optional `labels`.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    default=("int8-channel",),
    show_default=True,
    help="float32, fixed16, fixed8, bfp8-layer, bfp8-channel, int8-channel, int4-channel, "
    "int<n>-tensor|channel[-affine], or `all`; repeat for several.",
)
@click.option(
    "--eval",
    "eval_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Evaluation data (.npz with `images` and `labels`) for top-1 accuracy.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for <format>.onnx (QONNX), report.csv and report.md.",
)
@click.option("--calib-items", default=None, help="START:STOP range of the calibration images (e.g. 0:1000).")
@click.option("--eval-items", default=None, help="START:STOP range of the evaluation images (e.g. 5000:10000).")
@click.option("--input-scale", default=None, help="Multiply the images by SCALE (e.g. 1/255) before use.")
@click.option("--sparsity", is_flag=True, help="Annotate zeros-per-window histograms; add the Q+AS(+WS) tables.")
@click.option(
    "--relu-threshold",
    "relu_taus",
    type=float,
    multiple=True,
    help="With --sparsity: also a Q+AS+TR(TAU) row, every ReLU thresholded at TAU; repeatable.",
)
@click.option("--encoding", default=None, help="Add RLE/Huffman compression ratios of this format (e.g. bfp8-channel).")
@guard
def quantize_command(
    model_path: Path,
    calib_path: Path,
    formats: tuple[str, ...],
    eval_path: Path | None,
    output: Path,
    calib_items: str | None,
    eval_items: str | None,
    input_scale: str | None,
    sparsity: bool,
    relu_taus: tuple[float, ...],
    encoding: str | None,
) -> None:
    """Quantize the float ONNX model MODEL_PATH (post-training) and report its accuracy.

    Each --format gives a QONNX model (Quant nodes) that `qnncc estimate/build`
    can continue from; with --eval the top-1 accuracy of each is printed and
    written to report.md / report.csv (the calibration and evaluation ranges
    are stated in the report). Images must be scaled as the model expects
    (or use --input-scale).
    """
    if not model_path.is_file():
        raise QnnccError(f"model file {model_path} does not exist")
    for path in (calib_path, eval_path):
        if path is not None and not path.is_file():
            raise QnnccError(f"data file {path} does not exist")
    run_quantize(
        model_path,
        calib_path,
        formats,
        output,
        eval_path,
        calib_items,
        eval_items,
        input_scale,
        sparsity,
        encoding,
        relu_taus,
    )
