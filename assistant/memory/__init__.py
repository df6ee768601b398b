"""Conversation memory: SQLAlchemy models, migrations and the `Memory` service (the only way in)."""

from __future__ import annotations

from assistant.config import Settings
from assistant.memory.db import Database, DatabaseError, open_database
from assistant.memory.records import NewTurn
from assistant.memory.service import Memory, MemoryInputError, NotFoundError, TurnContext

__all__ = [
    "Database",
    "DatabaseError",
    "Memory",
    "MemoryInputError",
    "NewTurn",
    "NotFoundError",
    "TurnContext",
    "open_memory",
]


def open_memory(settings: Settings) -> Memory:
    """Open (and migrate to head) the configured database."""
    return Memory(open_database(settings))
