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
@_guard
def demo() -> None:
    """Run the main job on the embedded TFC-W1A1 model and check it.

    Loads the packaged model, tidies it with a timed pipeline, prints the
    layer table, and executes four embedded MNIST images on the fast
    (onnxruntime) and reference (node-by-node) paths, which must agree.
    """
    from qnncc.data import demo_inputs, demo_model_path
    from qnncc.transforms import tidy_passes

    console = _console()
    t0 = time.perf_counter()
    model = load(demo_model_path())
    t_load = time.perf_counter() - t0
    pipeline = Pipeline([("tidy", tidy_passes())])
    model = pipeline.run(model)
    console.print(f"[bold]qnncc demo[/bold]: TFC-W1A1 (binarized MLP 784-64-64-64-10), {len(model.graph.node)} nodes")
    console.print(
        f"  load {t_load * 1e3:.1f} ms, " + ", ".join(f"{r.name} {r.seconds * 1e3:.1f} ms" for r in pipeline.records)
    )
    console.print(_layer_table_view(model, "Layer table after tidy"))
    images, expected = demo_inputs()
    name_in, name_out = model.graph_input_names()[0], model.graph_output_names()[0]
    results = {}
    for backend in ("fast", "reference"):
        t0 = time.perf_counter()
        out = execute(model, {name_in: images}, backend=backend)[name_out].reshape(-1)
        results[backend] = (out, time.perf_counter() - t0)
    fast, ref = results["fast"][0], results["reference"][0]
    console.print(f"  expected classes {expected.tolist()}")
    for backend, (out, secs) in results.items():
        console.print(f"  {backend:<9} predicted {out.tolist()} in {secs * 1e3:.1f} ms")
    ok = np.array_equal(fast, expected) and np.array_equal(fast, ref)
    console.print("[green]OK[/green]: both paths agree with the expected output" if ok else "[red]MISMATCH[/red]")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
