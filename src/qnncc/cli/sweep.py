"""``qnncc sweep``: run a design-space sweep description as jobs; print progress and the table.

Registered on the main command group by ``main.add_command(sweep_command, "sweep")``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from qnncc.cli.errors import guard
from qnncc.core.errors import QnnccError

__all__ = ["sweep_command"]


@click.command("sweep")
@click.argument("spec_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sweep"),
    show_default=True,
    help="Folder of sweep.csv, sweep.parquet (with pyarrow), pareto.png, jobs.json and the result cache.",
)
@click.option(
    "--scheduler",
    default=None,
    help="Dask scheduler tcp://HOST:PORT that runs the points [default: $QNNCC_SCHEDULER, else a local pool].",
)
@click.option("--workers", type=int, default=None, help="Local pool size [default: the cores].")
@click.option("--input-scale", default=None, help="Inputs were x*SCALE (e.g. 1/255); overrides the description's.")
@click.option("--fresh", is_flag=True, help="Forget cached points and run every point again.")
@click.option("--no-plot", is_flag=True, help="Skip pareto.png.")
@click.option("--quiet", "-q", is_flag=True, help="No line per point.")
@guard
def sweep_command(
    spec_path: Path,
    output: Path,
    scheduler: str | None,
    workers: int | None,
    input_scale: str | None,
    fresh: bool,
    no_plot: bool,
    quiet: bool,
) -> None:
    """Estimate every point of the sweep description SPEC_PATH (YAML/JSON) as a job.

    The description names models, boards, clocks_ns, target_fps (or folding
    files) and quant_formats (with calib); their product is the set of
    points (docs/sweep.md); with build: true the designs that fit are also
    built (and verified with verify_data) into OUTPUT/points/. Points run on a local process pool or the Dask
    cluster of --scheduler; results are cached in OUTPUT/.cache, so running
    the same command again (after an interruption, or with more points) only
    runs the missing points. Exit status 1 if a point's job failed.
    """
    from qnncc.flow.sweep import load_sweep_spec, run_sweep
    from qnncc.jobs import JobEvent, get_executor

    if workers is not None and workers < 1:
        raise QnnccError(f"--workers must be at least 1, got {workers}")
    spec, base = load_sweep_spec(spec_path)
    if input_scale is not None:
        spec = spec.model_copy(update={"input_scale": input_scale})
    if fresh and (output / ".cache").exists():
        shutil.rmtree(output / ".cache")
    console = Console(highlight=False, soft_wrap=False, width=160)

    def on_event(event: JobEvent) -> None:
        if event.kind in ("failed", "retry") or not (quiet or event.kind == "cached"):
            console.print(event.line(), markup=False)

    t0 = time.perf_counter()
    with get_executor(scheduler, workers) as executor:
        console.print(f"sweep {spec_path.name}: running on {executor.describe()}")
        result = run_sweep(spec, output, executor=executor, on_event=on_event, base=base, plot=not no_plot)
    seconds = time.perf_counter() - t0
    table = Table(title=f"{len(result.rows)} points", title_justify="left")
    for col in ("model", "fmt", "board", "clock", "target", "FPS", "LUT", "BRAM_18K", "DSP", "fits"):
        table.add_column(col, justify="left" if col in ("model", "fmt", "board") else "right")
    for r in result.rows:
        target = r["target_fps"] if r["folding"] is None else r["folding"]
        cells = (
            [r["fps"], r["LUT"], r["BRAM_18K"], r["DSP"], r["fits"]]
            if r["status"] in ("ok", "short")
            else [r["status"]]
        )
        cells = [f"{c:,.0f}" if isinstance(c, float) else str(c) for c in cells] + [""] * (5 - len(cells))
        table.add_row(r["model"], r["quant_format"] or "", r["board"], str(r["clock_ns"] or ""), str(target), *cells)
    console.print(table)
    errors = [r for r in result.rows if r["status"] in ("error", "short")]
    failed = [r for r in result.rows if r["status"] == "failed"]
    console.print(
        f"[bold]swept[/bold] {len(result.rows)} points in {seconds:.1f} s on {result.executor}: "
        f"{result.cached} from the cache, {result.retried} retried, {len(errors)} infeasible, {len(failed)} failed"
    )
    for r in errors + failed:
        console.print(f"  {r['status']}: {r['model']} {r['board']} {r['target_fps'] or r['folding']}: {r['error']}")
    console.print("  " + ", ".join(f"{k}: {v}" for k, v in result.files.items()))
    if failed:
        sys.exit(1)
