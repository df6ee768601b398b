"""Users, their conversations and turns, and the facts they told the assistant: what a turn reads and
writes. Every method is one short transaction and filters on the user's id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from assistant.memory.checks import MAX_NAME_CHARS, MemoryInputError, NotFoundError, check_text, escape_like
from assistant.memory.db import Database
from assistant.memory.models import (
    CalendarEvent,
    Conversation,
    ListItem,
    Notice,
    Reminder,
    Timer,
    Turn,
    TurnVector,
    User,
    UserFact,
    UserList,
    utcnow,
)
from assistant.memory.recall import pack_vector
from assistant.memory.records import ConversationRecord, NewTurn, TurnRecord, UserRecord


@dataclass(frozen=True)
class TurnContext:
    """What a turn needs from the memory before it answers, read in one transaction."""

    conversation: ConversationRecord | None  # None: the user has no conversation yet
    history: list[TurnRecord]  # the latest turns, oldest first
    facts: dict[str, str]


class Conversations:
    db: Database

    # --- users --------------------------------------------------------------------------------------

    def user(self, name: str) -> UserRecord:
        """Get or create the user called `name` (names are unique)."""
        name = check_text(name.strip(), "A user name", MAX_NAME_CHARS)
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
            models = (
                TurnVector,
                Turn,
                Conversation,
                Timer,
                Reminder,
                CalendarEvent,
                UserList,
                UserFact,
                Notice,
            )
            for model in models:
                session.execute(delete(model).where(model.user_id == user_id))
            return session.execute(delete(User).where(User.id == user_id)).rowcount > 0

    # --- conversations ------------------------------------------------------------------------------

    def start_conversation(self, user_id: int, title: str | None = None) -> ConversationRecord:
        if title is not None:
            title = check_text(title, "A title", MAX_NAME_CHARS)
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

    def turn_context(
        self, user_id: int, conversation_id: int | None, history: Callable[[int], int]
    ) -> TurnContext:
        """The conversation (the given one if it is the user's, else their latest), its latest
        `history(turn_count)` turns and the user's facts, in one read."""
        with self.db.read() as session:
            query = select(Conversation).where(Conversation.user_id == user_id)
            if conversation_id is not None:
                query = query.where(Conversation.id == conversation_id)
            else:
                query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(1)
            row = session.scalar(query)
            if row is None:
                if conversation_id is not None:
                    raise NotFoundError(f"Conversation {conversation_id} not found for this user.")
                return TurnContext(None, [], self._facts(session, user_id))
            count = session.scalar(select(func.count(Turn.id)).where(Turn.conversation_id == row.id)) or 0
            return TurnContext(
                self._conversation_record(row, count),
                self._latest_turns(session, user_id, row.id, history(count)),
                self._facts(session, user_id),
            )

    def delete_conversation(self, user_id: int, conversation_id: int) -> bool:
        with self.db.write() as session:
            owned = select(Conversation.id).where(
                Conversation.id == conversation_id, Conversation.user_id == user_id
            )
            turns = select(Turn.id).where(Turn.conversation_id.in_(owned))
            session.execute(delete(TurnVector).where(TurnVector.turn_id.in_(turns)))
            session.execute(delete(Turn).where(Turn.conversation_id.in_(owned)))
            result = session.execute(
                delete(Conversation).where(
                    Conversation.id == conversation_id, Conversation.user_id == user_id
                )
            )
            return result.rowcount > 0

    # --- turns --------------------------------------------------------------------------------------

    def append_turn(
        self,
        user_id: int,
        conversation_id: int,
        turn: NewTurn,
        vector: Any = None,
        backfill: Sequence[tuple[int, Any]] = (),
    ) -> TurnRecord:
        """Store a finished turn (and, given one, its request's sentence vector for recall, plus the
        vectors a recall made for this user's earlier turns: see assistant.memory.recall). Returns only
        after the transaction committed."""
        check_text(turn.user_text, "The request text")
        check_text(turn.reply_text, "The reply text")
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
                interrupted=turn.interrupted,
            )
            session.add(row)
            session.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now)
            )
            session.flush()
            if vector is not None:
                session.add(TurnVector(turn_id=row.id, user_id=user_id, vector=pack_vector(vector)))
            self._store_backfill(session, user_id, backfill)
            return self._turn_record(row)

    @staticmethod
    def _store_backfill(session: Any, user_id: int, backfill: Sequence[tuple[int, Any]]) -> None:
        """Vectors made for earlier turns of this user's that still have none (another process may have
        stored one meanwhile, or the turn may be gone: both are skipped)."""
        if not backfill:
            return
        ids = [turn_id for turn_id, _ in backfill]
        mine = set(session.scalars(select(Turn.id).where(Turn.id.in_(ids), Turn.user_id == user_id)))
        done = set(session.scalars(select(TurnVector.turn_id).where(TurnVector.turn_id.in_(ids))))
        for turn_id, vector in backfill:
            if turn_id in mine and turn_id not in done:
                session.add(TurnVector(turn_id=turn_id, user_id=user_id, vector=pack_vector(vector)))

    def mark_interrupted(self, user_id: int, turn_id: int) -> bool:
        """The user cut this turn's spoken reply off after it was stored (barge-in while the last sentences
        played); False when no such turn of this user exists."""
        with self.db.write() as session:
            result = session.execute(
                update(Turn).where(Turn.id == turn_id, Turn.user_id == user_id).values(interrupted=True)
            )
            return result.rowcount > 0

    def recent_turns(self, user_id: int, conversation_id: int, n: int = 10) -> list[TurnRecord]:
        """The last `n` turns of a conversation, oldest first (the generator's context)."""
        with self.db.read() as session:
            return self._latest_turns(session, user_id, conversation_id, n)

    @classmethod
    def _latest_turns(cls, session: Session, user_id: int, conversation_id: int, n: int) -> list[TurnRecord]:
        query = (
            select(Turn)
            .where(Turn.conversation_id == conversation_id, Turn.user_id == user_id)
            .order_by(Turn.id.desc())
            .limit(max(0, n))
        )
        return [cls._turn_record(row) for row in reversed(session.scalars(query).all())]

    def search_turns(self, user_id: int, query: str, limit: int = 50) -> list[TurnRecord]:
        """Turns of this user whose request or reply contains `query` (case-insensitive), newest first."""
        query = check_text(query, "The search text", 10_000).strip()
        if not query:
            return []
        pattern = f"%{escape_like(query)}%"
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
        key = check_text(key.strip().lower(), "A fact name", 100)
        value = check_text(value, "A fact", 10_000)
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
            return self._facts(session, user_id)

    @staticmethod
    def _facts(session: Session, user_id: int) -> dict[str, str]:
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
            interrupted=bool(row.interrupted),
        )
