"""`assistant config show`: the effective settings and where each value came from."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from assistant.cli_state import CLIState
from assistant.config import ConfigError, config_file, explain
from assistant.console import console, fail

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every setting, its value and its source (default, toml, env, cli)."""
    state = ctx.find_root().obj
    overrides = state.overrides if isinstance(state, CLIState) else {}
    try:
        rows = explain(overrides)
        path = config_file()
    except ConfigError as exc:
        fail(str(exc))
        return
    if as_json:
        print(
            json.dumps({r.key: {"value": r.value, "source": r.source} for r in rows}, default=str, indent=2)
        )
        return
    table = Table(title=f"Effective settings (config file: {path or 'none'})")
    table.add_column("setting", style="cyan")
    table.add_column("value", overflow="fold")
    table.add_column("source", style="magenta")
    for row in rows:
        table.add_row(row.key, "" if row.value is None else str(row.value), row.source)
    console.print(table)
