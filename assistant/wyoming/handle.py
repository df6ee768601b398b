"""The whole assistant as Home Assistant's conversation agent: `transcript{text, context}` -> `handled{text}`.

Each request is one turn through `Pipeline.run` (NLU, skills or the generator, memory), as the user named
by `wyoming.user`. Home Assistant names its conversations with its own ids (ULIDs in
`context.conversation_id`); each is mapped to a conversation of ours, started on its first turn, so
follow-up questions, confirmations and the generator's history stay within it. The map is kept in memory
(bounded); after a restart Home Assistant's next turn starts a new conversation.

Home Assistant waits for `handled` or `not-handled` (an `error` event would leave it waiting), so a turn
that cannot be answered is a `not-handled` with the reason.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event
from wyoming.handle import Handled, NotHandled

from assistant.events import ErrorEvent, TextEvent, TurnDoneEvent, TurnRequest

CONVERSATIONS_KEPT = 10_000  # Home Assistant conversation ids remembered; the oldest is forgotten first
MAX_CONVERSATION_ID_CHARS = 200  # a ULID has 26


@dataclass(frozen=True)
class HandleRequest:
    text: str
    context: dict[str, Any]

    @property
    def conversation_key(self) -> str | None:
        key = self.context.get("conversation_id")
        return key if isinstance(key, str) and 0 < len(key) <= MAX_CONVERSATION_ID_CHARS else None


class ConversationMap:
    """Home Assistant's conversation id -> ours. Thread-safe; turns run in worker threads."""

    def __init__(self, kept: int = CONVERSATIONS_KEPT) -> None:
        self.kept = kept
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None) -> int | None:
        if key is None:
            return None
        with self._lock:
            found = self._ids.get(key)
            if found is not None:
                self._ids.move_to_end(key)
            return found

    def put(self, key: str | None, conversation_id: int) -> None:
        if key is None:
            return
        with self._lock:
            self._ids[key] = conversation_id
            self._ids.move_to_end(key)
            while len(self._ids) > self.kept:
                self._ids.popitem(last=False)


def parse(event: Event) -> HandleRequest:
    text = event.data.get("text")
    context = event.data.get("context")
    return HandleRequest(
        text=text if isinstance(text, str) else "", context=context if isinstance(context, dict) else {}
    )


def answer(
    pipeline, conversations: ConversationMap, user: str, request: HandleRequest, max_chars: int
) -> Event:  # type: ignore[no-untyped-def]
    """One turn; runs in a worker thread. The reply carries Home Assistant's context back unchanged."""
    context = {"conversation_id": request.conversation_key} if request.conversation_key else None
    if len(request.text) > max_chars:
        return NotHandled(
            text=f"That message is too long ({len(request.text):,} characters; at most {max_chars:,}).",
            context=context,
        ).event()
    ours = conversations.get(request.conversation_key)
    if ours is None:  # a new conversation of Home Assistant's is a new one of ours, not the user's latest
        memory = pipeline.memory
        ours = memory.start_conversation(memory.user(user).id).id
        conversations.put(request.conversation_key, ours)
    pieces: list[str] = []
    for event in pipeline.run(TurnRequest(user=user, text=request.text, conversation_id=ours)):
        if isinstance(event, ErrorEvent):
            return NotHandled(text=event.message, context=context).event()
        if isinstance(event, TextEvent):
            pieces.append(event.text)
        elif isinstance(event, TurnDoneEvent):
            conversations.put(request.conversation_key, event.conversation_id)
            return Handled(text=event.reply, context=context).event()
    return Handled(text="".join(pieces).strip(), context=context).event()
