"""What a user's page shows beside the chat (lists, active timers and reminders, facts), in one short read.

The web page asks for it after every turn and every second while a timer runs, so it is read with plain
column queries in one transaction, not as records built object by object (about a third of the cost)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assistant.memory.db import Database
from assistant.memory.models import ListItem, Reminder, Timer, UserFact, UserList


class Panel:
    db: Database

    def panel(self, user_id: int) -> dict[str, Any]:
        """{"lists": {name: [item, ...]}, "timers": [...], "reminders": [...], "facts": {key: value}}: the
        same as reading `lists`, `timers`, `reminders` and `facts` one by one."""
        with self.db.read() as session:
            lists: dict[str, list[str]] = {}
            rows = session.execute(
                select(UserList.name, ListItem.text)
                .outerjoin(ListItem, ListItem.list_id == UserList.id)
                .where(UserList.user_id == user_id)
                .order_by(UserList.name, ListItem.id)
            )
            for name, text in rows:
                items = lists.setdefault(name, [])
                if text is not None:
                    items.append(text)
            timers = [
                {"id": t.id, "kind": t.kind, "label": t.label, "due_at": t.due_at.isoformat()}
                for t in session.execute(
                    select(Timer.id, Timer.kind, Timer.label, Timer.due_at)
                    .where(Timer.user_id == user_id, Timer.status == "active")
                    .order_by(Timer.due_at, Timer.id)
                )
            ]
            reminders = [
                {"id": r.id, "text": r.text, "due_at": r.due_at.isoformat() if r.due_at else None}
                for r in session.execute(
                    select(Reminder.id, Reminder.text, Reminder.due_at)
                    .where(Reminder.user_id == user_id, Reminder.status == "active")
                    .order_by(Reminder.due_at.is_(None), Reminder.due_at, Reminder.id)
                )
            ]
            facts = {
                key: value
                for key, value in session.execute(
                    select(UserFact.key, UserFact.value)
                    .where(UserFact.user_id == user_id)
                    .order_by(UserFact.key)
                )
            }
        return {"lists": lists, "timers": timers, "reminders": reminders, "facts": facts}
