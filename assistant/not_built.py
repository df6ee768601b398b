"""Placeholder for commands whose issue has not landed yet: says so plainly and exits non-zero."""

from __future__ import annotations

from assistant.console import fail


def not_built(command: str, issue: int) -> None:
    fail(f"`assistant {command}` is not built yet (tracked in issue {issue}).", code=2)
