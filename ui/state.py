"""What the side panel shows of one user's skill state, read from the memory."""

from __future__ import annotations

from typing import Any

from assistant.memory import Memory


def user_state(memory: Memory, user_id: int) -> dict[str, Any]:
    """Lists, active timers and reminders, known facts (`Memory.panel`: one short read)."""
    return memory.panel(user_id)
