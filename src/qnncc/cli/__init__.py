"""The ``qnncc`` command line.

Errors that qnncc raises on purpose (:class:`~qnncc.core.errors.QnnccError`)
print as one line and exit with status 2; ``--debug`` shows the traceback.
Ctrl-C exits with status 130.

Start-up: this module imports only click and qnncc's errors; each command
imports what it needs (onnx alone takes about a second to import, mostly
``ml_dtypes``), so ``qnncc --help`` and ``qnncc boards`` start fast.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from qnncc.cli.console import console as make_console
from qnncc.cli.console import layer_table_view
from qnncc.cli.errors import EXIT_OVER_BUDGET, guard
from qnncc.cli.progress import BuildProgress
from qnncc.core.errors import QnnccError

#: The optimiser's options, shared by ``estimate`` and ``build``.
_FOLDING_OPTIONS = (
    click.option("--target-fps", type=float, default=None, help="Fold for this frame rate with the fewest resources."),
    click.option(
        "--folding-mode",
        type=click.Choice(["estimate", "resources"]),
        default="estimate",
        show_default=True,
        help="Optimiser cost: FINN's formulas, or LUTs of the model fitted on Yosys synthesis (resources).",
    ),
    click.option(
        "--stream-weights/--no-stream-weights",
        default=True,
        show_default=True,
        help="Stream the weights that do not fit on chip from DRAM (mem_mode external) before splitting the design.",
    ),
    click.option(
        "--pad-channels/--no-pad-channels",
        default=True,
        show_default=True,
        help="With --folding-mode resources and --target-fps: pad the channels between fully connected MVAUs with "
        "constant channels when that opens a cheaper folding.",
    ),
)


def folding_options(command: Any) -> Any:
    """Add the folding optimiser's options (:data:`_FOLDING_OPTIONS`) to a command, in that order."""
    for option in reversed(_FOLDING_OPTIONS):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="qnncc")
def main(debug: bool) -> None:
    """qnncc: compile quantized neural networks into FPGA dataflow accelerators."""


@main.command()
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path))
@guard
def inspect(model_path: Path) -> None:
    """Load MODEL_PATH, check it, and print its layer table (shapes, datatypes)."""
    from qnncc.ingest import load

    model = load(model_path)
    make_console().print(layer_table_view(model, f"{model_path.name}: {len(model.graph.node)} nodes"))


