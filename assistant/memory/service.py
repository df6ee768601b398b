"""`Memory`: the only way into the conversation store. Every call is one short transaction.

Every method that touches a person's data takes their `user_id` and filters on it, so one user can never
read, change or delete another's conversations, facts, timers or lists. The methods live in two halves:
`conversations.py` (users, conversations, turns, facts) and `skill_state.py` (timers, reminders, events,
lists).
"""

from __future__ import annotations

from assistant.memory.checks import (
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    TIMER_KINDS,
    MemoryInputError,
    NotFoundError,
)
from assistant.memory.conversations import Conversations, TurnContext
from assistant.memory.db import Database
from assistant.memory.notices import Notices
from assistant.memory.panel import Panel
from assistant.memory.recall import TurnRecall
from assistant.memory.skill_state import SkillState

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "TIMER_KINDS",
    "Memory",
    "MemoryInputError",
    "NotFoundError",
    "TurnContext",
]


class Memory(Conversations, SkillState, TurnRecall, Notices, Panel):
    """Conversations, turns, skill state, recall of earlier turns and notices for the web page, per user."""

    def __init__(self, database: Database) -> None:
        self.db = database
