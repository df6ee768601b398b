"""Recurring alarms as stored: `timers.repeat` holds "daily", "weekdays", "weekends" or weekday names joined
by commas ("monday,thursday"); NULL is a one-off. An occurrence keeps its local wall-clock time in the
user's zone (7 AM stays 7 AM across a daylight-saving change)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NAMED = {"daily": frozenset(range(7)), "weekdays": frozenset(range(5)), "weekends": frozenset({5, 6})}


def repeat_name(days: Iterable[int]) -> str:
    """The stored form of a set of weekdays (Monday = 0)."""
    chosen = frozenset(days)
    if not chosen or not chosen <= frozenset(range(7)):
        raise ValueError(f"not a set of weekdays: {sorted(chosen)}")
    for name, members in NAMED.items():
        if chosen == members:
            return name
    return ",".join(DAY_NAMES[d] for d in sorted(chosen))


def repeat_days(name: str) -> frozenset[int]:
    """The weekdays of a stored repeat ("weekdays" -> {0..4}); ValueError for anything else."""
    key = name.strip().lower()
    if key in NAMED:
        return NAMED[key]
    days = frozenset(DAY_NAMES.index(part.strip()) for part in key.split(",") if part.strip() in DAY_NAMES)
    if not days or len(days) != len([p for p in key.split(",") if p.strip()]):
        raise ValueError(f"unknown repeat {name!r}")
    return days


def say_repeat(name: str) -> str:
    """'every day', 'every weekday', 'at weekends', 'every Monday and Thursday'."""
    key = name.strip().lower()
    if key == "daily":
        return "every day"
    if key == "weekdays":
        return "every weekday"
    if key == "weekends":
        return "every weekend"
    names = [DAY_NAMES[d].capitalize() for d in sorted(repeat_days(key))]
    return "every " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}")


def next_occurrence(previous: datetime, repeat: str, tz: tzinfo, after: datetime) -> datetime:
    """The first occurrence later than `after` of an alarm that went off at `previous` (its local time of day,
    on the repeat's weekdays)."""
    days = repeat_days(repeat)
    local = previous.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    day = max(local.date(), after.astimezone(tz).date())
    for _ in range(9):
        if day.weekday() in days:
            candidate = datetime.combine(day, clock, tz)
            if candidate > after and candidate > previous:
                return candidate
        day += timedelta(days=1)
    raise ValueError(f"no next occurrence for {repeat!r}")  # unreachable for a non-empty set of days