@main.command()
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", default="Pynq-Z1", show_default=True, help="Target board (see `qnncc boards`).")
@click.option("--clock-ns", type=float, default=None, help="Clock period in ns [default: the board's].")
@click.option(
    "--folding", "folding", type=click.Path(dir_okay=False, path_type=Path), help="FINN-format folding config."
)
@folding_options
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
@guard
def estimate(
    model_path: Path,
    board: str,
    clock_ns: float | None,
    folding: Path | None,
    target_fps: float | None,
    folding_mode: str,
    stream_weights: bool,
    pad_channels: bool,
    output: Path,
    input_scale: str | None,
    input_datatype: str,
) -> None:
    """Compile MODEL_PATH to folded HW layers and estimate cycles, throughput and resources.

    Without --folding the optimiser folds for --target-fps, or as fast as
    the board allows within 85% of each resource.
    """
    from qnncc.flow.estimate import estimate as run_estimate

    t0 = time.perf_counter()
    result = run_estimate(
        model_path,
        board=board,
        clock_ns=clock_ns,
        folding=folding,
        target_fps=target_fps,
        folding_mode=folding_mode,
        stream_weights=stream_weights,
        pad_channels=pad_channels,
        output_dir=output,
        input_scale=input_scale,
        input_datatype=input_datatype,
    )
    console = make_console()
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
@click.argument("model_path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--board", default="Pynq-Z1", show_default=True, help="Target board (see `qnncc boards`).")
@click.option("--clock-ns", type=float, default=None, help="Clock period in ns [default: the board's].")
@click.option(
    "--folding",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="FINN-format folding config (JSON); default: the optimiser folds.",
)
@folding_options
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
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="NPZ with 'images' (and 'labels'): C++-simulate the partition and compare with execute.",
)
@click.option("--verify-count", type=int, default=None, help="Simulate only the first N images.")
@click.option(
    "--fifo-sizing",
    type=click.Choice(["sim", "largefifo", "off"]),
    default="sim",
    show_default=True,
    help="FIFO depths: cycle-level simulation, one frame per stream, or none.",
)
@click.option(
    "--backend",
    type=click.Choice(["hls", "rtl"]),
    default="hls",
    show_default=True,
    help="Layer sources: HLS C++ (hls/) or Verilog from qnncc's RTL library (rtl/, module references in the stitch, "
    "Verilator for --verify-data).",
)
@click.option("--synth", is_flag=True, help="Run Yosys synth_xilinx per layer (report/synth.json; needs qnncc[rtl]).")
@click.option("--steps", default=None, help="Comma-separated steps to run, in flow order [default: all needed].")
@click.option("--from-step", default=None, help="Resume a previous build of --output at this step.")
@click.option("--to-step", default=None, help="Stop after this step.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Build configuration (JSON or YAML); options given here override it.",
)
@click.option("--strict-folding", is_flag=True, help="Fail on any folding entry that names no layer.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots (no matplotlib import).")
@click.option(
    "--force",
    is_flag=True,
    help="Write into an --output folder that is not empty and not a qnncc build (other files stay).",
)
@click.option("--list-steps", is_flag=True, help="Print the build steps and exit.")
@click.option(
    "--scheduler",
    default=None,
    help="Dask scheduler tcp://HOST:PORT for the C++ compile/simulation jobs [default: $QNNCC_SCHEDULER, else local].",
)
@guard
def build(model_path: Path | None, config_file: Path | None, list_steps: bool, no_plots: bool, **options: Any) -> None:
    """Build MODEL_PATH into HLS sources, Vivado stitch scripts and a PYNQ driver.

    Steps: load, tidy, qonnx_to_finn, prepare_io, streamline, lower,
    convert_to_hw, names, fold, partition, estimate, insert_dwc, fifo, hls
    (or rtl with --backend rtl), synth (with --synth), stitch, driver, verify
    (with --verify-data; Verilator simulation with --backend rtl). Each step's model is saved in
    intermediate_models/, so --from-step resumes a build (MODEL_PATH is then
    not needed, and options not given are those of the saved build). Vivado/Vitis are
    not needed: run `make -f Makefile.vivado` in the build folder where they
    are installed. With --verify-data the whole partition is compiled with
    g++ (needed on PATH) and simulated bit-exactly against qnncc's execution.
    The --output folder must be new, empty or a previous qnncc build (see --force).
    """
    from qnncc.flow.build import build as run_build
    from qnncc.flow.build import saved_settings
    from qnncc.flow.config import OUTPUTS, load_build_config, make_build_config
    from qnncc.flow.plan import step_names

    if list_steps:
        click.echo("\n".join(step_names()))
        return
    ctx = click.get_current_context()
    given = {
        k: v
        for k, v in options.items()
        if ctx.get_parameter_source(k) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    }
    renames = {"output": "output_dir"}
    if no_plots:
        given["generate_outputs"] = tuple(o for o in OUTPUTS if o != "plots")
    if config_file is not None:
        config = load_build_config(config_file, {renames.get(k, k): v for k, v in given.items()})
    else:
        values = {renames.get(k, k): v for k, v in options.items()}
        if options.get("from_step"):  # a resume keeps the saved build's settings unless given again
            values.update({k: v for k, v in saved_settings(options["output"]).items() if k not in given})
            values.update({renames.get(k, k): v for k, v in given.items()})
        elif no_plots:
            values["generate_outputs"] = given["generate_outputs"]
        config = make_build_config(None, **values)
    if model_path is None and not config.from_step:
        raise QnnccError("missing MODEL_PATH (only --from-step resumes a build without it; see --help)")
    console = make_console()
    t0 = time.perf_counter()
    with BuildProgress(console) as progress:
        result = run_build(model_path, config, progress=progress, show_warnings=False)
    for message in result.warnings:
        console.print(f"[bold yellow]warning[/bold yellow]: {message}")
    resumed = f", resumed from {result.resumed_from}" if result.resumed_from else ""
    console.print(
        f"[bold]built[/bold] {len(result.layers)} layers ({config.backend} backend) into {result.output_dir} "
        f"in {time.perf_counter() - t0:.2f} s ({len(result.steps)} steps{resumed})"
    )
    if result.estimate is not None:
        e = result.estimate
        util = ", ".join(f"{k} {e['utilisation_percent'][k]:.1f}%" for k in ("LUT", "BRAM_18K") if k in e["used"])
        console.print(
            f"  estimated {result.fps:,.0f} FPS on {e['board']} (bottleneck {e['bottleneck']}, "
            f"{e['max_cycles']} cycles at {e['clock_ns']:g} ns); {util}"
        )
        for line in e.get("software_report", []):
            console.print(f"  software: {line}")
    if result.fifo_depths:
        depths = ", ".join(f"{k} {v}" for k, v in result.fifo_depths.items())
        console.print(f"  FIFOs ({config.fifo_sizing}): {depths}")
    elif "fifo" in result.steps:
        console.print(f"  FIFOs ({config.fifo_sizing}): none needed")
    if result.verification is not None:
        v = result.verification
        acc = f", accuracy {v['accuracy']:.2%}" if "accuracy" in v else ""
        rtl = v.get("simulator") == "verilator"
        cycles = f", {v['cycles_per_frame']:,} cycles per frame" if rtl else ""
        console.print(
            f"  {'rtlsim (Verilator)' if rtl else 'cppsim'}: {v['images']} images bit-exact with execute{acc}{cycles} "
            f"(compile {v['compile_seconds']:.1f} s, simulation {v['simulation_seconds']:.1f} s)"
        )
    synth_json = result.output_dir / "report" / "synth.json"
    if "synth" in result.steps and synth_json.exists():
        import json

        total = json.loads(synth_json.read_text())["total"]
        console.print(
            f"  Yosys: {total['lut']:,} LUT, {total['ff']:,} FF, {total['bram_18k']} BRAM_18K, {total['dsp']} DSP "
            f"(report/synth.md)"
        )
    if (result.output_dir / "report" / "summary.md").exists():
        console.print(f"  report: {result.output_dir / 'report' / 'summary.md'} (and summary.html)")


@main.command()
def boards() -> None:
    """List the supported boards with their parts and resources."""
    from rich.table import Table

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
    make_console().print(table)


def _register_commands() -> None:
    """Commands defined in their own modules."""
    from qnncc.cli.demo import demo_command
    from qnncc.cli.quantize import quantize_command
    from qnncc.cli.sweep import sweep_command
    from qnncc.cli.synth import synth_command
    from qnncc.cli.verify import verify_command

    main.add_command(quantize_command, "quantize")
    main.add_command(sweep_command, "sweep")
    main.add_command(synth_command, "synth")
    main.add_command(demo_command, "demo")
    main.add_command(verify_command, "verify")


_register_commands()

if __name__ == "__main__":
    main()
