"""``qnncc synth BUILD_DIR``: Yosys ``synth_xilinx`` resources per layer of a finished build.

Registered on the main command group by ``main.add_command(synth_command, "synth")``.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from qnncc.cli.errors import guard

__all__ = ["synth_command"]


@click.command("synth")
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scheduler",
    default=None,
    help="Dask scheduler tcp://HOST:PORT for the per-layer Yosys jobs [default: $QNNCC_SCHEDULER, else local].",
)
@guard
def synth_command(build_dir: Path, scheduler: str | None) -> None:
    """Synthesise every layer of BUILD_DIR's HW partition with Yosys (synth_xilinx -family xc7).

    Needs the RTL toolchain (pip install 'qnncc[rtl]'). The layers are the RTL
    backend's Verilog (whichever backend the build used), synthesised in
    parallel and cached by their sources' hash. Writes report/synth.json and
    report/synth.md (LUT, LUTRAM, FF, CARRY4, BRAM_18K, URAM, DSP per layer and
    total, next to FINN's LUT formula) and refreshes report/summary.md.
    """
    from qnncc.flow.rtl_steps import synth_build, synth_table

    report = synth_build(build_dir, scheduler)
    header, rows = synth_table(report)
    table = Table(title=f"Yosys {report['tool'].split(' ', 2)[-1]} ({report['seconds']:.1f} s)")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    Console().print(table)
    click.echo(f"report: {build_dir / 'report' / 'synth.json'}")
