"""Reminders: "remind me to call mom at 5 pm", "remind me in 10 minutes to check the oven"; list and remove.
A reminder with a time fires through the Scheduler; one without stays on the list until removed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from assistant.dialog.parsing.durations import find_duration
from assistant.dialog.parsing.when import find_datetime, say_when
from assistant.dialog.parsing.words import tokenize
from assistant.dialog.skill import Confirmation, FollowUp, Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import spoken_list, strip_words, text_of, without
from assistant.memory.records import ReminderRecord

_CLAIM = re.compile(
    r"^(?:hey |ok |okay )?(?:please |can you |could you |would you |will you |i need you to |"
    r"i want you to )*(?:remind me|set (?:a|me a) reminder|"
    r"(?:don't|do not|dont) let me forget)\b"
)
# "remind me what my goals are", "remind me of the address for my workplace": a question, not a reminder
_ASKS_TO_RECALL = re.compile(
    r"^(?:please |can you |could you )*remind me (?:what|where|who|how|which|why|of (?:the|my) "
    r"(?:name|address|number|password|way))\b"
)
_QUERY_CLAIM = re.compile(r"\b(?:my|any|all|the) reminders?\b")
_REMOVE = re.compile(r"\b(?:cancel|delete|remove|clear|forget|drop|erase|get rid of)\b")
_QUERY = re.compile(r"\b(?:what|which|list|show|tell me|read|do i have|are there|any)\b")
_LEAD = {
    "remind", "me", "to", "about", "that", "of", "please", "set", "a", "reminder", "can", "you", "could",
    "in", "at", "on", "by", "for", "hey", "ok", "okay", "i", "need", "should", "have", "and",
}  # fmt: skip
_TRAIL = {"at", "on", "in", "by", "for", "please", "and", "to", "from", "now"}
_REMOVE_WORDS = {
    "reminder",
    "reminders",
    "my",
    "the",
    "delete",
    "remove",
    "cancel",
    "clear",
    "forget",
    "drop",
    "erase",
    "get",
    "rid",
    "one",
    "it",
    "this",
    "that",
}
_NO_TIME = re.compile(
    r"^(?:no(?: specific)? time|any ?time|whenever|no|never mind|doesn't matter|no due date)\b"
)


def reminder_data(record: ReminderRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "text": record.text,
        "due_at": record.due_at.isoformat() if record.due_at else None,
        "status": record.status,
    }


def alert_text(record: ReminderRecord) -> str:
    return f"Reminder: {record.text}."


def _describe(record: ReminderRecord, now: datetime) -> str:
    if record.due_at is None:
        return record.text
    return f"{record.text} at {say_when(record.due_at.astimezone(now.tzinfo), now)}"


@skills.register("reminders")
class RemindersSkill(Skill):
    """Reminders with or without a time: set, list, remove."""

    name = "reminders"
    schedules = True
    intents = frozenset({"calendar_set", "calendar_query", "calendar_remove"})
    description = "remind you of things"
    examples = (
        "remind me to call mom at 5 pm",
        "remind me in 10 minutes to check the oven",
        "what are my reminders?",
    )
    priority = 35

    def claims(self, ctx: SkillContext) -> bool:
        low = ctx.lower
        if len(low) >= 400 or _ASKS_TO_RECALL.match(low):
            return False
        return bool(_CLAIM.match(low)) or bool(_QUERY_CLAIM.search(low))

    def accepts(self, ctx: SkillContext) -> bool:
        low = ctx.lower
        return bool(re.search(r"\bremind(?:er|ers)?\b", low)) and not _ASKS_TO_RECALL.match(low)

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        low = ctx.lower
        if _REMOVE.search(low) and not _CLAIM.match(low):
            return self._remove(ctx)
        if not _CLAIM.match(low) and (_QUERY.search(low) or ctx.label == "calendar_query"):
            return self._list(ctx)
        return self._set(ctx)

    # --- set ------------------------------------------------------------------------------------------

    def _when(self, ctx: SkillContext, tokens) -> tuple[datetime | None, list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
        duration = find_duration(tokens)
        if duration is not None and duration.start > 0 and tokens[duration.start - 1].norm in ("in", "after"):
            return ctx.now + timedelta(seconds=duration.seconds), [(duration.start - 1, duration.end)]
        found = find_datetime(tokens, ctx.now)
        if found is None:
            return None, []
        return found[0], found[1]

    def _set(self, ctx: SkillContext) -> SkillResult:
        tokens = ctx.tokens
        due, spans = self._when(ctx, tokens)
        remaining = without(tokens, spans)
        rest = strip_words(remaining, _LEAD, _TRAIL)
        what = _second_person(text_of(rest))
        if what and _about(remaining, rest):
            what = f"about {what}"
        if not what:
            state = {"due_at": due.isoformat() if due else None}
            return SkillResult(
                "What should I remind you about?", {"asking": "text"}, follow_up=FollowUp("text", state)
            )
        if due is None:
            return SkillResult(
                f"When should I remind you to {what}?",
                {"asking": "when"},
                follow_up=FollowUp("when", {"text": what}),
            )
        return self._create(ctx, what, due)

    def _create(self, ctx: SkillContext, what: str, due: datetime | None) -> SkillResult:
        if due is not None and due <= ctx.now:
            return SkillResult(
                f"{say_when(due, ctx.now)} has already passed. When should I remind you?",
                {"asking": "when"},
                follow_up=FollowUp("when", {"text": what}),
            )
        record = ctx.memory.add_reminder(ctx.user_id, what, due)
        when = f" at {say_when(due, ctx.now)}" if due else ""
        said = _your(what if what.startswith("about ") else f"to {what}")
        return SkillResult(
            f"Okay, I'll remind you {said}{when}." if due else f"Okay, I've noted a reminder {said}.",
            {"reminder": reminder_data(record)},
        )

    def resume(self, ctx: SkillContext, follow_up: FollowUp) -> SkillResult | None:
        if follow_up.slot == "when":
            if _NO_TIME.match(ctx.lower):
                return self._create(ctx, follow_up.state["text"], None)
            due, spans = self._when(ctx, ctx.tokens)
            if due is None or len(without(ctx.tokens, spans)) > 3:
                return None
            return self._create(ctx, follow_up.state["text"], due)
        if follow_up.slot == "text":
            what = _second_person(text_of(strip_words(ctx.tokens, _LEAD, _TRAIL)))
            if not what or len(ctx.text) > 300:
                return None
            due = datetime.fromisoformat(follow_up.state["due_at"]) if follow_up.state.get("due_at") else None
            if due is None:
                return SkillResult(
                    f"When should I remind you to {what}?",
                    {"asking": "when"},
                    follow_up=FollowUp("when", {"text": what}),
                )
            return self._create(ctx, what, due)
        if follow_up.slot == "which":
            return self._remove(ctx, follow_up.state.get("ids"))
        return None

    # --- list / remove --------------------------------------------------------------------------------

    def _list(self, ctx: SkillContext) -> SkillResult:
        records = ctx.memory.reminders(ctx.user_id)
        data = {"reminders": [reminder_data(r) for r in records]}
        if not records:
            return SkillResult("You have no reminders.", data)
        items = [_describe(r, ctx.now) for r in records]
        if len(items) == 1:
            return SkillResult(f"You have one reminder: {items[0]}.", data)
        return SkillResult(f"You have {len(items)} reminders: {spoken_list(items)}.", data)

    def _remove(self, ctx: SkillContext, among: list[int] | None = None) -> SkillResult | None:
        records = ctx.memory.reminders(ctx.user_id)
        if among is not None:
            records = [r for r in records if r.id in among]
        if not records:
            return SkillResult("You have no reminders.", {"reminders": []})
        if re.search(r"\b(?:all|every)\b", ctx.lower):
            return SkillResult(
                f"Remove all {len(records)} reminders? Say yes or no.",
                {"reminders": [reminder_data(r) for r in records]},
                confirmation=Confirmation(
                    "remove_reminders", {"ids": [r.id for r in records]}, "Okay, I'll keep them."
                ),
            )
        words = {t.norm for t in ctx.tokens} - _LEAD - _REMOVE_WORDS
        scored = [(len(words & {t.norm for t in tokenize(r.text)}), r) for r in records]
        best = max(score for score, _ in scored)
        hits = [r for score, r in scored if score == best and score > 0]
        if len(hits) == 1 or (not words and len(records) == 1 and among is None):
            return self._done(ctx, hits or records)
        if among is not None:
            return None
        if words and not hits:
            return SkillResult(
                f"I couldn't find that reminder. You have: {spoken_list([_describe(r, ctx.now) for r in records])}.",
                {"reminders": [reminder_data(r) for r in records]},
            )
        return SkillResult(
            f"Which reminder? You have: {spoken_list([_describe(r, ctx.now) for r in records])}.",
            {"reminders": [reminder_data(r) for r in records]},
            follow_up=FollowUp("which", {"ids": [r.id for r in records]}),
        )

    def _done(self, ctx: SkillContext, records: list[ReminderRecord]) -> SkillResult:
        removed = [r for r in records if ctx.memory.complete_reminder(ctx.user_id, r.id)]
        if len(removed) == 1:
            return SkillResult(
                f"Removed the reminder to {removed[0].text}.", {"removed": [reminder_data(removed[0])]}
            )
        return SkillResult(
            f"Removed {len(removed)} reminders.", {"removed": [reminder_data(r) for r in removed]}
        )

    def confirm(self, ctx: SkillContext, confirmation: Confirmation) -> SkillResult:
        ids = set(confirmation.payload.get("ids", []))
        return self._done(ctx, [r for r in ctx.memory.reminders(ctx.user_id) if r.id in ids])


def _about(remaining, rest) -> bool:  # type: ignore[no-untyped-def]
    """'remind me of/about X' (not 'remind me to X'): the word just before the kept words."""
    if not rest:
        return False
    first = next((i for i, tok in enumerate(remaining) if tok is rest[0]), 0)
    return first > 0 and remaining[first - 1].norm in ("of", "about")


def _your(text: str) -> str:
    """The user's words said back to them: 'my appointment' -> 'your appointment'."""
    swaps = {"my": "your", "me": "you", "i": "you", "mine": "yours", "myself": "yourself", "i'm": "you're"}
    return " ".join(swaps.get(word.lower(), word) for word in text.split())


def _second_person(text: str) -> str:
    """'call my mom' stays; 'I need to call mom' -> 'call mom'; 'me' -> 'you' is not needed in 'remind me'."""
    text = re.sub(
        r"^(?:(?:don't|do not|dont) let me forget(?: to| about)?|i (?:need|have|want) to|i should|i must|"
        r"that i (?:need|have) to|to)\s+",
        "",
        text.strip(),
        flags=re.I,
    )
    return text.strip()
