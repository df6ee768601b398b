"""What skills keep per user: timers and alarms, reminders, calendar events and lists. Every method is
one short transaction and filters on the user's id."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from assistant.memory.checks import (
    MAX_NAME_CHARS,
    TIMER_KINDS,
    MemoryInputError,
    check_aware,
    check_text,
)
from assistant.memory.db import Database
from assistant.memory.models import (
    CalendarEvent,
    ListItem,
    Reminder,
    Timer,
    UserList,
)
from assistant.memory.records import EventRecord, ListItemRecord, ListRecord, ReminderRecord, TimerRecord
from assistant.memory.recurrence import next_occurrence, repeat_days, repeat_name

DEFAULT_LEASE_S = 60.0  # longer than any delivery takes; a dead replica's due rows wait at most this long
CLAIM_BATCH = 100  # rows leased per poll and kind: short transactions, the rest on the next poll


class SkillState:
    db: Database

    # --- timers and alarms --------------------------------------------------------------------------

    def add_timer(
        self,
        user_id: int,
        due_at: datetime,
        kind: str = "timer",
        label: str | None = None,
        duration_s: float | None = None,
        repeat: str | None = None,
    ) -> TimerRecord:
        """A timer or alarm; `repeat` ("daily", "weekdays", "monday,thursday") makes an alarm recurring."""
        if kind not in TIMER_KINDS:
            raise MemoryInputError(f"kind must be one of {TIMER_KINDS}, not {kind!r}.")
        check_aware(due_at, "due_at")
        if label is not None:
            label = check_text(label, "A timer label", 500)
        if repeat is not None:
            if kind != "alarm":
                raise MemoryInputError("Only alarms can repeat.")
            try:
                repeat = repeat_name(repeat_days(repeat))
            except ValueError as exc:
                raise MemoryInputError(str(exc)) from None
        with self.db.write() as session:
            row = Timer(
                user_id=user_id, kind=kind, label=label, due_at=due_at, duration_s=duration_s, repeat=repeat
            )
            session.add(row)
            session.flush()
            return self._timer_record(row)

    def timers(
        self, user_id: int, kind: str | None = None, status: str | None = "active"
    ) -> list[TimerRecord]:
        statement = select(Timer).where(Timer.user_id == user_id).order_by(Timer.due_at, Timer.id)
        if kind is not None:
            statement = statement.where(Timer.kind == kind)
        if status is not None:
            statement = statement.where(Timer.status == status)
        with self.db.read() as session:
            return [self._timer_record(row) for row in session.scalars(statement)]

    def cancel_timer(self, user_id: int, timer_id: int) -> bool:
        with self.db.write() as session:
            result = session.execute(
                update(Timer)
                .where(Timer.id == timer_id, Timer.user_id == user_id, Timer.status == "active")
                .values(status="cancelled")
            )
            return result.rowcount > 0

    def claim_due_timers(
        self, now: datetime, user_id: int | None = None, tz: tzinfo | None = None
    ) -> list[TimerRecord]:
        """Mark active timers due by `now` as fired and return them: each fires exactly once. A recurring
        alarm is returned as fired and stays active, moved to its next occurrence (local time in `tz`).
        One transaction (lease and settle at once): for a caller that delivers nothing that can be lost."""
        return self._claim_due(Timer, now, user_id, tz or UTC)

    def lease_due_timers(
        self, now: datetime, owner: str, lease_s: float = DEFAULT_LEASE_S, user_id: int | None = None
    ) -> list[TimerRecord]:
        """Lease active timers due by `now` that nobody holds a live lease on, for `owner` until
        `now + lease_s`; deliver them, then `settle_timers`. Two replicas never lease the same row; a row
        whose owner died (never settled) is leased again once its lease runs out."""
        rows = self._lease_due(Timer, now, owner, lease_s, user_id)
        return [replace(self._timer_record(row), status="fired") for row in rows]

    def settle_timers(self, ids: list[int], owner: str, now: datetime, tz: tzinfo | None = None) -> int:
        """Timers `owner` leased and delivered: fired (a recurring alarm moves to its next occurrence and
        stays active). Rows no longer leased by `owner` (cancelled, or re-leased after the lease ran out)
        are left alone. Returns how many were settled."""
        return self._settle(Timer, ids, owner, now, tz or UTC)

    def lease_due_reminders(
        self, now: datetime, owner: str, lease_s: float = DEFAULT_LEASE_S, user_id: int | None = None
    ) -> list[ReminderRecord]:
        """As `lease_due_timers`, for reminders with a time."""
        rows = self._lease_due(Reminder, now, owner, lease_s, user_id)
        return [replace(self._reminder_record(row), status="fired") for row in rows]

    def settle_reminders(self, ids: list[int], owner: str, now: datetime) -> int:
        """As `settle_timers`, for reminders."""
        return self._settle(Reminder, ids, owner, now, UTC)

    @staticmethod
    def _due(model: type[Timer] | type[Reminder], now: datetime, user_id: int | None) -> Select:
        """Active rows due by `now` with no live lease, oldest first, locked for this transaction. On
        PostgreSQL, rows another transaction holds are skipped (FOR UPDATE SKIP LOCKED); SQLite has no row
        locks but serialises write transactions (BEGIN IMMEDIATE), which is as strong."""
        statement = select(model).where(
            model.status == "active",
            model.due_at.is_not(None),
            model.due_at <= now,
            or_(model.claimed_until.is_(None), model.claimed_until <= now),
        )
        if user_id is not None:
            statement = statement.where(model.user_id == user_id)
        statement = statement.order_by(model.due_at, model.id).limit(CLAIM_BATCH)
        return statement.with_for_update(skip_locked=True)

    def _lease_due(
        self,
        model: type[Timer] | type[Reminder],
        now: datetime,
        owner: str,
        lease_s: float,
        user_id: int | None,
    ) -> list:
        check_aware(now, "now")
        if lease_s <= 0:
            raise MemoryInputError("A lease must last a positive number of seconds.")
        owner = check_text(owner, "A scheduler id", 100)
        with self.db.write() as session:
            rows = session.scalars(self._due(model, now, user_id)).all()
            until = now + timedelta(seconds=lease_s)
            for row in rows:
                row.claimed_by, row.claimed_until = owner, until
            session.flush()
            return list(rows)

    def _settle(
        self, model: type[Timer] | type[Reminder], ids: list[int], owner: str, now: datetime, tz: tzinfo
    ) -> int:
        if not ids:
            return 0
        check_aware(now, "now")
        with self.db.write() as session:
            rows = session.scalars(
                select(model)
                .where(model.id.in_(ids), model.claimed_by == owner, model.status == "active")
                .with_for_update()
            ).all()
            for row in rows:
                self._fire(row, now, tz)  # claimed_by stays: which replica fired it
            return len(rows)

    @staticmethod
    def _fire(row: Timer | Reminder, now: datetime, tz: tzinfo) -> None:
        row.claimed_until = None
        if isinstance(row, Timer) and row.repeat:
            row.due_at = next_occurrence(row.due_at, row.repeat, tz, now)
        else:
            row.status = "fired"

    def _claim_due(
        self, model: type[Timer] | type[Reminder], now: datetime, user_id: int | None, tz: tzinfo = UTC
    ) -> list:
        """Fire rows due by `now` in one write transaction (so two pollers never share one)."""
        check_aware(now, "now")
        with self.db.write() as session:
            rows = session.scalars(self._due(model, now, user_id)).all()
            fired = []
            for row in rows:
                if isinstance(row, Timer):
                    fired.append(replace(self._timer_record(row), status="fired"))
                else:
                    fired.append(row)
                self._fire(row, now, tz)
            session.flush()
            return fired

    # --- reminders ----------------------------------------------------------------------------------

    def add_reminder(self, user_id: int, text: str, due_at: datetime | None = None) -> ReminderRecord:
        text = check_text(text, "A reminder", 10_000)
        if due_at is not None:
            check_aware(due_at, "due_at")
        with self.db.write() as session:
            row = Reminder(user_id=user_id, text=text, due_at=due_at)
            session.add(row)
            session.flush()
            return self._reminder_record(row)

    def reminders(self, user_id: int, status: str | None = "active") -> list[ReminderRecord]:
        statement = select(Reminder).where(Reminder.user_id == user_id)
        if status is not None:
            statement = statement.where(Reminder.status == status)
        statement = statement.order_by(Reminder.due_at.is_(None), Reminder.due_at, Reminder.id)
        with self.db.read() as session:
            return [self._reminder_record(row) for row in session.scalars(statement)]

    def complete_reminder(self, user_id: int, reminder_id: int) -> bool:
        with self.db.write() as session:
            result = session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.user_id == user_id)
                .values(status="done")
            )
            return result.rowcount > 0

    def claim_due_reminders(self, now: datetime, user_id: int | None = None) -> list[ReminderRecord]:
        """Mark active reminders due by `now` as fired and return them: each fires exactly once."""
        return [self._reminder_record(row) for row in self._claim_due(Reminder, now, user_id)]

    # --- calendar -----------------------------------------------------------------------------------

    def add_event(
        self,
        user_id: int,
        title: str,
        starts_at: datetime,
        ends_at: datetime | None = None,
        location: str | None = None,
    ) -> EventRecord:
        title = check_text(title, "An event title", 500)
        check_aware(starts_at, "starts_at")
        if ends_at is not None and check_aware(ends_at, "ends_at") < starts_at:
            raise MemoryInputError("An event cannot end before it starts.")
        if location is not None:
            location = check_text(location, "A location", 500)
        with self.db.write() as session:
            row = CalendarEvent(
                user_id=user_id, title=title, starts_at=starts_at, ends_at=ends_at, location=location
            )
            session.add(row)
            session.flush()
            return self._event_record(row)

    def events(
        self, user_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> list[EventRecord]:
        """Events starting in [start, end), in order."""
        statement = select(CalendarEvent).where(CalendarEvent.user_id == user_id)
        if start is not None:
            statement = statement.where(CalendarEvent.starts_at >= check_aware(start, "start"))
        if end is not None:
            statement = statement.where(CalendarEvent.starts_at < check_aware(end, "end"))
        with self.db.read() as session:
            return [
                self._event_record(row)
                for row in session.scalars(statement.order_by(CalendarEvent.starts_at))
            ]

    def delete_event(self, user_id: int, event_id: int) -> bool:
        with self.db.write() as session:
            result = session.execute(
                delete(CalendarEvent).where(CalendarEvent.id == event_id, CalendarEvent.user_id == user_id)
            )
            return result.rowcount > 0

    # --- lists --------------------------------------------------------------------------------------

    @staticmethod
    def _list_name(name: str) -> str:
        name = check_text(" ".join(name.split()).lower(), "A list name", MAX_NAME_CHARS)
        if not name:
            raise MemoryInputError("A list name cannot be empty.")
        return name

    def create_list(self, user_id: int, name: str) -> ListRecord:
        """Create a list, or return the existing one of that name."""
        name = self._list_name(name)
        try:
            with self.db.write() as session:
                row = self._find_list(session, user_id, name)
                if row is None:
                    row = UserList(user_id=user_id, name=name)
                    session.add(row)
                    session.flush()
                return self._list_record(row)
        except IntegrityError:  # created concurrently by another thread: return that one
            found = self.get_list(user_id, name)
            assert found is not None
            return found

    def get_list(self, user_id: int, name: str) -> ListRecord | None:
        with self.db.read() as session:
            row = self._find_list(session, user_id, self._list_name(name))
            return self._list_record(row) if row else None

    def lists(self, user_id: int) -> list[ListRecord]:
        statement = (
            select(UserList)
            .where(UserList.user_id == user_id)
            .options(selectinload(UserList.items))
            .order_by(UserList.name)
        )
        with self.db.read() as session:
            return [self._list_record(row) for row in session.scalars(statement)]

    def add_list_item(self, user_id: int, list_name: str, text: str) -> ListRecord:
        """Add an item (creating the list if needed); an item already on the list is not added twice."""
        text = check_text(" ".join(text.split()), "A list item", 1000)
        if not text:
            raise MemoryInputError("A list item cannot be empty.")
        self.create_list(user_id, list_name)
        with self.db.write() as session:
            row = self._find_list(session, user_id, self._list_name(list_name))
            assert row is not None
            if not any(item.text.lower() == text.lower() for item in row.items):
                row.items.append(ListItem(text=text))
                session.flush()
            return self._list_record(row)

    def remove_list_item(self, user_id: int, list_name: str, text: str) -> bool:
        with self.db.write() as session:
            row = self._find_list(session, user_id, self._list_name(list_name))
            if row is None:
                return False
            wanted = " ".join(text.split()).lower()
            matches = [item for item in row.items if item.text.lower() == wanted]
            for item in matches:
                session.delete(item)
            return bool(matches)

    def delete_list(self, user_id: int, list_name: str) -> bool:
        with self.db.write() as session:
            row = self._find_list(session, user_id, self._list_name(list_name))
            if row is None:
                return False
            session.delete(row)
            return True

    @staticmethod
    def _find_list(session: Session, user_id: int, name: str) -> UserList | None:
        return session.scalar(
            select(UserList)
            .where(UserList.user_id == user_id, UserList.name == name)
            .options(selectinload(UserList.items))
        )

    # --- record builders ----------------------------------------------------------------------------

    @staticmethod
    def _timer_record(row: Timer) -> TimerRecord:
        return TimerRecord(
            row.id,
            row.user_id,
            row.kind,
            row.label,
            row.due_at,
            row.duration_s,
            row.status,
            row.created_at,
            row.repeat,
        )

    @staticmethod
    def _reminder_record(row: Reminder) -> ReminderRecord:
        return ReminderRecord(row.id, row.user_id, row.text, row.due_at, row.status, row.created_at)

    @staticmethod
    def _event_record(row: CalendarEvent) -> EventRecord:
        return EventRecord(row.id, row.user_id, row.title, row.starts_at, row.ends_at, row.location)

    @staticmethod
    def _list_record(row: UserList) -> ListRecord:
        items = tuple(ListItemRecord(item.id, item.text, item.done) for item in row.items)
        return ListRecord(row.id, row.user_id, row.name, items)
