"""Console helpers shared by the commands: the rich console and the layer table view."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["console", "layer_table_view"]


def console() -> Console:
    """The console every command prints to (160 columns, no highlighting)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=160)


def layer_table_view(model: ModelWrapper, title: str) -> Table:
    """A rich table of ``model``'s layers: node, op, input/weight/output shapes and datatypes."""
    from rich.table import Table

    from qnncc.flow.summary import layer_table

    table = Table(title=title, title_justify="left")
    for col in ("node", "op", "inputs", "weights", "outputs"):
        table.add_column(col, overflow="fold")
    for row in layer_table(model):
        table.add_row(row.name, row.op_type, row.inputs, row.weights, row.outputs)
    return table
