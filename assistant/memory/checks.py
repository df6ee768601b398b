"""What the memory accepts: text limits and the errors whose messages are meant for the user."""

from __future__ import annotations

from datetime import datetime

from assistant.text import MAX_MEMORY_TEXT_CHARS

MAX_TEXT_CHARS = MAX_MEMORY_TEXT_CHARS
MAX_NAME_CHARS = 200
TIMER_KINDS = ("timer", "alarm")


class MemoryInputError(ValueError):
    """Bad input to the memory (too long, NUL, unknown row); the message is meant for the user."""


class NotFoundError(MemoryInputError):
    """The row does not exist, or belongs to someone else (we do not say which)."""


def check_text(value: str, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise MemoryInputError(f"{what} must be text, not {type(value).__name__}.")
    if "\x00" in value:
        raise MemoryInputError(f"{what} contains a NUL character (U+0000), which cannot be stored.")
    if len(value) > limit:
        raise MemoryInputError(f"{what} is too long ({len(value):,} characters; the limit is {limit:,}).")
    return value


def check_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise MemoryInputError(f"{what} must be a timezone-aware datetime.")
    return value


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
