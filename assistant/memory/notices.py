"""Notices: alerts waiting for the user's web page (an alarm went off, a reminder is due).

The scheduler that fires an alert may run in any of the web app's processes (`web.workers`) or replicas,
and the user's page may be served by another, so what waits for the page is a row, not an entry in one
process's memory. A page takes its user's waiting notices at its next poll (each is shown once, on
whichever of the user's pages polls first, as an Echo rings once). What waits is bounded: the newest
`MAX_WAITING` per user, and taken ones are deleted after `KEEP_TAKEN`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from assistant.memory.checks import MAX_TEXT_CHARS, check_text
from assistant.memory.db import Database
from assistant.memory.models import Notice, utcnow

MAX_WAITING = 50  # per user: older waiting notices are dropped first
KEEP_TAKEN = timedelta(hours=1)  # taken notices are deleted after this (they are in the log and the turns)


class Notices:
    db: Database

    def notify(self, user_id: int, text: str) -> None:
        """Leave `text` for the user's page (called by the scheduler's delivery, in any process)."""
        text = check_text(str(text), "A notice", MAX_TEXT_CHARS)
        with self.db.write() as session:
            session.add(Notice(user_id=int(user_id), text=text, delivered=False))
            session.flush()
            waiting = select(Notice.id).where(Notice.user_id == user_id, Notice.delivered.is_(False))
            keep = waiting.order_by(Notice.id.desc()).limit(MAX_WAITING)
            session.execute(
                delete(Notice).where(
                    Notice.user_id == user_id,
                    Notice.delivered.is_(False),
                    Notice.id.not_in(keep.scalar_subquery()),
                )
            )

    def has_notices(self, user_id: int | None) -> bool:
        """Anything waiting for this user (one indexed read: what a page's poll costs when nothing is)."""
        if user_id is None:
            return False
        with self.db.read() as session:
            found = session.scalar(
                select(Notice.id).where(Notice.user_id == user_id, Notice.delivered.is_(False)).limit(1)
            )
        return found is not None

    def take_notices(self, user_id: int | None) -> list[tuple[datetime, str]]:
        """The user's waiting notices, oldest first, marked as taken (so no other page shows them)."""
        if not self.has_notices(user_id):
            return []
        with self.db.write() as session:
            rows = session.execute(
                select(Notice.id, Notice.created_at, Notice.text)
                .where(Notice.user_id == user_id, Notice.delivered.is_(False))
                .order_by(Notice.id)
            ).all()
            if rows:
                session.execute(
                    update(Notice).where(Notice.id.in_([r.id for r in rows])).values(delivered=True)
                )
            session.execute(
                delete(Notice).where(Notice.delivered.is_(True), Notice.created_at < utcnow() - KEEP_TAKEN)
            )
        return [(row.created_at, row.text) for row in rows]
