"""Clock times ("7 am", "seven thirty", "half past six", "noon") and dates ("tomorrow", "next friday",
"december 3rd", "the 5th"), found in tokens and resolved against an aware `now`.

Conventions (documented because speech is ambiguous): a weekday means the next one from today (today
itself for "this"/"on"), "next friday" the first Friday after today; a date without a year is its next
occurrence; a time without am/pm is its next occurrence after `now` on that date, and on another day
1-6 o'clock read as pm and 7-11 as am. A part of the day anywhere in the request settles am/pm ("six
thirty tomorrow morning" is 6:30 AM; "10 tonight", "9 in the evening" are pm; "12 at night" is midnight)
and, with no clock time, stands for one: morning 9 AM, afternoon 3 PM, evening 6 PM, tonight 8 PM.
Recurrence ("every day", "weekdays", "every monday and thursday", "monday to friday") is found apart
from the date (`find_recurrence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from assistant.dialog.parsing.durations import UNIT_SECONDS
from assistant.dialog.parsing.words import Token
from assistant.memory.recurrence import repeat_name

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
AM_WORDS = {"am", "morning"}
PM_WORDS = {"pm", "afternoon", "evening", "night", "tonight"}
DAYPART_CLOCK = {
    "morning": (9, 0),
    "afternoon": (15, 0),
    "evening": (18, 0),
    "night": (20, 0),
    "tonight": (20, 0),
}
_LEADS = {"at", "for", "until", "till", "by", "to", "around", "about", "from"}


@dataclass(frozen=True)
class TimeMatch:
    hour: int  # 0-23 when `meridiem_known`, else 1-12 (or 0/13-23 written in 24 h)
    minute: int
    meridiem_known: bool
    start: int
    end: int


@dataclass(frozen=True)
class DateMatch:
    day: date
    start: int
    end: int


def _num(tokens: list[Token], i: int) -> float | int | None:
    if i < len(tokens) and tokens[i].is_number and not tokens[i].ordinal:
        return tokens[i].value
    return None


def _meridiem(tokens: list[Token], j: int) -> tuple[str | None, int]:
    """am/pm after index j: 'pm', 'in the evening', 'at night', 'tonight', 'this morning'."""
    norms = [t.norm for t in tokens[j : j + 3]]
    if norms[:1] in (["am"], ["pm"]):
        return norms[0], j + 1
    if norms[:1] in (["noon"], ["midday"]):
        return "pm", j + 1
    if norms[:1] == ["midnight"]:
        return "am", j + 1
    if norms[:1] == ["o'clock"]:
        nxt, k = _meridiem(tokens, j + 1)
        return nxt, k if nxt else j + 1
    if norms[:1] == ["tonight"]:
        return "night", j + 1
    if (
        len(norms) >= 3
        and norms[0] in ("in", "this")
        and norms[1] == "the"
        and norms[2] in AM_WORDS | PM_WORDS
    ):
        return _part_meridiem(norms[2]), j + 3
    if len(norms) >= 2 and norms[0] in ("in", "this", "at") and norms[1] in AM_WORDS | PM_WORDS:
        return _part_meridiem(norms[1]), j + 2
    return None, j


def _part_meridiem(word: str) -> str:
    return "am" if word in AM_WORDS else "night" if word in ("night", "tonight") else "pm"


def _apply(hour: int, minute: int, meridiem: str | None) -> tuple[int, bool]:
    if meridiem == "night":  # "12 at night" is midnight, "2 at night" 2 AM, "10 at night" 10 PM
        meridiem = "am" if hour == 12 or hour <= 4 else "pm"
    if meridiem is None:
        return hour, hour == 0 or hour > 12
    if hour > 12:
        return hour, True
    if meridiem == "am":
        return (0 if hour == 12 else hour), True
    return (12 if hour == 12 else hour + 12), True


@dataclass(frozen=True)
class DaypartMatch:
    name: str  # morning, afternoon, evening, night, tonight
    start: int
    end: int


def find_daypart(tokens: list[Token]) -> DaypartMatch | None:
    """A part of the day: 'morning', 'this evening', 'in the afternoon', 'at night', 'tonight'
    ('tonight' is also a date; its span here is the word alone)."""
    for i, tok in enumerate(tokens):
        if tok.norm not in DAYPART_CLOCK:
            continue
        if tok.norm == "night" and i > 0 and tokens[i - 1].norm in ("last", "good", "a", "per"):
            continue
        if tok.norm == "morning" and i > 0 and tokens[i - 1].norm == "good":
            continue
        start = i
        if start >= 2 and [t.norm for t in tokens[start - 2 : start]] == ["in", "the"]:
            start -= 2
        elif start >= 1 and tokens[start - 1].norm in ("this", "at", "in"):
            start -= 1
        return DaypartMatch(tok.norm, start, i + 1)
    return None


def _with_daypart(clock: TimeMatch, part: str) -> TimeMatch:
    """Settle an unknown am/pm by a part of the day ("7 tomorrow morning", "10 tonight")."""
    meridiem = "am" if part == "morning" else "night" if part in ("night", "tonight") else "pm"
    hour, _ = _apply(clock.hour, clock.minute, meridiem)
    return TimeMatch(hour, clock.minute, True, clock.start, clock.end)


def find_time(tokens: list[Token]) -> TimeMatch | None:
    """The first clock time in the tokens; am/pm settled by a part of the day anywhere in them."""
    clock = _find_clock(tokens)
    if clock is not None and not clock.meridiem_known and 1 <= clock.hour <= 12:
        part = find_daypart(tokens)
        if part is not None:
            return _with_daypart(clock, part.name)
    return clock


def _find_clock(tokens: list[Token]) -> TimeMatch | None:
    """The first clock time in the tokens, as written."""
    n = len(tokens)
    for i, tok in enumerate(tokens):
        norm = tok.norm
        if norm in ("noon", "midday"):
            return TimeMatch(12, 0, True, i, i + 1)
        if norm == "midnight":
            return TimeMatch(0, 0, True, i, i + 1)
        if ":" in norm:
            hh, mm = (int(x) for x in norm.split(":")[:2])
            if hh > 23 or mm > 59:
                continue
            meridiem, end = _meridiem(tokens, i + 1)
            hour, known = _apply(hh, mm, meridiem)
            return TimeMatch(hour, mm, known, i, end)
        # half past six / quarter to eight / ten past five / 20 to 9
        if norm in ("half", "quarter") or (
            _num(tokens, i) is not None and float(_num(tokens, i)).is_integer()
        ):
            found = _relative_clock(tokens, i)
            if found is not None:
                return found
        value = _num(tokens, i)
        if value is None or not float(value).is_integer() or not 0 <= value <= 24:
            continue
        if i + 1 < n and tokens[i + 1].norm in UNIT_SECONDS:
            continue  # a duration ("for 10 minutes"), not a time
        hour, minute, j = int(value), 0, i + 1
        after = _num(tokens, j)
        if (
            j < n
            and tokens[j].norm in ("oh", "o")
            and _num(tokens, j + 1) is not None
            and _num(tokens, j + 1) < 10
        ):
            minute, j = int(_num(tokens, j + 1)), j + 2  # type: ignore[arg-type]
        elif (
            after is not None
            and float(after).is_integer()
            and 0 <= after <= 59
            and not (j + 1 < n and tokens[j + 1].norm in UNIT_SECONDS)
        ):
            minute, j = int(after), j + 1
        meridiem, end = _meridiem(tokens, j)
        led = i > 0 and tokens[i - 1].norm in _LEADS
        if meridiem is None and j == i + 1 and not led:
            continue  # a bare number is not a time without "at"/"for" or am/pm
        if meridiem is None and not led and j == i + 2 and hour > 12:
            continue
        if hour == 24:
            hour = 0
        hour, known = _apply(hour, minute, meridiem)
        return TimeMatch(hour, minute, known, i, end)
    return None


def _relative_clock(tokens: list[Token], i: int) -> TimeMatch | None:
    norms = [t.norm for t in tokens[i : i + 5]]
    j = i + 1
    if norms[0] == "half":
        minutes = 30
    elif norms[0] == "quarter":
        minutes = 15
    else:
        minutes = int(tokens[i].value)  # type: ignore[arg-type]
        if j < len(tokens) and tokens[j].norm in ("minute", "minutes"):
            j += 1
    if j >= len(tokens) or tokens[j].norm not in ("past", "after", "to", "before", "till"):
        return None
    if norms[0] == "half" and tokens[j].norm != "past":
        return None
    hour_value = _num(tokens, j + 1)
    if hour_value is None or not float(hour_value).is_integer() or not 1 <= hour_value <= 12 or minutes >= 60:
        return None
    hour = int(hour_value)
    if tokens[j].norm in ("to", "before", "till"):
        hour, minute = (hour - 1) % 12 or 12, 60 - minutes
    else:
        minute = minutes
    meridiem, end = _meridiem(tokens, j + 2)
    hour, known = _apply(hour, minute, meridiem)
    return TimeMatch(hour, minute, known, i, end)


def _this_or_next(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def find_date(tokens: list[Token], today: date) -> DateMatch | None:
    """The first date in the tokens."""
    n = len(tokens)
    for i, tok in enumerate(tokens):
        norm = tok.norm
        nxt = [t.norm for t in tokens[i + 1 : i + 4]]
        if norm in ("today", "tonight"):
            return DateMatch(today, i, i + 1)
        if norm == "tomorrow":
            start = i - 2 if i >= 2 and [t.norm for t in tokens[i - 2 : i]] == ["day", "after"] else i
            if start > 0 and tokens[start - 1].norm == "the":
                start -= 1
            return DateMatch(today + timedelta(days=2 if start < i else 1), start, i + 1)
        if norm == "yesterday":
            return DateMatch(today - timedelta(days=1), i, i + 1)
        if (
            norm in WEEKDAYS
            and norm not in ("sat", "sun", "wed", "mon")
            or (
                norm in ("sat", "sun", "wed", "mon")
                and i > 0
                and tokens[i - 1].norm in ("on", "next", "this")
            )
        ):
            start = i
            prev = tokens[i - 1].norm if i > 0 else ""
            ahead = (WEEKDAYS[norm] - today.weekday()) % 7
            if prev == "next":
                ahead = ahead or 7
                start = i - 1
            elif prev in ("this", "coming"):
                start = i - 1
            elif ahead == 0 and prev != "on":
                ahead = 0
            return DateMatch(today + timedelta(days=ahead), start, i + 1)
        if (
            norm in MONTHS
            and (norm != "may" or (nxt and tokens[i + 1].is_number))
            and norm != "mar"
            or (norm == "mar" and nxt and tokens[i + 1].is_number)
        ):
            j = i + 1
            if j < n and tokens[j].norm == "the":
                j += 1
            if j < n and tokens[j].is_number and 1 <= (tokens[j].value or 0) <= 31:
                day = int(tokens[j].value)  # type: ignore[arg-type]
                year, end = _year(tokens, j + 1)
                found = _this_or_next(today, MONTHS[norm], day, year)
                if found:
                    return DateMatch(found, i, end)
        if tok.is_number and (tok.ordinal or (nxt[:1] == ["of"] and len(nxt) > 1 and nxt[1] in MONTHS)):
            day = int(tok.value)  # type: ignore[arg-type]
            j = i + 1
            if j < n and tokens[j].norm == "of":
                j += 1
            start = i - 1 if i > 0 and tokens[i - 1].norm == "the" else i
            if j < n and tokens[j].norm in MONTHS and 1 <= day <= 31:
                year, end = _year(tokens, j + 1)
                found = _this_or_next(today, MONTHS[tokens[j].norm], day, year)
                if found:
                    return DateMatch(found, start, end)
            elif tok.ordinal and start < i and 1 <= day <= 31:  # "the 5th": this month or the next
                month_start = today.replace(day=1)
                for shift in range(3):
                    y, m = divmod(month_start.month - 1 + shift, 12)
                    try:
                        found = date(month_start.year + y, m + 1, day)
                    except ValueError:
                        continue
                    if found >= today:
                        return DateMatch(found, start, i + 1)
        if (
            norm == "in"
            and _num(tokens, i + 1) is not None
            and nxt[1:2] in (["days"], ["day"], ["weeks"], ["week"])
        ):
            count = int(tokens[i + 1].value)  # type: ignore[arg-type]
            days = count * (7 if nxt[1].startswith("week") else 1)
            return DateMatch(today + timedelta(days=days), i, i + 3)
        # ISO 2025-12-03
        if tok.is_number and len(norm) == 4 and nxt[:1] == ["-"] and len(nxt) >= 3 and nxt[2] == "-":
            parts = tokens[i : i + 5]
            if len(parts) == 5 and parts[2].is_number and parts[4].is_number:
                try:
                    found = date(int(tok.value), int(parts[2].value), int(parts[4].value))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    continue
                return DateMatch(found, i, i + 5)
    return None


def _year(tokens: list[Token], j: int) -> tuple[int | None, int]:
    if j < len(tokens) and tokens[j].norm == ",":
        j += 1
    if (
        j < len(tokens)
        and tokens[j].is_number
        and len(tokens[j].norm) == 4
        and 1900 <= tokens[j].value <= 2200
    ):  # type: ignore[operator]
        return int(tokens[j].value), j + 1  # type: ignore[arg-type]
    return None, j if j < len(tokens) and tokens[j - 1].norm != "," else j - 1


def resolve(now: datetime, day: date | None, clock: TimeMatch | None) -> datetime | None:
    """The aware datetime meant by an optional date and an optional time (see the module docstring)."""
    if clock is None and day is None:
        return None
    tz = now.tzinfo
    if clock is None:
        return datetime.combine(day, time(9, 0), tz)  # type: ignore[arg-type]
    candidates: list[int] = [clock.hour]
    if not clock.meridiem_known:
        candidates = [clock.hour % 12, clock.hour % 12 + 12]
    if day is not None:
        if day == now.date() or clock.meridiem_known:
            options = [datetime.combine(day, time(h, clock.minute), tz) for h in candidates]
            future = [dt for dt in options if dt > now]
            return (
                min(future)
                if future and day == now.date()
                else options[-1 if not clock.meridiem_known else 0]
            )
        hour = clock.hour % 12 + (12 if 1 <= clock.hour % 12 <= 6 else 0)
        return datetime.combine(day, time(hour, clock.minute), tz)
    for offset in range(3):
        options = [
            datetime.combine(now.date() + timedelta(days=offset), time(h, clock.minute), tz)
            for h in candidates
        ]
        future = [dt for dt in options if dt > now]
        if future:
            return min(future)
    return None


def find_datetime(tokens: list[Token], now: datetime) -> tuple[datetime, list[tuple[int, int]]] | None:
    """Date and/or time in the tokens, resolved; also the token spans used (to cut them out of a title).
    A part of the day without a clock time stands for its usual hour ("tomorrow morning": 9 AM)."""
    clock = find_time(tokens)
    day = find_date(tokens, now.date())
    part = find_daypart(tokens)
    if clock is None and part is not None:
        hour, minute = DAYPART_CLOCK[part.name]
        clock = TimeMatch(hour, minute, True, part.start, part.end)
        passed = datetime.combine(now.date(), time(hour, minute), now.tzinfo) <= now
        if day is None and passed and tokens[part.start].norm != "this":  # "in the evening": the next one
            day = DateMatch(now.date() + timedelta(days=1), part.start, part.start)
    when = resolve(now, day.day if day else None, clock)
    if when is None:
        return None
    spans = [(m.start, m.end) for m in (clock, day, part) if m is not None]
    return when, spans


@dataclass(frozen=True)
class RecurrenceMatch:
    days: frozenset[int]  # weekdays, Monday = 0
    start: int
    end: int

    @property
    def name(self) -> str:
        """The stored form: 'daily', 'weekdays', 'weekends' or 'monday,thursday'."""
        return repeat_name(self.days)


_PLURAL_DAYS = {f"{name}s": day for name, day in WEEKDAYS.items() if len(name) > 4}
_EVERY = {"every", "each"}


def _weekday_run(tokens: list[Token], i: int) -> tuple[set[int], int]:
    """Weekday names from i joined by 'and' / ',' ('monday, wednesday and friday'); also a range
    ('monday to friday', 'monday through friday')."""
    days: set[int] = set()
    j = i
    while j < len(tokens):
        norm = tokens[j].norm
        day = WEEKDAYS.get(norm, _PLURAL_DAYS.get(norm))
        if day is None:
            break
        nxt = [t.norm for t in tokens[j + 1 : j + 3]]
        if nxt[:1] in (["to"], ["through"], ["thru"], ["-"], ["till"], ["until"]) and len(nxt) == 2:
            last = WEEKDAYS.get(nxt[1], _PLURAL_DAYS.get(nxt[1]))
            if last is not None:
                span = (last - day) % 7
                days.update((day + k) % 7 for k in range(span + 1))
                j += 3
                if j < len(tokens) and tokens[j].norm in ("and", ","):
                    j += 1
                continue
        days.add(day)
        j += 1
        if (
            j + 1 < len(tokens)
            and tokens[j].norm in ("and", ",", "&")
            and WEEKDAYS.get(tokens[j + 1].norm, _PLURAL_DAYS.get(tokens[j + 1].norm)) is not None
        ):
            j += 1
            continue
        break
    return days, j


def find_recurrence(tokens: list[Token]) -> RecurrenceMatch | None:
    """'every day', 'daily', 'every morning', 'weekdays', 'on weekends', 'every monday and thursday',
    'mondays', 'monday to friday'. None for a one-off ('on monday', 'next friday')."""
    n = len(tokens)
    for i, tok in enumerate(tokens):
        norm = tok.norm
        nxt = tokens[i + 1].norm if i + 1 < n else ""
        lead = i - 1 if i > 0 and tokens[i - 1].norm in ("on", "every", "each", "all") else i
        if norm in ("daily", "everyday"):
            return RecurrenceMatch(frozenset(range(7)), i, i + 1)
        if norm in _EVERY and nxt in ("day", "morning", "evening", "night", "afternoon"):
            return RecurrenceMatch(frozenset(range(7)), i, i + 2)
        if norm in _EVERY and nxt == "single" and i + 2 < n and tokens[i + 2].norm == "day":
            return RecurrenceMatch(frozenset(range(7)), i, i + 3)
        if norm in ("weekdays", "weekday", "workdays", "workday") and (norm.endswith("s") or lead < i):
            return RecurrenceMatch(frozenset(range(5)), lead, i + 1)
        if norm == "week" and nxt == "days":
            return RecurrenceMatch(frozenset(range(5)), lead, i + 2)
        if norm in ("weekends", "weekend") and (norm.endswith("s") or tokens[lead].norm in _EVERY):
            return RecurrenceMatch(frozenset({5, 6}), lead, i + 1)
        if norm in _PLURAL_DAYS or (norm in WEEKDAYS and (lead < i and tokens[lead].norm in _EVERY)):
            days, end = _weekday_run(tokens, i)
            if days:
                return RecurrenceMatch(frozenset(days), lead, end)
        if norm in WEEKDAYS and nxt in ("to", "through", "thru", "-", "till", "until"):
            days, end = _weekday_run(tokens, i)
            if len(days) > 1:
                return RecurrenceMatch(frozenset(days), lead, end)
    return None


def first_occurrence(now: datetime, days: frozenset[int], clock: TimeMatch) -> datetime:
    """The first time a recurring clock time comes round on one of `days`, after `now`. A time without
    am/pm reads as on another day: 1-6 o'clock pm, 7-11 am, 12 noon."""
    hour = clock.hour
    if not clock.meridiem_known:
        hour = clock.hour % 12 + (12 if 1 <= clock.hour % 12 <= 6 or clock.hour % 12 == 0 else 0)
        hour %= 24
    day = now.date()
    for _ in range(8):
        if day.weekday() in days:
            moment = datetime.combine(day, time(hour, clock.minute), now.tzinfo)
            if moment > now:
                return moment
        day += timedelta(days=1)
    raise ValueError("no weekday given")


