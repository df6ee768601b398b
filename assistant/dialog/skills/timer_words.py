"""How timers and alarms are said: in a list ("pasta timer with 7 minutes left"), when they go off, and
as data for the UI. The timers skill and the scheduler both say them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assistant.dialog.parsing.durations import say_duration
from assistant.dialog.parsing.when import say_time, say_when
from assistant.memory.records import TimerRecord
from assistant.memory.recurrence import say_repeat


def timer_data(record: TimerRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "label": record.label,
        "due_at": record.due_at.isoformat(),
        "duration_s": record.duration_s,
        "status": record.status,
        "repeat": record.repeat,
    }


def describe(record: TimerRecord, now: datetime) -> str:
    """'pasta timer with 7 minutes left' / 'alarm at 7 AM tomorrow'."""
    if record.kind == "timer":
        left = max(0.0, (record.due_at - now).total_seconds())
        name = (
            f"{record.label} timer"
            if record.label
            else (f"timer for {say_duration(record.duration_s)}" if record.duration_s else "timer")
        )
        return f"{name} with {say_duration(left)} left"
    label = f" for {record.label}" if record.label else ""
    local = record.due_at.astimezone(now.tzinfo)
    if record.repeat:
        return f"alarm{label} at {say_time(local)} {say_repeat(record.repeat)} (next {say_when(local, now)})"
    return f"alarm{label} at {say_when(local, now)}"


def alert_text(record: TimerRecord, now: datetime) -> str:
    """What to say when a timer or alarm goes off."""
    if record.kind == "timer":
        if record.label:
            return f"Your {record.label} timer is done."
        if record.duration_s:
            return f"Your timer for {say_duration(record.duration_s)} is done."
        return "Your timer is done."
    label = f" for {record.label}" if record.label else ""
    return f"It's {say_time(record.due_at.astimezone(now.tzinfo))}: your alarm{label} is going off."
