"""Date and time, here and in other places (zoneinfo), and converting a time between places."""

from __future__ import annotations

import re
from datetime import datetime, time

from assistant.dialog.parsing.when import find_time, say_time
from assistant.dialog.parsing.zones import Place, find_places, zone
from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills

_CLAIM = re.compile(
    r"^(?:(?:hey |ok |okay )?(?:please )?(?:tell me )?)?(?:what(?:'s| is|s) the (?:time|date)|what time is it|"
    r"what day is (?:it|today)|what(?:'s| is|s) today'?s? date|what(?:'s| is|s) the day today|"
    r"(?:can you |could you )?(?:tell|give) me the (?:time|date)\b(?! (?:of|when|for)\b))\b"
    r"(?! (?:signature|limit|frame|span|period|travel|machine)\b)"
)
_UNKNOWN_PLACE = re.compile(r"\b(?:in|at) ([a-z][a-z .'-]{1,40}?)\s*(?:right now|now)?\??$")
_NOT_PLACES = {"the morning", "the evening", "the afternoon", "the day", "the world", "here", "my zone"}
_HOLIDAYS = re.compile(
    r"\b(?:easter|christmas|holidays?|thanksgiving|birthday|halloween|new year|hanukkah|ramadan|diwali|"
    r"eid|passover|valentine'?s?|mother'?s day|father'?s day|independence day|national)\b"
)
# when something happens or how long it lasts, not what time it is: "what time the patriots game starts",
# "how long is the school year", "the best time of year for pruning"
_EVENTS = re.compile(
    r"\b(?:how long|best time|time of (?:the )?year|starts?|begins?|opens?|closes?|game|match|concert|movie|"
    r"flight)\b"
)
_LOCAL = re.compile(r"\b(?:here|my time|local time|where i am|my zone)\b")


@skills.register("datetime")
class DateTimeSkill(Skill):
    """The time and date, here or anywhere (time zones), and time conversions between places."""

    name = "datetime"
    intents = frozenset({"datetime_query", "datetime_convert"})
    description = "tell the time and date, here or in other cities"
    examples = (
        "what time is it in Tokyo?",
        "what's the date?",
        "when it's 9 am here, what time is it in Delhi?",
    )
    priority = 50

    def claims(self, ctx: SkillContext) -> bool:
        return len(ctx.lower) < 200 and bool(_CLAIM.match(ctx.lower))

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        if _HOLIDAYS.search(ctx.lower) or _EVENTS.search(ctx.lower):
            return None  # the date of a holiday or event: not something this skill knows
        slot = ctx.slot("place_name", "city", "country", "timezone")
        places = [p for p in find_places(slot or ctx.text[:500]) if p.zone]
        if slot and len(places) == 1:
            places += [p for p in find_places(ctx.text[:500]) if p.zone and p.zone != places[0].zone][:1]
        clock = find_time(ctx.tokens)
        if clock is not None and (
            places and (len(places) > 1 or _LOCAL.search(ctx.lower)) or ctx.label == "datetime_convert"
        ):
            return self._convert(ctx, places, clock)
        if not places:
            unknown = _UNKNOWN_PLACE.search(ctx.lower)
            if unknown and unknown.group(1) not in _NOT_PLACES and "time" in ctx.lower:
                name = unknown.group(1).strip().title()
                return SkillResult(
                    f"I don't know which time zone {name} is in. Try a nearby big city.",
                    {"unknown_place": name},
                )
        place = places[0] if places else None
        now = ctx.now.astimezone(zone(place.zone)) if place else ctx.now
        where = f" in {place.name}" if place else ""
        data = {"now": now.isoformat(), "zone": place.zone if place else _zone_name(ctx)}
        if place:
            data["place"] = place.name
        if re.search(r"\b(?:date|day|today|month|year|weekday)\b", ctx.lower):
            text = f"{'It' if place else 'Today'} is {now.strftime('%A, %B')} {now.day}, {now.year}{where}."
            if place:
                text = f"In {place.name} it's {now.strftime('%A, %B')} {now.day}, {now.year}."
            return SkillResult(text, data)
        if place:
            day = "" if now.date() == ctx.now.date() else f" on {now.strftime('%A')}"
            return SkillResult(f"In {place.name} it's {say_time(now)}{day}.", data)
        return SkillResult(f"It's {say_time(now)}.", data)

    def _convert(self, ctx: SkillContext, places: list[Place], clock) -> SkillResult:  # type: ignore[no-untyped-def]
        local = Place("here", _zone_name(ctx))
        if len(places) >= 2:
            source, target = places[0], places[1]
            if not _given_in(ctx.lower, source):
                source, target = target, source
        elif len(places) == 1:
            source, target = (places[0], local) if _given_in(ctx.lower, places[0]) else (local, places[0])
        else:
            return SkillResult("Which place should I convert the time to?", {})
        hour = clock.hour if clock.meridiem_known else clock.hour % 12 + (12 if clock.hour == 12 else 0)
        source_tz = ctx.tz if source is local else zone(source.zone)
        target_tz = ctx.tz if target is local else zone(target.zone)
        day = ctx.now.astimezone(source_tz).date()
        moment = datetime.combine(day, time(hour % 24, clock.minute), source_tz)
        there = moment.astimezone(target_tz)
        shift = (there.date() - moment.date()).days
        day_note = {1: " the next day", -1: " the day before"}.get(shift, "")
        target_name = "here" if target is local else f"in {target.name}"
        source_name = "here" if source is local else f"in {source.name}"
        text = f"When it's {say_time(moment)} {source_name}, it's {say_time(there)}{day_note} {target_name}."
        return SkillResult(
            text,
            {
                "from": moment.isoformat(),
                "to": there.isoformat(),
                "from_zone": source.zone,
                "to_zone": target.zone,
            },
        )


def _given_in(text: str, place: Place) -> bool:
    """Is the stated time given for this place ("5 pm in Paris", "it's 9 in India")?"""
    name = place.name.lower()
    at = text.find(name)
    if at < 0:
        return False
    before = text[max(0, at - 30) : at]
    after = text[at + len(name) : at + len(name) + 25]
    if re.search(r"\bwhat(?:'s| is)? (?:the )?time\b|\bwhat time\b|\bto\b\s*$|\binto\b\s*$", before):
        return False
    return bool(re.search(r"\d|\b(?:am|pm|noon|midnight|o'clock)\b", before)) or bool(
        re.search(r"^\s*(?:is|it's)?\s*\d", after)
    )


def _zone_name(ctx: SkillContext) -> str:
    return getattr(ctx.tz, "key", None) or str(ctx.tz)
