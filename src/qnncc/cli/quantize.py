"""``qnncc quantize``: post-training quantization of a float ONNX model with an accuracy report.

Registered on the main command group by ``main.add_command(quantize_command, "quantize")``; the flow
itself is :func:`qnncc.flow.quantize.run_quantize`.
"""

from __future__ import annotations

from pathlib import Path

import click

from qnncc.cli.errors import guard
from qnncc.core.errors import QnnccError
from qnncc.flow.quantize import run_quantize

__all__ = ["quantize_command", "run_quantize"]


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
@click.option(
    "--force", is_flag=True, help="Write into a non-empty folder that is not a qnncc output (other files stay)."
)
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
    force: bool,
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
        force=force,
    )
