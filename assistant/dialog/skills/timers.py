"""Timers ("set a timer for ten minutes", "start a 90 second countdown") and alarms ("wake me up at 7",
"every weekday at 6:30"): set, query, cancel. They fire through the Scheduler, which claims due rows from
the memory exactly once (a recurring alarm then moves on to its next day)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from assistant.dialog.parsing.durations import find_duration, say_duration
from assistant.dialog.parsing.when import (
    TimeMatch,
    bare_clock,
    find_date,
    find_datetime,
    find_recurrence,
    find_time,
    first_occurrence,
    resolve,
    say_day,
    say_time,
    say_when,
)
from assistant.dialog.skill import Confirmation, FollowUp, Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import is_general_question, plural, spoken_list, strip_words, text_of
from assistant.dialog.skills.timer_words import describe, timer_data
from assistant.memory.records import TimerRecord
from assistant.memory.recurrence import repeat_days, say_repeat

MAX_TIMER_S = 24 * 3600
_REMOVE = re.compile(
    r"\b(?:cancel|delete|remove|stop|turn off|switch off|clear|dismiss|disable|kill|get rid of|unset)\b"
)
_SET = re.compile(r"\b(?:set|start|create|add|make|put|begin|new|wake me|get me up)\b")
_QUERY = re.compile(
    r"\b(?:how (?:much|long)|time (?:is )?left|remaining|what (?:timers?|alarms?)|which (?:timers?|alarms?)|"
    r"do i have|any (?:timers?|alarms?)|when (?:is|does|will) (?:my|the)|list|show|check|is there|are there|what time is my)\b"
)
_ALL = re.compile(
    r"\b(?:all|every|each)\b(?! (?:day|morning|evening|night|afternoon|weekday|weekend|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)s?\b)"
)
_COUNTDOWN = re.compile(r"\b(?:count ?downs?|counting down)\b")
_ALARM = re.compile(r"\balarms?\b")
_WAKE = re.compile(r"\b(?:wake me|wake us|get me up)\b")
_ALARM_ACTION = re.compile(r"\b(?:need|want|like|daily|recurring|repeating)\b")
_LABEL_FILLER = {
    "set",
    "start",
    "a",
    "an",
    "the",
    "my",
    "new",
    "create",
    "make",
    "please",
    "for",
    "me",
    "up",
    "called",
    "named",
    "timer",
    "of",  # "set of timer": Whisper's hearing of "set a timer", not a timer called "of"
    "to",
}


@skills.register("timers")
class TimersSkill(Skill):
    """Timers and alarms: set, ask how long is left or what is set, cancel."""

    name = "timers"
    schedules = True
    intents = frozenset({"alarm_set", "alarm_query", "alarm_remove"})
    description = "set timers and alarms"
    examples = ("set a timer for ten minutes", "wake me up at 7 am", "how long is left on my timer?")
    priority = 30

    def claims(self, ctx: SkillContext) -> bool:
        low = ctx.lower
        if len(low) > 300 or not self.accepts(ctx) or re.search(r"\bdon't let me forget\b", low):
            return False
        if re.search(r"\btimers?\b", low) or _WAKE.search(low):
            return True
        if _COUNTDOWN.search(low) or re.search(
            r"\btime (?:me )?(?:for )?(?:a|an|\d|[a-z]+ (?:minutes?|seconds?|hours?))", low
        ):
            return find_duration(ctx.tokens) is not None
        if _ALARM.search(low) and not re.search(r"\balarm (?:clock|system)s?\b|\bfalse alarm\b", low):
            return bool(
                _SET.search(low) or _REMOVE.search(low) or _QUERY.search(low) or _ALARM_ACTION.search(low)
            ) or (find_time(ctx.tokens) is not None)
        return False

    def accepts(self, ctx: SkillContext) -> bool:
        return not re.search(r"\bremind(?:er|ers)?\b", ctx.lower) and not is_general_question(ctx.lower)

    # --- routing --------------------------------------------------------------------------------------

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        mode = self._mode(ctx)
        kind = self._kind(ctx)
        if mode == "remove":
            return self._remove(ctx, kind)
        if mode == "query":
            return self._query(ctx, kind)
        if kind == "timer" or (kind is None and find_duration(ctx.tokens) and not find_time(ctx.tokens)):
            return self._set_timer(ctx, self._label(ctx))
        return self._set_alarm(ctx)

    def _mode(self, ctx: SkillContext) -> str:
        low = ctx.lower
        if _REMOVE.search(low):
            return "remove"
        if _QUERY.search(low) and not re.match(r"^(?:please )?(?:set|start|wake)\b", low):
            return "query"
        if _SET.search(low):
            return "set"
        return {"alarm_query": "query", "alarm_remove": "remove"}.get(ctx.label or "", "set")

    @staticmethod
    def _kind(ctx: SkillContext) -> str | None:
        low = ctx.lower
        if re.search(r"\btimers?\b", low) or _COUNTDOWN.search(low):
            return "timer"
        if re.search(r"\b(?:alarms?|wake|get me up)\b", low):
            return "alarm"
        return None

    @staticmethod
    def _label(ctx: SkillContext) -> str | None:
        tokens = ctx.tokens
        idx = next((i for i, t in enumerate(tokens) if t.norm in ("timer", "timers")), None)
        if idx is None:
            return None
        duration = find_duration(tokens)
        before = [
            t for i, t in enumerate(tokens[:idx]) if not (duration and duration.start <= i < duration.end)
        ]
        words = strip_words(before, _LABEL_FILLER | {"minute", "second", "hour", "-"})
        if words and not any(t.is_number for t in words) and len(words) <= 3:
            return text_of(words).lower()
        after = [t.norm for t in tokens[idx + 1 : idx + 3]]
        if after[:1] in (["called"], ["named"]) or after[:2] == ["for", "the"]:
            rest = [
                t
                for i, t in enumerate(tokens[idx + 1 :], idx + 1)
                if not (duration and duration.start <= i < duration.end)
            ]
            words = strip_words(rest, _LABEL_FILLER)
            if words and len(words) <= 3 and not any(t.is_number for t in words):
                return text_of(words).lower()
        return None

    # --- set ------------------------------------------------------------------------------------------

    def _set_timer(self, ctx: SkillContext, label: str | None) -> SkillResult:
        found = find_duration(ctx.tokens)
        if found is None:
            return SkillResult(
                "For how long?", {"asking": "duration"}, follow_up=FollowUp("duration", {"label": label})
            )
        return self._create_timer(ctx, found.seconds, label)

    def _create_timer(self, ctx: SkillContext, seconds: float, label: str | None) -> SkillResult:
        if seconds < 1:
            return SkillResult("A timer needs to run for at least one second.", {})
        if seconds > MAX_TIMER_S:
            return SkillResult(
                f"I can set timers for up to 24 hours, and {say_duration(seconds)} is longer. "
                "An alarm or a reminder works for that.",
                {"requested_s": seconds},
            )
        record = ctx.memory.add_timer(
            ctx.user_id, ctx.now + timedelta(seconds=seconds), "timer", label, seconds
        )
        name = f"{label} timer" if label else "Timer"
        text = f"{name[0].upper()}{name[1:]} set for {say_duration(seconds)}."
        return SkillResult(text, {"timer": timer_data(record)})

    def _set_alarm(self, ctx: SkillContext) -> SkillResult:
        clock = find_time(ctx.tokens)
        if clock is not None and _WAKE.search(ctx.lower):
            clock = _wake_clock(clock)
        recurrence = find_recurrence(ctx.tokens)
        if recurrence is not None:
            if clock is None:
                return SkillResult(
                    "For what time?",
                    {"asking": "time"},
                    follow_up=FollowUp("time", {"repeat": recurrence.name}),
                )
            first = first_occurrence(ctx.now, recurrence.days, _wake_clock(clock))
            return self._create_alarm(ctx, first, recurrence.name)
        found = find_datetime(ctx.tokens, ctx.now)
        if found is None or clock is None:
            state = {"date": found[0].date().isoformat()} if found else {}
            return SkillResult("For what time?", {"asking": "time"}, follow_up=FollowUp("time", state))
        day = find_date(ctx.tokens, ctx.now.date())
        when = resolve(ctx.now, day.day if day else None, clock)
        return self._create_alarm(ctx, when or found[0])

    def _create_alarm(self, ctx: SkillContext, when: datetime, repeat: str | None = None) -> SkillResult:
        if when <= ctx.now:
            return SkillResult(
                f"{say_when(when, ctx.now)} has already passed. What time should I set it for?",
                {"asking": "time"},
                follow_up=FollowUp("time"),
            )
        record = ctx.memory.add_timer(ctx.user_id, when, "alarm", repeat=repeat)
        if repeat:
            text = f"Alarm set for {say_time(when)} {say_repeat(repeat)}, starting {say_when(when, ctx.now)}."
            text = text.replace(f"starting {say_time(when)} ", "starting ")
        else:
            text = f"Alarm set for {say_when(when, ctx.now)}."
        return SkillResult(text, {"alarm": timer_data(record)})

    def resume(self, ctx: SkillContext, follow_up: FollowUp) -> SkillResult | None:
        if follow_up.slot == "duration":
            found = find_duration(ctx.tokens)
            if found is None or len(ctx.tokens) > found.end - found.start + 4:
                return None
            return self._create_timer(ctx, found.seconds, follow_up.state.get("label"))
        if follow_up.slot == "time":
            clock = find_time(ctx.tokens) or bare_clock(ctx.tokens)
            if clock is None:
                return None
            if follow_up.state.get("repeat"):
                days = repeat_days(follow_up.state["repeat"])
                return self._create_alarm(
                    ctx, first_occurrence(ctx.now, days, clock), follow_up.state["repeat"]
                )
            day = find_date(ctx.tokens, ctx.now.date())
            date = (
                day.day
                if day
                else (
                    datetime.fromisoformat(follow_up.state["date"]).date()
                    if follow_up.state.get("date")
                    else None
                )
            )
            when = resolve(ctx.now, date, clock)
            return self._create_alarm(ctx, when) if when else None
        if follow_up.slot == "which":
            return self._remove(ctx, follow_up.state.get("kind"), follow_up.state.get("ids"))
        return None

    # --- query ----------------------------------------------------------------------------------------

    def _query(self, ctx: SkillContext, kind: str | None) -> SkillResult:
        records = ctx.memory.timers(ctx.user_id, kind=kind)
        day = find_date(ctx.tokens, ctx.now.date())
        if day is not None and kind != "timer":
            records = [
                r for r in records if r.kind == "timer" or r.due_at.astimezone(ctx.tz).date() == day.day
            ]
        data = {"timers": [timer_data(r) for r in records]}
        what = {"timer": "timers", "alarm": "alarms", None: "timers or alarms"}[kind]
        if not records:
            when = f" for {say_day(day.day, ctx.now.date())}" if day else ""
            return SkillResult(f"You have no {what} set{when}.", data)
        described = [describe(r, ctx.now) for r in records]
        if len(records) == 1:
            return SkillResult(f"You have one {described[0]}.", data)
        noun = "timers" if kind == "timer" else "alarms" if kind == "alarm" else "timers and alarms"
        return SkillResult(f"You have {len(records)} {noun}: {spoken_list(described)}.", data)

    # --- remove ---------------------------------------------------------------------------------------

    def _remove(
        self, ctx: SkillContext, kind: str | None, among: list[int] | None = None
    ) -> SkillResult | None:
        records = ctx.memory.timers(ctx.user_id, kind=kind)
        if among is not None:
            records = [r for r in records if r.id in among]
        what = {"timer": "timers", "alarm": "alarms", None: "timers or alarms"}[kind]
        if not records:
            return SkillResult(f"You have no {what} set.", {"timers": []})
        if _ALL.search(ctx.lower):
            if len(records) == 1:
                return self._cancel(ctx, records)
            noun = "timers" if kind == "timer" else "alarms" if kind == "alarm" else "timers and alarms"
            return SkillResult(
                f"Cancel all {len(records)} {noun}? Say yes or no.",
                {"timers": [timer_data(r) for r in records]},
                confirmation=Confirmation(
                    "cancel_timers", {"ids": [r.id for r in records]}, f"Okay, I'll keep your {noun}."
                ),
            )
        chosen = self._match(ctx, records)
        if chosen:
            return self._cancel(ctx, chosen)
        if among is not None:
            return None  # the answer to "which one?" named none of them
        if len(records) == 1:
            return self._cancel(ctx, records)
        described = [describe(r, ctx.now) for r in records]
        return SkillResult(
            f"You have {len(records)} {what.replace(' or ', ' and ')}: {spoken_list(described)}. Which one should I cancel?",
            {"timers": [timer_data(r) for r in records]},
            follow_up=FollowUp("which", {"kind": kind, "ids": [r.id for r in records]}),
        )

    @staticmethod
    def _match(ctx: SkillContext, records: list[TimerRecord]) -> list[TimerRecord]:
        clock = find_time(ctx.tokens) or bare_clock(ctx.tokens)
        if clock is not None:
            hits = [
                r
                for r in records
                if r.kind == "alarm"
                and (local := r.due_at.astimezone(ctx.tz)).minute == clock.minute
                and (local.hour == clock.hour if clock.meridiem_known else local.hour % 12 == clock.hour % 12)
            ]
            if hits:
                return hits
        words = {t.norm for t in ctx.tokens}
        hits = [r for r in records if r.label and set(r.label.lower().split()) <= words]
        if hits:
            return hits
        duration = find_duration(ctx.tokens)
        if duration is not None:
            hits = [r for r in records if r.duration_s and abs(r.duration_s - duration.seconds) < 1]
            if hits:
                return hits
        ordinals = [t.value for t in ctx.tokens if t.ordinal] + (
            [len(records)] if re.search(r"\b(?:last|latest)\b", ctx.lower) else []
        )
        if ordinals and 1 <= int(ordinals[0]) <= len(records):  # type: ignore[arg-type]
            return [records[int(ordinals[0]) - 1]]  # type: ignore[arg-type]
        return []

    def _cancel(self, ctx: SkillContext, records: list[TimerRecord]) -> SkillResult:
        done = [r for r in records if ctx.memory.cancel_timer(ctx.user_id, r.id)]
        if not done:
            return SkillResult("That one has already gone off or been cancelled.", {"cancelled": []})
        if len(done) == 1:
            text = f"Cancelled your {describe(done[0], ctx.now).split(' with ')[0]}."
        else:
            kinds = {r.kind for r in done}
            noun = "timers" if kinds == {"timer"} else "alarms" if kinds == {"alarm"} else "timers and alarms"
            text = f"Cancelled {plural(len(done), noun[:-1], noun) if len(kinds) == 1 else f'{len(done)} {noun}'}."
        return SkillResult(text, {"cancelled": [timer_data(r) for r in done]})

    def confirm(self, ctx: SkillContext, confirmation: Confirmation) -> SkillResult:
        ids = set(confirmation.payload.get("ids", []))
        records = [r for r in ctx.memory.timers(ctx.user_id) if r.id in ids]
        if not records:
            return SkillResult(
                "There's nothing left to cancel: they have already gone off.", {"cancelled": []}
            )
        return self._cancel(ctx, records)


def _wake_clock(clock: TimeMatch) -> TimeMatch:
    """'wake me up at 6', 'an alarm at 6:30 every weekday': waking (and a daily alarm clock) is in the
    morning, so 4 to 11 o'clock without am/pm or a part of the day are am."""
    if clock.meridiem_known or not 4 <= clock.hour <= 11:
        return clock
    return TimeMatch(clock.hour, clock.minute, True, clock.start, clock.end)
