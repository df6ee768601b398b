"""`assistant chat` (issue 5)."""

from __future__ import annotations

from assistant.not_built import not_built


def chat() -> None:
    not_built("chat", 5)
