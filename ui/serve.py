"""`assistant serve` (issue 6)."""

from __future__ import annotations

from assistant.not_built import not_built


def serve() -> None:
    not_built("serve", 6)
