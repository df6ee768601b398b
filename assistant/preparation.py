"""One-time preparation of the offline defaults, run by set-up and safe to re-run.

Each area registers a step (a function Settings -> message); steps skip work already done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from assistant.config import Settings

PrepareStep = Callable[[Settings], str]


def steps() -> list[tuple[str, PrepareStep]]:
    """The preparation steps, in order. Imports are local so each area can fail on its own."""
    from assistant.dialog.generators.smollm2 import prepare_smollm2
    from assistant.memory.db import prepare_database
    from assistant.nlu_models import prepare_default_model
    from assistant.speech.asr_models import prepare_whisper_base

    found: list[tuple[str, PrepareStep]] = [
        ("database", prepare_database),
        ("whisper base", prepare_whisper_base),
        ("nlu model", prepare_default_model),
        ("smollm2-135m generator", prepare_smollm2),
    ]
    return found


def prepare_all(settings: Settings) -> Iterator[str]:
    for name, step in steps():
        try:
            yield f"[green]✓[/] {name}: {step(settings)}"
        except Exception as exc:  # report and go on: one missing model must not block the others
            yield f"[red]✗[/] {name}: {exc}"
