"""`assistant models ...`: prepare the offline defaults once; convert between formats."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("prepare")
def prepare(ctx: typer.Context) -> None:
    """Prepare the offline defaults (train/convert/assemble into the cache) so the first start is fast."""
    from assistant.cli_state import settings_from
    from assistant.console import console
    from assistant.preparation import prepare_all

    settings = settings_from(ctx)
    for line in prepare_all(settings):
        console.print(line)
