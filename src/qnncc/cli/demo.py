"""``qnncc demo``: the main job on the embedded TFC-W1A1 model, checked.

Registered on the main command group by ``main.add_command(demo_command, "demo")``.
"""

from __future__ import annotations

import sys
import time

import click

from qnncc.cli.console import console as make_console
from qnncc.cli.console import layer_table_view
from qnncc.cli.errors import guard

__all__ = ["demo_command"]


@click.command("demo")
@guard
def demo_command() -> None:
    """Run the main job on the embedded TFC-W1A1 model and check it.

    Loads the packaged model, tidies and streamlines it with a timed
    pipeline (integer weights and thresholds, no float ops between layers),
    prints the layer table, and executes four embedded MNIST images: the
    streamlined model on the fast (onnxruntime) and reference (node-by-node)
    paths must agree with each other and with the original model.
    """
    import numpy as np

    from qnncc.core.pipeline import Pipeline
    from qnncc.data import demo_inputs, demo_model_path
    from qnncc.execution import execute
    from qnncc.ingest import load
    from qnncc.transforms import GiveReadableTensorNames, GiveUniqueNodeNames, Streamline, tidy_passes

    console = make_console()
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
    console.print(layer_table_view(model, "Layer table after streamlining"))
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
