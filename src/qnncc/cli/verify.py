"""``qnncc verify BUILD_DIR --data D``: simulate a finished build's partition against ``execute``.

Registered on the main command group by ``main.add_command(verify_command, "verify")``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qnncc.cli.console import console as make_console
from qnncc.cli.errors import EXIT_VERIFY_FAILED, guard
from qnncc.core.errors import QnnccError

__all__ = ["verify_command"]


@click.command("verify")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--data",
    "data",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="NPZ with 'images' (model input values) and optionally 'labels'.",
)
@click.option("--count", type=int, default=None, help="Simulate only the first N images.")
@click.option(
    "--scheduler",
    default=None,
    help="Dask scheduler tcp://HOST:PORT for the C++ compile/simulation jobs [default: $QNNCC_SCHEDULER, else local].",
)
@guard
def verify_command(build_dir: Path, data: Path, count: int | None, scheduler: str | None) -> None:
    """C++-simulate a finished build's partition and compare it with qnncc's execution.

    Compiles the partition of BUILD_DIR's last intermediate model with g++,
    runs the images, and checks every output word against execute (bit-exact)
    and, with labels, the accuracy (a build of --backend rtl is simulated
    with Verilator instead). Writes BUILD_DIR/verification/ and refreshes the
    report. Exit status 1 if any image differs.
    """
    from qnncc.flow.build import verify_build

    if count is not None and count < 1:
        raise QnnccError(f"--count must be at least 1, got {count}")
    figures = verify_build(build_dir, data, count, scheduler)
    acc = f", accuracy {figures['accuracy']:.2%}" if "accuracy" in figures else ""
    timing = f"(compile {figures['compile_seconds']:.1f} s, simulation {figures['simulation_seconds']:.1f} s)"
    sim = "rtlsim (Verilator)" if figures.get("simulator") == "verilator" else "cppsim"
    if figures["bit_exact"] and figures.get("backpressure_bit_exact", True):
        make_console().print(f"{sim}: {figures['images']} images bit-exact with execute{acc} {timing}")
        return
    click.echo(
        f"qnncc: verification failed: {figures['mismatching_images']} of {figures['images']} images differ "
        f"from execute{acc} (see {build_dir / 'verification'})",
        err=True,
    )
    sys.exit(EXIT_VERIFY_FAILED)
