"""The generator's prompt: a short persona, what we know about the user, and recent turns.

Every part is capped, so a 100 kB paste or a huge fact list cannot blow up the prompt (the generator
also trims the prompt to its context, oldest turns first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.dialog.types import Message
from assistant.text import MAX_UNDERSTOOD_CHARS

PERSONA = (
    "You are a friendly, concise voice assistant running offline on the user's computer. "
    "Answer in one or two short spoken sentences. If you do not know something, say so."
)

MAX_USER_CHARS = MAX_UNDERSTOOD_CHARS  # the user's newest message
MAX_TURN_CHARS = 600  # each message of an earlier turn
MAX_FACTS = 20
MAX_FACT_CHARS = 160  # one fact's key + value
ELLIPSIS = " …"

History = Sequence[tuple[str, str]] | Sequence[Message]


def build_messages(
    user_text: str,
    facts: Mapping[str, str] | None = None,
    history: History | None = None,
    *,
    persona: str = PERSONA,
    recalled: str | None = None,
) -> list[Message]:
    """[system, (user, assistant) * earlier turns, user] for `Generator.stream`.

    `history` is oldest first, as (user, assistant) pairs or Messages, and already the window the prompt
    should see: the caller picks it once (`history_window`, when the turns are read from memory); each
    message is capped here, and the backend fits the whole to its context in tokens (`fit_prompt`).

    `recalled` (earlier turns from any conversation: assistant.dialog.recall, already within its budget) is
    a system message right before the newest request: next to the question for a small model, and after
    the history, so the prompt's prefix stays the one the generator's key/value cache holds.
    """
    system = [persona.strip()]
    fact_lines = _fact_lines(facts or {})
    if fact_lines:
        system.append("What you know about the user:\n" + "\n".join(fact_lines))
    messages = [Message("system", "\n\n".join(system))]
    messages.extend(_history_messages(history or []))
    if recalled and recalled.strip():
        messages.append(Message("system", recalled.strip()))
    messages.append(Message("user", clip(user_text.strip(), MAX_USER_CHARS) or "…"))
    return messages


def history_window(total_turns: int, size: int) -> int:
    """How many of a conversation's latest turns go into the prompt: at most `size`, but the window's
    start moves in jumps of about half of it rather than one turn at a time.

    A local generator reuses the key/value cache of the prompt prefix it saw last. A window that slid
    one turn per turn would change the prompt right after the system message every time, forcing the
    whole history to be processed again (~0.7 s on 2 cores); a window that stays put for a few turns
    lets each prompt extend the previous one.
    """
    if size <= 0 or total_turns <= 0:
        return 0
    step = max(1, size // 2)
    start = -(-max(0, total_turns - size) // step) * step  # rounded up to a multiple of `step`
    return total_turns - start


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters (on a word boundary when one is near), marked with …."""
    text = " ".join(text.split()) if len(text) > limit else text
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _fact_lines(facts: Mapping[str, str]) -> list[str]:
    lines = []
    for key, value in list(facts.items())[:MAX_FACTS]:
        label = str(key).replace("_", " ").strip()
        lines.append("- " + clip(f"{label}: {str(value).strip()}", MAX_FACT_CHARS))
    return lines


def _history_messages(history: History) -> list[Message]:
    messages: list[Message] = []
    for item in history:
        if isinstance(item, Message):
            if item.role != "system" and item.content.strip():
                messages.append(Message(item.role, clip(item.content.strip(), MAX_TURN_CHARS)))
        else:
            user, reply = item
            if user and user.strip():
                messages.append(Message("user", clip(user.strip(), MAX_TURN_CHARS)))
            if reply and reply.strip():
                messages.append(Message("assistant", clip(reply.strip(), MAX_TURN_CHARS)))
    first_user = next((i for i, m in enumerate(messages) if m.role == "user"), len(messages))
    return messages[first_user:]  # a prompt's history opens with the user
