"""`assistant db upgrade|downgrade|current`."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli_state import settings_from
from assistant.console import console, fail

app = typer.Typer(no_args_is_help=True)


def _url(ctx: typer.Context) -> str:
    return settings_from(ctx).database_url


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create the database or migrate it up (to head by default)."""
    from assistant.memory import db

    url = _url(ctx)
    try:
        db.upgrade(url, revision)
        console.print(f"[green]Database at revision {db.current_revision(url)}[/] ({url})")
    except db.DatabaseError as exc:
        fail(str(exc))


@app.command("downgrade")
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision: -1 for one step, base for empty.")] = "-1",
) -> None:
    """Migrate the database down."""
    from assistant.memory import db

    url = _url(ctx)
    try:
        db.downgrade(url, revision)
        console.print(f"Database at revision {db.current_revision(url) or 'base (empty)'} ({url})")
    except db.DatabaseError as exc:
        fail(str(exc))


@app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the database's revision and the newest one the code knows."""
    from assistant.memory import db

    url = _url(ctx)
    try:
        rev = db.current_revision(url)
    except db.DatabaseError as exc:
        fail(str(exc))
        return
    head = db.head_revision()
    state = "[green]up to date[/]" if rev == head else "[yellow]needs `assistant db upgrade`[/]"
    console.print(f"{url}\ncurrent: {rev or 'none (empty database)'}\nhead:    {head}\n{state}")
