"""The ``qnncc`` command line.

Errors that qnncc raises on purpose (:class:`~qnncc.core.errors.QnnccError`)
print as one line and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import Pipeline
from qnncc.execution import execute
from qnncc.ingest import load
from qnncc.summary import layer_table

EXIT_USER_ERROR = 2
EXIT_OVER_BUDGET = 3


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=160)


def _guard(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn a QnnccError into one clear line on stderr and exit status 2."""

    def wrapper(*args: Any, **kwargs: Any) -> None:
        ctx = click.get_current_context()
        try:
            fn(*args, **kwargs)
        except QnnccError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"qnncc: error: {exc}", err=True)
            sys.exit(EXIT_USER_ERROR)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="qnncc")
def main(debug: bool) -> None:
    """qnncc: compile quantized neural networks into FPGA dataflow accelerators."""


def _layer_table_view(model: ModelWrapper, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("node", "op", "inputs", "weights", "outputs"):
        table.add_column(col, overflow="fold")
    for row in layer_table(model):
        table.add_row(row.name, row.op_type, row.inputs, row.weights, row.outputs)
    return table


@main.command()
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path))
@_guard
def inspect(model_path: Path) -> None:
    """Load MODEL_PATH, check it, and print its layer table (shapes, datatypes)."""
    model = load(model_path)
    _console().print(_layer_table_view(model, f"{model_path.name}: {len(model.graph.node)} nodes"))


@main.command()
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", default="Pynq-Z1", show_default=True, help="Target board (see `qnncc boards`).")
@click.option("--clock-ns", type=float, default=None, help="Clock period in ns [default: the board's].")
@click.option(
    "--folding", "folding", type=click.Path(dir_okay=False, path_type=Path), help="FINN-format folding config."
)
@click.option("--target-fps", type=float, default=None, help="Fold for this frame rate with the fewest resources.")
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the reports, folding_config.json and hw_model.onnx.",
)
@click.option("--input-scale", default=None, help="Input was x*SCALE (e.g. 1/255): the accelerator takes integers x.")
@click.option("--input-datatype", default="UINT8", show_default=True, help="Datatype of the integer input.")
@_guard
def estimate(
    model_path: Path,
    board: str,
    clock_ns: float | None,
    folding: Path | None,
    target_fps: float | None,
    output: Path,
    input_scale: str | None,
    input_datatype: str,
) -> None:
    """Compile MODEL_PATH to folded HW layers and estimate cycles, throughput and resources.

    Without --folding the optimiser folds for --target-fps, or as fast as
    the board allows within 85% of each resource.
    """
    from qnncc.estimate import estimate as run_estimate

    t0 = time.perf_counter()
    result = run_estimate(
        model_path,
        board=board,
        clock_ns=clock_ns,
        folding=folding,
        target_fps=target_fps,
        output_dir=output,
        input_scale=input_scale,
        input_datatype=input_datatype,
    )
    console = _console()
    console.print(result.summary())
    console.print(result.fit.table())
    if result.unmatched_folding_keys:
        console.print(f"[yellow]warning[/yellow]: folding entries matching no layer: {result.unmatched_folding_keys}")
    console.print(f"reports in {output} ({time.perf_counter() - t0:.2f} s)")
    if not result.fit.fits:
        over = ", ".join(result.fit.over_budget)
        click.echo(f"qnncc: over budget on {board}: {over} (see the table above)", err=True)
        sys.exit(EXIT_OVER_BUDGET)