def say_time(moment: datetime) -> str:
    """'7:30 AM', '12 PM' style, how a speaker says it."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{hour}:{moment.minute:02d} {suffix}" if moment.minute else f"{hour} {suffix}"


def say_day(moment: datetime | date, today: date) -> str:
    """'today', 'tomorrow', 'Friday', or 'Friday, December 5' (with the year when not this year)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    if day == today - timedelta(days=1):
        return "yesterday"
    if today < day < today + timedelta(days=7):
        return day.strftime("%A")
    text = f"{day.strftime('%A, %B')} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def say_when(moment: datetime, now: datetime) -> str:
    """'7 AM tomorrow', '3:30 PM on Friday, December 5'."""
    day = say_day(moment, now.date())
    if day in ("today", "tomorrow", "yesterday"):
        return f"{say_time(moment)} {day}"
    return f"{say_time(moment)} on {day}"


def bare_clock(tokens: list[Token]) -> TimeMatch | None:
    """A reply that is just a number ("7", "seven thirty") read as a clock time."""
    nums = [t for t in tokens if t.is_number and not t.ordinal]
    others = [
        t
        for t in tokens
        if not t.is_number and t.norm not in ("at", "for", "the", "one", "alarm", "please", "o'clock")
    ]
    if not nums or others or len(nums) > 2:
        return None
    hour = nums[0].value
    minute = nums[1].value if len(nums) == 2 else 0
    if not (
        float(hour).is_integer() and 0 <= hour <= 23 and float(minute).is_integer() and 0 <= minute <= 59
    ):  # type: ignore[arg-type]
        return None
    return TimeMatch(int(hour), int(minute), int(hour) == 0 or int(hour) > 12, 0, len(tokens))  # type: ignore[arg-type]
