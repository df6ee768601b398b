"""What the side panel shows of one user's skill state, read from the memory."""

from __future__ import annotations

from typing import Any

from assistant.memory import Memory


def user_state(memory: Memory, user_id: int) -> dict[str, Any]:
    """Lists, active timers and reminders, known facts."""
    return {
        "lists": {lst.name: [item.text for item in lst.items] for lst in memory.lists(user_id)},
        "timers": [
            {"id": t.id, "kind": t.kind, "label": t.label, "due_at": t.due_at.isoformat()}
            for t in memory.timers(user_id)
        ],
        "reminders": [
            {"id": r.id, "text": r.text, "due_at": r.due_at.isoformat() if r.due_at else None}
            for r in memory.reminders(user_id)
        ],
        "facts": memory.facts(user_id),
    }
