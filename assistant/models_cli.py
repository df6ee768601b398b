"""`assistant models ...`: prepare the offline defaults once; convert between formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


@app.command("list")
def list_models() -> None:
    """The offline models: what each is for, its PyPI package, and whether it is installed here."""
    from rich.table import Table

    from assistant.console import console
    from assistant.model_sources import SOURCES
    from nlu.packages import ModelNotAvailableError

    table = Table(title="Offline models (assistant/model_sources.py)")
    for column in ("stage", "model", "package", "here"):
        table.add_column(column)
    for item in SOURCES.values():
        try:
            here = f"[green]{item.folder()}[/]"
        except ModelNotAvailableError as exc:
            here = f"[red]{exc}[/]"
        table.add_row(item.stage, item.model, item.pip + (" (--no-deps)" if item.no_deps else ""), here)
    console.print(table)


@app.command("export-whisper")
def export_whisper_command(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="tiny.en (offline default), base (offline) or a CTranslate2 Whisper folder.")
    ] = "tiny.en",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Checkpoint .pt to write.")] = None,
) -> None:
    """Rebuild an openai-whisper checkpoint from CTranslate2 weights, so the `whisper` backend runs offline."""
    from assistant.cli_state import settings_from
    from assistant.console import console, fail, status
    from assistant.offline import ModelNotAvailableError
    from assistant.speech.asr_models import BASE_MODEL, DEFAULT_MODEL, tiny_en_dir, whisper_base_dir
    from assistant.speech.whisper_export import WhisperExportError, export_whisper

    settings = settings_from(ctx)
    try:
        if model == DEFAULT_MODEL:
            source = tiny_en_dir()
        elif model == BASE_MODEL:
            source = whisper_base_dir(settings.cache_dir)
        else:
            source = Path(model).expanduser()
        target = (
            output
            or settings.cache_dir
            / "models"
            / "openai-whisper"
            / f"{source.name if model not in (DEFAULT_MODEL, BASE_MODEL) else model}.pt"
        )
        with status(f"Converting {source} …"):
            path = export_whisper(source, target)
    except (ModelNotAvailableError, WhisperExportError, OSError) as exc:
        fail(str(exc))
        return
    console.print(
        f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB). Use it with "
        f"`--set asr.backend=whisper --set asr.model={path}`."
    )
