"""Progress display of ``qnncc build``: a live bar on a terminal, one line per finished step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["BuildProgress"]


class BuildProgress:
    """Build observer: a live progress bar on a terminal, one line per finished step everywhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> BuildProgress:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def step_started(self, name: str, index: int, total: int) -> None:
        """Show step ``index`` of ``total`` running."""
        self.index, self.total = index, total
        if self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task(name, total=total)
            self.progress.update(self.task, description=name, completed=index - 1)

    def step_finished(self, name: str, seconds: float) -> None:
        """Print the finished step with its wall time in seconds."""
        width = len(str(self.total))
        self.console.print(f"  [{self.index:>{width}}/{self.total}] {name:<14} {seconds:8.3f} s")
        if self.progress is not None:
            self.progress.update(self.task, completed=self.index)
