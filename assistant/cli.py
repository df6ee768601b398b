"""The `assistant` command. Each area owns its commands in its own module; this file only wires them.

Heavy libraries (torch, whisper, gradio) are imported inside commands so `--help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.cli_state import CLIState, merge, parse_set_option

app = typer.Typer(
    name="assistant",
    help="An offline voice assistant and NLU workbench.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy database URL.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Any setting as KEY=VALUE, e.g. --set asr.beam_size=5 (repeatable)."),
    ] = None,
) -> None:
    import os

    if config is not None:
        os.environ["ASSISTANT_CONFIG"] = str(config)
    overrides = merge({"device": device, "database_url": database_url}, parse_set_option(set_ or []))
    ctx.obj = CLIState(overrides=overrides)


def _wire() -> None:
    from importlib.metadata import entry_points

    from assistant import config_cli, models_cli
    from assistant.accounts.cli import app as users_app
    from assistant.bench.cli import app as bench_app
    from assistant.dialog.cli import chat
    from assistant.memory.cli import app as db_app
    from assistant.nlu_cli import app as nlu_app
    from assistant.speech.cli import say, talk, transcribe
    from assistant.wyoming.cli import wyoming

    for command in entry_points(group="assistant.commands"):  # `serve`, from ui/ (pyproject.toml)
        function = command.load()
        app.command(name=command.name, help=(function.__doc__ or "").strip().splitlines()[0])(function)
    app.command(help="Text chat in the terminal.")(chat)
    app.command(help="Hands-free voice loop on the microphone (or --input/--output files).")(talk)
    app.command(help="Transcribe audio files.")(transcribe)
    app.command(help="Speak text into a WAV file.")(say)
    app.command(help="Serve the assistant to Home Assistant over Wyoming (localhost:10700).")(wyoming)
    app.add_typer(nlu_app, name="nlu", help="Train, run and compare intent models.")
    app.add_typer(bench_app, name="bench", help="Benchmarks: print a table and write JSON.")
    app.add_typer(db_app, name="db", help="Database migrations.")
    app.add_typer(users_app, name="users", help="Accounts: sign-in names, passwords and API tokens.")
    app.add_typer(config_cli.app, name="config", help="Show the effective settings.")
    app.add_typer(models_cli.app, name="models", help="Prepare and convert the offline models.")


_wire()

if __name__ == "__main__":
    app()
