"""Frozen records the Memory service returns: ORM rows never leave a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    user_id: int
    title: str | None
    created_at: datetime
    updated_at: datetime
    turn_count: int = 0


@dataclass(frozen=True)
class NewTurn:
    """What the pipeline knows about one finished turn; Memory.append_turn stores it."""

    user_text: str
    reply_text: str = ""
    input_kind: str = "text"  # "text" or "voice"
    asr_confidence: float | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    nlu_model: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    answered_by: str | None = None  # skill name or generator name
    timings_ms: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False  # the user cut the reply off (barge-in): reply_text is what was made by then


@dataclass(frozen=True)
class TurnRecord:
    id: int
    conversation_id: int
    user_id: int
    user_text: str
    reply_text: str
    input_kind: str
    asr_confidence: float | None
    intent: str | None
    intent_confidence: float | None
    nlu_model: str | None
    slots: dict[str, Any]
    answered_by: str | None
    timings_ms: dict[str, float]
    created_at: datetime
    interrupted: bool = False  # the user cut the spoken reply off (barge-in)


@dataclass(frozen=True)
class TimerRecord:
    id: int
    user_id: int
    kind: str  # "timer" or "alarm"
    label: str | None
    due_at: datetime
    duration_s: float | None
    status: str  # active, fired, cancelled
    created_at: datetime
    repeat: str | None = None  # a recurring alarm: "daily", "weekdays", "monday,thursday"...


@dataclass(frozen=True)
class ReminderRecord:
    id: int
    user_id: int
    text: str
    due_at: datetime | None
    status: str  # active, fired, done
    created_at: datetime


@dataclass(frozen=True)
class EventRecord:
    id: int
    user_id: int
    title: str
    starts_at: datetime
    ends_at: datetime | None
    location: str | None


@dataclass(frozen=True)
class ListItemRecord:
    id: int
    text: str
    done: bool


@dataclass(frozen=True)
class ListRecord:
    id: int
    user_id: int
    name: str
    items: tuple[ListItemRecord, ...]
