"""`Memory`: the only way into the conversation store. Every call is one short transaction.

Every method that touches a person's data takes their `user_id` and filters on it, so one user can never
read, change or delete another's conversations, facts, timers or lists.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from assistant.memory.db import Database
from assistant.memory.models import (
    CalendarEvent,
    Conversation,
    ListItem,
    Reminder,
    Timer,
    Turn,
    User,
    UserFact,
    UserList,
    utcnow,
)
from assistant.memory.records import (
    ConversationRecord,
    EventRecord,
    ListItemRecord,
    ListRecord,
    NewTurn,
    ReminderRecord,
    TimerRecord,
    TurnRecord,
    UserRecord,
)
from assistant.memory.recurrence import next_occurrence, repeat_days, repeat_name

MAX_TEXT_CHARS = 1_100_000  # a turn's text: 1 MB of input is stored; beyond that it is refused
MAX_NAME_CHARS = 200
TIMER_KINDS = ("timer", "alarm")


class MemoryInputError(ValueError):
    """Bad input to the memory (too long, NUL, unknown row); the message is meant for the user."""


class NotFoundError(MemoryInputError):
    """The row does not exist, or belongs to someone else (we do not say which)."""


def _check_text(value: str, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise MemoryInputError(f"{what} must be text, not {type(value).__name__}.")
    if "\x00" in value:
        raise MemoryInputError(f"{what} contains a NUL character (U+0000), which cannot be stored.")
    if len(value) > limit:
        raise MemoryInputError(f"{what} is too long ({len(value):,} characters; the limit is {limit:,}).")
    return value


def _check_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise MemoryInputError(f"{what} must be a timezone-aware datetime.")
    return value


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Memory:
    """Conversations, turns and skill state, per user."""

    def __init__(self, database: Database) -> None:
        self.db = database

    # --- users --------------------------------------------------------------------------------------

    def user(self, name: str) -> UserRecord:
        """Get or create the user called `name` (names are unique)."""
        name = _check_text(name.strip(), "A user name", MAX_NAME_CHARS)
        if not name:
            raise MemoryInputError("A user name cannot be empty.")
        with self.db.write() as session:
            row = session.scalar(select(User).where(User.name == name))
            if row is None:
                row = User(name=name)
                session.add(row)
                session.flush()
            return UserRecord(row.id, row.name, row.created_at)

    def get_user(self, user_id: int) -> UserRecord | None:
        with self.db.read() as session:
            row = session.get(User, user_id)
            return UserRecord(row.id, row.name, row.created_at) if row else None

    def forget_user(self, user_id: int) -> bool:
        """Erase the user and every row of theirs (conversations, turns, facts, timers, lists...)."""
        with self.db.write() as session:
            # Explicit deletes as well as the FK cascade, so a database with foreign keys off is also clean.
            list_ids = select(UserList.id).where(UserList.user_id == user_id)
            session.execute(delete(ListItem).where(ListItem.list_id.in_(list_ids)))
            for model in (Turn, Conversation, Timer, Reminder, CalendarEvent, UserList, UserFact):
                session.execute(delete(model).where(model.user_id == user_id))
            return session.execute(delete(User).where(User.id == user_id)).rowcount > 0

    # --- conversations ------------------------------------------------------------------------------

    def start_conversation(self, user_id: int, title: str | None = None) -> ConversationRecord:
        if title is not None:
            title = _check_text(title, "A title", MAX_NAME_CHARS)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFoundError(f"No user {user_id}.")
            row = Conversation(user_id=user_id, title=title)
            session.add(row)
            session.flush()
            return self._conversation_record(row, 0)

    def resume_conversation(self, user_id: int, conversation_id: int | None = None) -> ConversationRecord:
        """The given conversation (if it is the user's), else their latest, else a new one."""
        if conversation_id is not None:
            found = self.get_conversation(user_id, conversation_id)
            if found is None:
                raise NotFoundError(f"Conversation {conversation_id} not found for this user.")
            return found
        conversations = self.list_conversations(user_id, limit=1)
        return conversations[0] if conversations else self.start_conversation(user_id)

    def get_conversation(self, user_id: int, conversation_id: int) -> ConversationRecord | None:
        with self.db.read() as session:
            row = session.scalar(
                select(Conversation).where(
                    Conversation.id == conversation_id, Conversation.user_id == user_id
                )
            )
            if row is None:
                return None
            count = session.scalar(select(func.count(Turn.id)).where(Turn.conversation_id == row.id)) or 0
            return self._conversation_record(row, count)

    def list_conversations(self, user_id: int, limit: int = 50) -> list[ConversationRecord]:
        """The user's conversations, most recently active first."""
        counts = (
            select(Turn.conversation_id, func.count(Turn.id).label("n"))
            .where(Turn.user_id == user_id)
            .group_by(Turn.conversation_id)
            .subquery()
        )
        query = (
            select(Conversation, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == Conversation.id)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
        with self.db.read() as session:
            return [self._conversation_record(row, n) for row, n in session.execute(query)]

    def delete_conversation(self, user_id: int, conversation_id: int) -> bool:
        with self.db.write() as session:
            owned = select(Conversation.id).where(
                Conversation.id == conversation_id, Conversation.user_id == user_id
            )
            session.execute(delete(Turn).where(Turn.conversation_id.in_(owned)))
            result = session.execute(
                delete(Conversation).where(
                    Conversation.id == conversation_id, Conversation.user_id == user_id
                )
            )
            return result.rowcount > 0

    # --- turns --------------------------------------------------------------------------------------

    def append_turn(self, user_id: int, conversation_id: int, turn: NewTurn) -> TurnRecord:
        """Store a finished turn. Returns only after the transaction committed."""
        _check_text(turn.user_text, "The request text")
        _check_text(turn.reply_text, "The reply text")
        if turn.input_kind not in ("text", "voice"):
            raise MemoryInputError(f"input_kind must be 'text' or 'voice', not {turn.input_kind!r}.")
        with self.db.write() as session:
            owner = session.scalar(select(Conversation.user_id).where(Conversation.id == conversation_id))
            if owner != user_id:
                raise NotFoundError(f"Conversation {conversation_id} not found for this user.")
            now = utcnow()
            row = Turn(
                conversation_id=conversation_id,
                user_id=user_id,
                user_text=turn.user_text,
                reply_text=turn.reply_text,
                input_kind=turn.input_kind,
                asr_confidence=turn.asr_confidence,
                intent=turn.intent,
                intent_confidence=turn.intent_confidence,
                nlu_model=turn.nlu_model,
                slots=dict(turn.slots),
                answered_by=turn.answered_by,
                timings_ms={k: float(v) for k, v in turn.timings_ms.items()},
                created_at=now,
            )
            session.add(row)
            session.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now)
            )
            session.flush()
            return self._turn_record(row)

    def recent_turns(self, user_id: int, conversation_id: int, n: int = 10) -> list[TurnRecord]:
        """The last `n` turns of a conversation, oldest first (the generator's context)."""
        query = (
            select(Turn)
            .where(Turn.conversation_id == conversation_id, Turn.user_id == user_id)
            .order_by(Turn.id.desc())
            .limit(max(0, n))
        )
        with self.db.read() as session:
            return [self._turn_record(row) for row in reversed(session.scalars(query).all())]

    def search_turns(self, user_id: int, query: str, limit: int = 50) -> list[TurnRecord]:
        """Turns of this user whose request or reply contains `query` (case-insensitive), newest first."""
        query = _check_text(query, "The search text", 10_000).strip()
        if not query:
            return []
        pattern = f"%{_escape_like(query)}%"
        statement = (
            select(Turn)
            .where(
                Turn.user_id == user_id,
                or_(Turn.user_text.ilike(pattern, escape="\\"), Turn.reply_text.ilike(pattern, escape="\\")),
            )
            .order_by(Turn.id.desc())
            .limit(limit)
        )
        with self.db.read() as session:
            return [self._turn_record(row) for row in session.scalars(statement)]

    def count_turns(self, user_id: int | None = None, conversation_id: int | None = None) -> int:
        statement = select(func.count(Turn.id))
        if user_id is not None:
            statement = statement.where(Turn.user_id == user_id)
        if conversation_id is not None:
            statement = statement.where(Turn.conversation_id == conversation_id)
        with self.db.read() as session:
            return session.scalar(statement) or 0

    # --- facts --------------------------------------------------------------------------------------

    def set_fact(self, user_id: int, key: str, value: str) -> None:
        key = _check_text(key.strip().lower(), "A fact name", 100)
        value = _check_text(value, "A fact", 10_000)
        with self.db.write() as session:
            row = session.scalar(select(UserFact).where(UserFact.user_id == user_id, UserFact.key == key))
            if row is None:
                session.add(UserFact(user_id=user_id, key=key, value=value))
            else:
                row.value, row.updated_at = value, utcnow()

    def get_fact(self, user_id: int, key: str) -> str | None:
        with self.db.read() as session:
            return session.scalar(
                select(UserFact.value).where(UserFact.user_id == user_id, UserFact.key == key.strip().lower())
            )

    def facts(self, user_id: int) -> dict[str, str]:
        with self.db.read() as session:
            rows = session.execute(
                select(UserFact.key, UserFact.value).where(UserFact.user_id == user_id).order_by(UserFact.key)
            )
            return {key: value for key, value in rows}

    def delete_fact(self, user_id: int, key: str) -> bool:
        with self.db.write() as session:
            result = session.execute(
                delete(UserFact).where(UserFact.user_id == user_id, UserFact.key == key.strip().lower())
            )
            return result.rowcount > 0

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
        _check_aware(due_at, "due_at")
        if label is not None:
            label = _check_text(label, "A timer label", 500)
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
        alarm is returned as fired and stays active, moved to its next occurrence (local time in `tz`)."""
        return self._claim_due(Timer, now, user_id, tz or UTC)

    def _claim_due(
        self, model: type[Timer] | type[Reminder], now: datetime, user_id: int | None, tz: tzinfo = UTC
    ) -> list:
        """Flip active rows due by `now` to 'fired' in one write transaction (so two pollers never share)."""
        _check_aware(now, "now")
        with self.db.write() as session:
            statement = select(model).where(
                model.status == "active", model.due_at.is_not(None), model.due_at <= now
            )
            if user_id is not None:
                statement = statement.where(model.user_id == user_id)
            rows = session.scalars(statement.order_by(model.due_at, model.id)).all()
            fired = []
            for row in rows:
                if isinstance(row, Timer) and row.repeat:
                    fired.append(replace(self._timer_record(row), status="fired"))
                    row.due_at = next_occurrence(row.due_at, row.repeat, tz, now)
                    continue
                row.status = "fired"
                fired.append(self._timer_record(row) if isinstance(row, Timer) else row)
            session.flush()
            return fired

    # --- reminders ----------------------------------------------------------------------------------

    def add_reminder(self, user_id: int, text: str, due_at: datetime | None = None) -> ReminderRecord:
        text = _check_text(text, "A reminder", 10_000)
        if due_at is not None:
            _check_aware(due_at, "due_at")
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
        title = _check_text(title, "An event title", 500)
        _check_aware(starts_at, "starts_at")
        if ends_at is not None and _check_aware(ends_at, "ends_at") < starts_at:
            raise MemoryInputError("An event cannot end before it starts.")
        if location is not None:
            location = _check_text(location, "A location", 500)
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
            statement = statement.where(CalendarEvent.starts_at >= _check_aware(start, "start"))
        if end is not None:
            statement = statement.where(CalendarEvent.starts_at < _check_aware(end, "end"))
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
        name = _check_text(" ".join(name.split()).lower(), "A list name", MAX_NAME_CHARS)
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
        text = _check_text(" ".join(text.split()), "A list item", 1000)
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
    def _conversation_record(row: Conversation, turn_count: int) -> ConversationRecord:
        return ConversationRecord(row.id, row.user_id, row.title, row.created_at, row.updated_at, turn_count)

    @staticmethod
    def _turn_record(row: Turn) -> TurnRecord:
        slots: dict[str, Any] = dict(row.slots or {})
        return TurnRecord(
            id=row.id,
            conversation_id=row.conversation_id,
            user_id=row.user_id,
            user_text=row.user_text,
            reply_text=row.reply_text,
            input_kind=row.input_kind,
            asr_confidence=row.asr_confidence,
            intent=row.intent,
            intent_confidence=row.intent_confidence,
            nlu_model=row.nlu_model,
            slots=slots,
            answered_by=row.answered_by,
            timings_ms=dict(row.timings_ms or {}),
            created_at=row.created_at,
        )

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
