"""Who is on the other end of a browser tab, and the inbox of alarms waiting to be shown to them.

With sign-in the account's name is the user. Without it, on localhost every tab acts for the owner
(`settings.owner`, see `assistant.accounts.doors.web_owner`), the same user as `chat`, `talk` and the API,
so a reload keeps the history, lists and facts. An exposed server without sign-in (or web.guest_tabs) makes
every page load its own guest user (named from Gradio's session hash), so two tabs never see each other's
conversations. Each page load starts its own conversation either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GUEST_PREFIX = "guest-"


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
    page_signals: list[str] = field(default_factory=list)  # not yet sent to the page (`ui.voice`: stop, wake)
    barged: bool = False  # barge-in heard: the request after the wake word is collected, busy or not
    heard_replying: bool = False  # the end-pointer heard the microphone while a reply was made or spoken
    stop_check: Any = None  # the transcript (a `HeardAhead`) of what was said while replying: "stop"?
    tick_s: float = 0.25  # how often the page sends its microphone audio now (faster while replying)


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
    """Alarms fired by a scheduler, held per user until one of that user's pages polls for them. They wait
    in the database (`assistant.memory.notices`), not in this process: with several web processes
    (`web.workers`) or replicas, the one that fired an alarm is not always the one serving the page."""

    def __init__(self, memory: Any) -> None:
        self.memory = memory

    def push(self, user_id: int, message: str) -> None:
        self.memory.notify(user_id, message)

    def pop(self, user_id: int | None) -> list[tuple[datetime, str]]:
        return self.memory.take_notices(user_id)
