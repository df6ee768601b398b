"""Rich console output and progress bars shared by the CLI commands."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def progress_bar(transient: bool = False) -> Progress:
    """A progress bar on stderr, so JSON on stdout stays clean."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )


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
