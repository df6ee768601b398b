"""Rich console output and progress bars shared by the CLI commands (the stderr console and the progress
bar come from the NLU library, nlu.progress, so training shows the same bar)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console

from nlu.progress import err_console, progress_bar

__all__ = ["console", "err_console", "fail", "progress_bar", "status", "track"]

T = TypeVar("T")

console = Console()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    with progress_bar(transient=True) as progress:
        yield from progress.track(items, total=total, description=description)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner for steps of unknown length (model loading)."""
    with err_console.status(message):
        yield


def fail(message: str, code: int = 1) -> None:
    """Print a clear error (no traceback) and exit."""
    import typer

    err_console.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)
