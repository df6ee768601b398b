"""Calendar events: add ("dentist tomorrow at 3 pm"), ask what's on (a day, a week, or by name), remove
(always confirmed: an event is not something to lose to a misheard word)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from assistant.dialog.parsing.durations import find_duration
from assistant.dialog.parsing.when import (
    bare_clock,
    find_date,
    find_datetime,
    find_time,
    resolve,
    say_day,
    say_time,
    say_when,
)
from assistant.dialog.parsing.words import tokenize
from assistant.dialog.skill import Confirmation, FollowUp, Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import is_general_question, spoken_list, strip_words, text_of, without
from assistant.memory.records import EventRecord

_FILLER = {
    "add", "schedule", "set", "create", "put", "book", "make", "a", "an", "my", "the", "to", "on", "in",
    "at", "for", "calendar", "event", "called", "named", "please", "new", "up", "can", "you", "could",
    "i", "have", "appointment_", "me", "and", "of", "from", "this", "next", "with_",
}  # fmt: skip
_REMOVE = re.compile(r"\b(?:cancel|delete|remove|clear|erase|drop|get rid of|wipe)\b")
_SET = re.compile(r"\b(?:add|schedule|set|create|put|book|make|plan|organi[sz]e)\b")
_ALL = re.compile(r"\b(?:all|every|everything|entire|whole)\b|\bclear (?:my|the) calendar\b")
_QUESTION = re.compile(
    r"^(?:what|when|which|who|where|how|do i|did i|is|are|am i|have i|show|list|tell|check|read)\b"
)
_ALL_DAY = re.compile(r"\b(?:all day|whole day|no (?:specific )?time|any ?time)\b")
_QUERY_WORDS = {
    "what", "what's", "whats", "is", "on", "my", "calendar", "do", "i", "have", "any", "events", "event",
    "meetings", "meeting", "scheduled", "schedule", "when", "for", "the", "tell", "me", "about", "show",
    "list", "are", "there", "upcoming", "planned", "today", "tomorrow", "week", "this", "next", "weekend",
    "a", "an", "anything", "s", "please", "who", "coming", "up", "check",
}  # fmt: skip


def event_data(record: EventRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "starts_at": record.starts_at.isoformat(),
        "ends_at": record.ends_at.isoformat() if record.ends_at else None,
        "location": record.location,
    }


def _all_day(record: EventRecord) -> bool:
    return (
        record.ends_at is not None
        and record.ends_at - record.starts_at == timedelta(days=1)
        and (record.starts_at.hour, record.starts_at.minute) == (0, 0)
    )


def _describe(record: EventRecord, now: datetime, with_day: bool = True) -> str:
    start = record.starts_at.astimezone(now.tzinfo)
    if _all_day(record):
        return (
            f"{record.title} {say_day(start, now.date())} (all day)"
            if with_day
            else f"{record.title} (all day)"
        )
    if with_day:
        return f"{record.title} at {say_when(start, now)}"
    return f"{record.title} at {say_time(start)}"


@skills.register("calendar")
class CalendarSkill(Skill):
    """Calendar events: add, list by day or week, find by name, remove (with confirmation)."""

    name = "calendar"
    intents = frozenset({"calendar_set", "calendar_query", "calendar_remove"})
    description = "keep your calendar"
    examples = ("add dentist appointment tomorrow at 3 pm", "what's on my calendar this week?")
    priority = 60

    def claims(self, ctx: SkillContext) -> bool:
        low = ctx.lower
        if len(low) >= 300:
            return False
        if re.search(r"\b(?:to|on|in|from) my calendar\b|\bmy calendar\b", low):
            return True
        # "schedule a haircut for friday at 4 pm": scheduling something at a time is a calendar event
        return bool(
            re.match(r"^(?:(?:hey|ok|okay|please|can you|could you) )*schedule\b", low)
            and find_datetime(ctx.tokens, ctx.now) is not None
        )

    def accepts(self, ctx: SkillContext) -> bool:
        """Not a "remind me ..." the reminders skill left (a question such as "remind me what my goals are",
        which is no event either), nor a question about a subject."""
        return not (
            re.match(r"^(?:please |can you |could you )*remind me\b", ctx.lower)
            or is_general_question(ctx.lower)
        )

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        low = ctx.lower
        if _REMOVE.search(low) or ctx.label == "calendar_remove":
            return self._remove(ctx)
        if _SET.search(low) and not _QUESTION.match(low):
            return self._add(ctx)  # "put lunch on my calendar friday at noon", whatever the NLU label
        if ctx.label == "calendar_query" or (not _SET.search(low) and ctx.label != "calendar_set"):
            return self._query(ctx)
        return self._add(ctx)

    # --- add ------------------------------------------------------------------------------------------

    def _add(self, ctx: SkillContext) -> SkillResult:
        tokens = ctx.tokens
        spans: list[tuple[int, int]] = []
        duration = find_duration(tokens)
        length = None
        if duration is not None and duration.start > 0 and tokens[duration.start - 1].norm == "for":
            length = duration.seconds
            spans.append((duration.start - 1, duration.end))
        rest = without(tokens, spans)
        found = find_datetime(rest, ctx.now)
        clock = find_time(rest)
        title_tokens = without(rest, found[1]) if found else rest
        title = _title(title_tokens)
        state: dict[str, Any] = {"title": title, "length": length}
        if found is not None:
            state["date"] = found[0].date().isoformat()
        if not title:
            if found is not None and clock is not None:
                state["starts_at"] = found[0].isoformat()
            return SkillResult(
                "What's the event called?", {"asking": "title"}, follow_up=FollowUp("title", state)
            )
        if found is None:
            return SkillResult(f"When is {title}?", {"asking": "when"}, follow_up=FollowUp("when", state))
        if clock is None:
            if _ALL_DAY.search(ctx.lower):
                return self._create(ctx, title, _midnight(found[0].date(), ctx), all_day=True)
            return SkillResult(
                f"At what time is {title}? You can also say all day.",
                {"asking": "time"},
                follow_up=FollowUp("time", state),
            )
        return self._create(ctx, title, found[0], length)

    def _create(
        self,
        ctx: SkillContext,
        title: str,
        start: datetime,
        length: float | None = None,
        all_day: bool = False,
    ) -> SkillResult:
        end = (
            start + timedelta(days=1) if all_day else (start + timedelta(seconds=length) if length else None)
        )
        record = ctx.memory.add_event(ctx.user_id, title, start, end)
        return SkillResult(
            f"Added {_describe(record, ctx.now)} to your calendar.", {"event": event_data(record)}
        )

    def resume(self, ctx: SkillContext, follow_up: FollowUp) -> SkillResult | None:
        state = follow_up.state
        if follow_up.slot == "which":
            return self._remove(ctx, state.get("ids"))
        if follow_up.slot == "title":
            title = _title(ctx.tokens)
            if not title or len(ctx.text) > 200:
                return None
            if state.get("starts_at"):
                return self._create(
                    ctx, title, datetime.fromisoformat(state["starts_at"]), state.get("length")
                )
            state = {**state, "title": title}
            slot = "time" if state.get("date") else "when"
            question = f"At what time is {title}?" if slot == "time" else f"When is {title}?"
            return SkillResult(question, {"asking": slot}, follow_up=FollowUp(slot, state))
        if follow_up.slot in ("when", "time"):
            day = find_date(ctx.tokens, ctx.now.date())
            chosen = day.day if day else (date.fromisoformat(state["date"]) if state.get("date") else None)
            if _ALL_DAY.search(ctx.lower) and chosen:
                return self._create(ctx, state["title"], _midnight(chosen, ctx), all_day=True)
            clock = find_time(ctx.tokens)
            if clock is None:
                clock = bare_clock(ctx.tokens)
            if clock is None and day is None:
                return None
            if clock is None:
                state = {**state, "date": day.day.isoformat()}  # type: ignore[union-attr]
                return SkillResult(
                    f"At what time is {state['title']}? You can also say all day.",
                    {"asking": "time"},
                    follow_up=FollowUp("time", state),
                )
            when = resolve(ctx.now, chosen, clock)
            return self._create(ctx, state["title"], when, state.get("length")) if when else None
        return None

    # --- query ----------------------------------------------------------------------------------------

    def _range(self, ctx: SkillContext) -> tuple[datetime, datetime, str]:
        low, today = ctx.lower, ctx.now.date()
        monday = today - timedelta(days=today.weekday())
        if "next week" in low:
            start = monday + timedelta(days=7)
            return _midnight(start, ctx), _midnight(start + timedelta(days=7), ctx), "next week"
        if "this week" in low or re.search(r"\bweek\b", low):
            return ctx.now, _midnight(monday + timedelta(days=7), ctx), "this week"
        if "weekend" in low:
            saturday = monday + timedelta(days=5)
            return (
                max(ctx.now, _midnight(saturday, ctx)),
                _midnight(saturday + timedelta(days=2), ctx),
                "this weekend",
            )
        day = find_date(ctx.tokens, today)
        if day is not None:
            start = _midnight(day.day, ctx)
            return start, start + timedelta(days=1), say_day(day.day, today)
        return ctx.now, ctx.now + timedelta(days=7), "in the next 7 days"

    def _query(self, ctx: SkillContext) -> SkillResult:
        by_name = self._find_by_name(ctx)
        if by_name is not None:
            return by_name
        start, end, label = self._range(ctx)
        records = ctx.memory.events(ctx.user_id, start, end)
        data = {"events": [event_data(r) for r in records], "from": start.isoformat(), "to": end.isoformat()}
        if not records:
            return SkillResult(f"Your calendar is clear {label}.", data)
        single_day = end - start <= timedelta(days=1)
        items = [_describe(r, ctx.now, with_day=not single_day) for r in records]
        noun = "event" if len(items) == 1 else "events"
        return SkillResult(f"You have {len(items)} {noun} {label}: {spoken_list(items)}.", data)

    def _find_by_name(self, ctx: SkillContext) -> SkillResult | None:
        words = _content_words(ctx.text)
        if not words:
            return None
        upcoming = ctx.memory.events(
            ctx.user_id, ctx.now - timedelta(hours=12), ctx.now + timedelta(days=366)
        )
        hits = [r for r in upcoming if words & _content_words(r.title)]
        if not hits:
            return None
        items = [f"{r.title} is {_describe(r, ctx.now).removeprefix(r.title).strip()}" for r in hits[:5]]
        text = (
            f"Your {spoken_list(items)}."
            if len(hits) == 1
            else f"I found {len(hits)} events: {spoken_list(items)}."
        )
        return SkillResult(text, {"events": [event_data(r) for r in hits[:5]]})

    # --- remove ---------------------------------------------------------------------------------------

    def _remove(self, ctx: SkillContext, among: list[int] | None = None) -> SkillResult | None:
        records = ctx.memory.events(ctx.user_id, ctx.now - timedelta(days=1))
        if among is not None:
            records = [r for r in records if r.id in among]
        if not records:
            return SkillResult("You have no upcoming events to remove.", {"events": []})
        if _ALL.search(ctx.lower) and among is None:
            chosen = records
            day = find_date(ctx.tokens, ctx.now.date())
            if day is not None:
                chosen = [r for r in records if r.starts_at.astimezone(ctx.tz).date() == day.day]
            if not chosen:
                return SkillResult(f"You have no events {say_day(day.day, ctx.now.date())}.", {"events": []})  # type: ignore[union-attr]
            return self._ask(chosen, f"Remove all {len(chosen)} of your upcoming events? Say yes or no.")
        words = _content_words(ctx.text)
        day = find_date(ctx.tokens, ctx.now.date())
        hits = [r for r in records if words & _content_words(r.title)] if words else []
        if day is not None:
            hits = [r for r in (hits or records) if r.starts_at.astimezone(ctx.tz).date() == day.day]
        if len(hits) == 1:
            return self._ask(hits, f"Remove {_describe(hits[0], ctx.now)} from your calendar? Say yes or no.")
        if among is not None:
            return None
        options = hits or records[:5]
        return SkillResult(
            f"Which event should I remove? {spoken_list([_describe(r, ctx.now) for r in options])}.",
            {"events": [event_data(r) for r in options]},
            follow_up=FollowUp("which", {"ids": [r.id for r in options]}),
        )

    @staticmethod
    def _ask(records: list[EventRecord], question: str) -> SkillResult:
        return SkillResult(
            question,
            {"events": [event_data(r) for r in records]},
            confirmation=Confirmation(
                "delete_events", {"ids": [r.id for r in records]}, "Okay, I'll keep it on your calendar."
            ),
        )

    def confirm(self, ctx: SkillContext, confirmation: Confirmation) -> SkillResult:
        ids = set(confirmation.payload.get("ids", []))
        records = [r for r in ctx.memory.events(ctx.user_id) if r.id in ids]
        removed = [r for r in records if ctx.memory.delete_event(ctx.user_id, r.id)]
        if len(removed) == 1:
            return SkillResult(
                f"Removed {removed[0].title} from your calendar.", {"removed": [event_data(removed[0])]}
            )
        return SkillResult(
            f"Removed {len(removed)} events from your calendar.",
            {"removed": [event_data(r) for r in removed]},
        )


def _midnight(day: date, ctx: SkillContext) -> datetime:
    return datetime.combine(day, time(0, 0), ctx.tz)


_VERBS = {"add", "schedule", "set", "create", "put", "book", "make"}


def _title(tokens) -> str:  # type: ignore[no-untyped-def]
    # one leading verb is filler; a second is part of the title ("add book club", "schedule make-up class")
    lead = _FILLER - _VERBS
    start = 0
    while start < len(tokens) and tokens[start].norm in lead:
        start += 1
    if start < len(tokens) and tokens[start].norm in _VERBS:
        start += 1
    words = strip_words(tokens[start:], lead, _FILLER | {"today", "tomorrow", "tonight"})
    words = [t for t in words if t.norm not in ("calendar",)]
    text = text_of(words)
    text = re.sub(r"\b(?:to|on|in) (?:my|the) calendar\b", "", text, flags=re.I).strip(" ,")
    return text if len(text) <= 200 else text[:200]


def _content_words(text: str) -> set[str]:
    stop = _QUERY_WORDS | _FILLER | {
        "cancel", "delete", "remove", "clear", "erase", "drop", "get", "rid", "of", "wipe", "from", "events",
        "all", "everything", "with", "it", "one", "that", "time", "at", "day", "date", "where", "happening",
    }  # fmt: skip
    return {
        t.norm for t in tokenize(text[:300]) if t.norm not in stop and not t.is_number and len(t.norm) > 1
    }
