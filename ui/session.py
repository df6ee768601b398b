"""Who is on the other end of a browser tab, and the inbox of alarms waiting to be shown to them.

With sign-in the account's name is the user. Without it, on localhost every tab acts for the owner
(`settings.owner`, see `assistant.accounts.doors.web_owner`), the same user as `chat`, `talk` and the API,
so a reload keeps the history, lists and facts. An exposed server without sign-in (or web.guest_tabs) makes
every page load its own guest user (named from Gradio's session hash), so two tabs never see each other's
conversations. Each page load starts its own conversation either way.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GUEST_PREFIX = "guest-"
INBOX_LIMIT = 50  # per user; older undelivered alarms are dropped first


@dataclass
class WebSession:
    """Mutable per-tab state kept in a `gr.State` (never shared between tabs)."""

    user_name: str
    user_id: int | None = None
    conversation_id: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # the chat shown in this tab
    fired: list[tuple[datetime, str]] = field(default_factory=list)  # alarms shown in this tab
    listening: Any = None  # the hands-free Endpointer, made on first use
    wake: Any = None  # the hands-free WakeGate, made on first use (stays None while the wake word is off)
    heard_s: float = 0.0  # seconds of microphone audio the gate has heard: its clock (stops while muted)
    pending_utterance: Any = None  # hands-free: a `Heard` utterance waiting for its turn
    busy: bool = False  # a turn is running: hands-free ignores the microphone meanwhile
    reply: Any = None  # barge-in: (the page's reply stream id, its turn's CancelToken), last spoken
    barge_signal: str | None = None  # barge-in: "stop <turn> <heard_s>" not yet sent to the page
    barged: bool = False  # barge-in heard: the request after the wake word is collected, busy or not


def user_name_for(request: Any, owner: str | None = None) -> str:
    """The signed-in name when auth is on, else the owner (if any), else a guest name unique to this page load."""
    username = getattr(request, "username", None) if request is not None else None
    if username:
        return str(username)
    if owner:
        return owner
    session_hash = getattr(request, "session_hash", None) if request is not None else None
    if not session_hash:
        # Direct API calls without a session: still one user per call, never a shared one.
        import secrets

        session_hash = secrets.token_hex(8)
    return f"{GUEST_PREFIX}{session_hash[:16]}"


def ensure_session(
    session: WebSession | None, request: Any, memory: Any, owner: str | None = None
) -> WebSession:
    """This tab's session, with its user created in the database (a session from another login is replaced).
    `owner`: who a tab without sign-in acts for; None = each page load is its own guest."""
    name = user_name_for(request, owner)
    if session is None or (not name.startswith(GUEST_PREFIX) and session.user_name != name):
        session = WebSession(user_name=name)
    if session.user_id is None or memory.get_user(session.user_id) is None:
        session.user_id = memory.user(session.user_name).id
        session.conversation_id = None
    return session


def ensure_conversation(session: WebSession, memory: Any) -> int:
    """The tab's conversation, started on its first turn (so empty page loads leave no rows)."""
    if session.conversation_id is not None and memory.get_conversation(
        session.user_id, session.conversation_id
    ):
        return session.conversation_id
    session.conversation_id = memory.start_conversation(session.user_id).id
    return session.conversation_id


class Inbox:
    """Alarms fired by the scheduler thread, held per user until that user's page polls for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[int, deque[tuple[datetime, str]]] = defaultdict(
            lambda: deque(maxlen=INBOX_LIMIT)
        )

    def push(self, user_id: int, message: str) -> None:
        with self._lock:
            self._messages[int(user_id)].append((datetime.now(UTC), str(message)))

    def pop(self, user_id: int | None) -> list[tuple[datetime, str]]:
        if user_id is None:
            return []
        with self._lock:
            queue = self._messages.pop(int(user_id), None)
        return list(queue) if queue else []
