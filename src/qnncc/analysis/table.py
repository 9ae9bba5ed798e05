"""A small result table with CSV, Markdown and rich output."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Table"]


@dataclass
class Table:
    """Rows of values under named columns.

    Attributes:
        title: table title.
        columns: column names.
        rows: one list of values per row (numbers stay numbers).
        formats: format spec per column for display, e.g. ``{"Accuracy": ".2f"}``.
        notes: lines printed under the table (data split, definitions).
    """

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    formats: Mapping[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_row(self, *values: Any) -> None:
        """Append a row (as many values as columns)."""
        if len(values) != len(self.columns):
            raise ValueError(f"row has {len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))

    def column(self, name: str) -> list[Any]:
        """The values of one column."""
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def cell(self, row_key: Any, column: str) -> Any:
        """The value in ``column`` of the row whose first value is ``row_key``."""
        for r in self.rows:
            if r[0] == row_key:
                return r[self.columns.index(column)]
        raise KeyError(row_key)

    def _text(self, column: str, value: Any) -> str:
        if value is None:
            return ""
        spec = self.formats.get(column)
        if spec and isinstance(value, int | float):
            return format(value, spec)
        return str(value)

    def text_rows(self) -> list[list[str]]:
        """The rows formatted for display."""
        return [[self._text(c, v) for c, v in zip(self.columns, r, strict=True)] for r in self.rows]

    def to_csv(self) -> str:
        """CSV text with a header row (full precision numbers)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for r in self.rows:
            writer.writerow(["" if v is None else v for v in r])
        return buf.getvalue()

    def to_markdown(self, heading: str = "###") -> str:
        """Markdown: a heading, the table (numbers right-aligned) and the notes."""
        numeric = [all(isinstance(v, int | float) or v is None for v in self.column(c)) for c in self.columns]
        lines = [f"{heading} {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("| " + " | ".join("---:" if n else "---" for n in numeric) + " |")
        lines.extend("| " + " | ".join(r) + " |" for r in self.text_rows())
        if self.notes:
            lines.append("")
            lines.extend(f"- {n}" for n in self.notes)
        return "\n".join(lines) + "\n"

    def to_rich(self) -> Any:
        """A ``rich.table.Table`` for terminal output."""
        from rich.table import Table as RichTable

        table = RichTable(title=self.title, title_justify="left", caption="\n".join(self.notes) or None)
        for c in self.columns:
            numeric = all(isinstance(v, int | float) or v is None for v in self.column(c))
            table.add_column(c, justify="right" if numeric else "left")
        for r in self.text_rows():
            table.add_row(*r)
        return table


def concat_markdown(tables: Sequence[Table], heading: str = "###") -> str:
    """Markdown of several tables separated by blank lines."""
    return "\n".join(t.to_markdown(heading) for t in tables)
