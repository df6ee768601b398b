"""The skills, one module per domain; importing this package registers them all in `skills`."""

from assistant.dialog.skill import skills
from assistant.dialog.skills import (  # noqa: F401  (registration side effects)
    arithmetic,
    calendar,
    conversation,
    datetime,
    facts,
    help,
    home,
    jokes,
    lists,
    reminders,
    services,
    timers,
    units,
)

__all__ = ["skills"]