@main.command()
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", default="Pynq-Z1", show_default=True, help="Target board (see `qnncc boards`).")
@click.option("--clock-ns", type=float, default=None, help="Clock period in ns [default: the board's].")
@click.option(
    "--folding",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="FINN-format folding config (JSON); default: the optimiser folds.",
)
@click.option("--target-fps", type=float, default=None, help="Fold for this frame rate with the fewest resources.")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Build folder.",
)
@click.option("--input-scale", default=None, help="Input was x*SCALE (e.g. 1/255): the accelerator takes integers x.")
@click.option("--input-datatype", default="UINT8", show_default=True, help="Datatype of the integer input.")
@click.option(
    "--shell",
    type=click.Choice(["zynq", "generic"]),
    default=None,
    help="Zynq shell with DMA, or generic IP [default: zynq on PYNQ boards].",
)
@click.option(
    "--verify-data",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="NPZ with 'images' (and 'labels'): C++-simulate the partition and compare with execute.",
)
@click.option("--verify-count", type=int, default=None, help="Simulate only the first N images.")
@_guard
def build(
    model_path: Path,
    board: str,
    clock_ns: float | None,
    folding: Path | None,
    target_fps: float | None,
    output: Path,
    input_scale: str | None,
    input_datatype: str,
    shell: str | None,
    verify_data: Path | None,
    verify_count: int | None,
) -> None:
    """Build MODEL_PATH into HLS sources, Vivado stitch scripts and a PYNQ driver.

    Vivado/Vitis are not needed: run `make -f Makefile.vivado` in the build
    folder where they are installed. With --verify-data the whole partition
    is compiled with g++ and simulated bit-exactly against qnncc's execution.
    """
    from qnncc.build import BuildConfig
    from qnncc.build import build as run_build

    config = BuildConfig(
        output_dir=output,
        board=board,
        clock_ns=clock_ns,
        folding=folding,
        target_fps=target_fps,
        input_scale=input_scale,
        input_datatype=input_datatype,
        shell=shell,  # type: ignore[arg-type]
        verify_data=verify_data,
        verify_count=verify_count,
    )
    console = _console()
    result = run_build(model_path, config, progress=lambda name: console.print(f"  step {name} ..."))
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.steps.items())
    console.print(f"[bold]built[/bold] {len(result.layers)} layers into {result.output_dir} ({steps})")
    console.print(f"  estimated {result.fps:,.0f} FPS on {board}")
    if result.verification is not None:
        v = result.verification
        acc = f", accuracy {v['accuracy']:.2%}" if "accuracy" in v else ""
        console.print(
            f"  cppsim: {v['images']} images bit-exact with execute{acc} "
            f"(compile {v['compile_seconds']:.1f} s, simulation {v['simulation_seconds']:.1f} s)"
        )


@main.command()
def boards() -> None:
    """List the supported boards with their parts and resources."""
    from qnncc.boards import get_board, list_boards

    table = Table(title="Boards")
    for col in ("board", "part", "shell", "LUT", "FF", "BRAM_18K", "URAM", "DSP", "clock ns"):
        table.add_column(col)
    for name in list_boards():
        b = get_board(name)
        r = b.resources
        table.add_row(
            b.name,
            b.part,
            b.shell,
            *(f"{v:,}" for v in (r.lut, r.ff, r.bram_18k, r.uram, r.dsp)),
            f"{b.default_clk_ns:g}",
        )
    _console().print(table)


@main.command()
@_guard
def demo() -> None:
    """Run the main job on the embedded TFC-W1A1 model and check it.

    Loads the packaged model, tidies and streamlines it with a timed
    pipeline (integer weights and thresholds, no float ops between layers),
    prints the layer table, and executes four embedded MNIST images: the
    streamlined model on the fast (onnxruntime) and reference (node-by-node)
    paths must agree with each other and with the original model.
    """
    from qnncc.data import demo_inputs, demo_model_path
    from qnncc.transforms import GiveReadableTensorNames, GiveUniqueNodeNames, Streamline, tidy_passes

    console = _console()
    t0 = time.perf_counter()
    original = load(demo_model_path())
    t_load = time.perf_counter() - t0
    pipeline = Pipeline(
        [
            ("tidy", tidy_passes()),
            ("streamline", Streamline()),
            ("names", [GiveUniqueNodeNames(), GiveReadableTensorNames()]),
        ]
    )
    model = pipeline.run(original.copy())
    console.print(
        f"[bold]qnncc demo[/bold]: TFC-W1A1 (binarized MLP 784-64-64-64-10), {len(original.graph.node)} nodes"
    )
    steps = ", ".join(f"{r.name} {r.seconds * 1e3:.1f} ms" for r in pipeline.records)
    console.print(f"  load {t_load * 1e3:.1f} ms, {steps}: {len(model.graph.node)} nodes left")
    console.print(_layer_table_view(model, "Layer table after streamlining"))
    images, expected = demo_inputs()
    runs = {
        "original": (original, "fast"),
        "streamlined, fast": (model, "fast"),
        "streamlined, reference": (model, "reference"),
    }
    outputs = {}
    console.print(f"  expected classes {expected.tolist()}")
    for label, (m, backend) in runs.items():
        t0 = time.perf_counter()
        feeds = {m.graph_input_names()[0]: images}
        outputs[label] = execute(m, feeds, backend=backend)[m.graph_output_names()[0]].reshape(-1)  # type: ignore[arg-type]
        console.print(f"  {label:<24} predicted {outputs[label].tolist()} in {(time.perf_counter() - t0) * 1e3:.1f} ms")
    ok = all(np.array_equal(out, expected) for out in outputs.values())
    console.print("[green]OK[/green]: all runs agree with the expected output" if ok else "[red]MISMATCH[/red]")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
