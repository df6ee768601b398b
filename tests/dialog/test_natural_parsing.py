"""Issue 14 part 4: the parsing rules behind natural requests, one by one (fast; no NLU model).
Sentences here are deliberately not those of tests/natural/requests.jsonl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.dialog.parsing.units import spoken
from assistant.dialog.parsing.when import (
    find_datetime,
    find_recurrence,
    find_time,
    first_occurrence,
)
from assistant.dialog.parsing.words import tokenize
from assistant.memory.recurrence import next_occurrence, repeat_days, repeat_name, say_repeat
from tests.dialog.conftest import NOW, TZ, Chat


def _clock(text: str) -> tuple[int, int, bool] | None:
    found = find_time(tokenize(text))
    return (found.hour, found.minute, found.meridiem_known) if found else None


# --- parts of the day -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at five fifteen tomorrow morning", (5, 15, True)),
        ("on sunday morning at 8", (8, 0, True)),
        ("at 11 tonight", (23, 0, True)),
        ("at 8 in the evening", (20, 0, True)),
        ("at 2 in the afternoon", (14, 0, True)),
        ("at twelve noon", (12, 0, True)),
        ("at 12 midnight", (0, 0, True)),
        ("at 12 at night", (0, 0, True)),
        ("at 7", (7, 0, False)),  # no part of the day: still open, resolved by the date rules
        ("at 7 pm tomorrow morning", (19, 0, True)),  # an explicit pm wins
        ("good morning, set it at 6", (6, 0, False)),  # a greeting is not a part of the day
    ],
)
def test_part_of_the_day_settles_am_pm(text: str, expected: tuple[int, int, bool]) -> None:
    assert _clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow afternoon", datetime(2025, 3, 13, 15, 0, tzinfo=TZ)),
        ("this evening", datetime(2025, 3, 12, 18, 0, tzinfo=TZ)),
        ("tonight", datetime(2025, 3, 12, 20, 0, tzinfo=TZ)),
        ("in the morning", datetime(2025, 3, 13, 9, 0, tzinfo=TZ)),  # this morning's 9 AM has passed
        ("friday evening", datetime(2025, 3, 14, 18, 0, tzinfo=TZ)),
        ("tomorrow morning at 7:10", datetime(2025, 3, 13, 7, 10, tzinfo=TZ)),
    ],
)
def test_part_of_the_day_without_a_clock_has_a_usual_hour(text: str, expected: datetime) -> None:
    found = find_datetime(tokenize(text), NOW)
    assert found is not None and found[0] == expected


# --- recurrence -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every day", "daily"),
        ("daily at 6", "daily"),
        ("each evening at 9", "daily"),
        ("on weekdays", "weekdays"),
        ("every weekday", "weekdays"),
        ("at weekends", "weekends"),
        ("every weekend", "weekends"),
        ("every wednesday", "wednesday"),
        ("on fridays", "friday"),
        ("every monday, wednesday and friday", "monday,wednesday,friday"),
        ("tuesdays and thursdays", "tuesday,thursday"),
        ("monday to friday", "weekdays"),
        ("mon-fri", "weekdays"),
        ("saturday through sunday", "weekends"),
        ("friday to monday", "monday,friday,saturday,sunday"),
    ],
)
def test_recurrence(text: str, expected: str) -> None:
    found = find_recurrence(tokenize(text))
    assert found is not None and found.name == expected


@pytest.mark.parametrize("text", ["on monday", "next friday", "this weekend", "tomorrow", "the weekend"])
def test_one_off_days_are_not_recurrences(text: str) -> None:
    assert find_recurrence(tokenize(text)) is None


def test_first_occurrence() -> None:
    weekdays = repeat_days("weekdays")
    seven = find_time(tokenize("at 7 am"))
    assert seven is not None
    assert first_occurrence(NOW, weekdays, seven) == datetime(2025, 3, 13, 7, 0, tzinfo=TZ)
    later = find_time(tokenize("at 11 am"))
    assert later is not None
    assert first_occurrence(NOW, weekdays, later) == datetime(2025, 3, 12, 11, 0, tzinfo=TZ)  # today
    assert first_occurrence(NOW, repeat_days("weekends"), seven) == datetime(2025, 3, 15, 7, 0, tzinfo=TZ)


def test_repeat_names_round_trip() -> None:
    assert repeat_name(range(7)) == "daily"
    assert repeat_name({5, 6}) == "weekends"
    assert repeat_name({3, 0}) == "monday,thursday"
    assert repeat_days("monday,thursday") == {0, 3}
    assert say_repeat("monday,thursday") == "every Monday and Thursday"
    with pytest.raises(ValueError):
        repeat_days("fortnightly")


def test_next_occurrence_keeps_the_local_time_across_daylight_saving() -> None:
    saturday = datetime(2025, 3, 29, 7, 0, tzinfo=TZ)  # Paris moves to summer time on Sunday 30
    following = next_occurrence(saturday, "daily", TZ, saturday)
    assert following == datetime(2025, 3, 30, 7, 0, tzinfo=TZ)
    assert following.astimezone(UTC).hour == 5
    friday = datetime(2025, 3, 14, 7, 0, tzinfo=TZ)
    assert next_occurrence(friday, "weekdays", TZ, friday) == datetime(2025, 3, 17, 7, 0, tzinfo=TZ)


def test_a_recurring_alarm_fires_and_moves_on(memory) -> None:
    user = memory.user("sam")
    first = datetime(2025, 3, 13, 7, 0, tzinfo=TZ)
    alarm = memory.add_timer(user.id, first, "alarm", repeat="weekdays")
    assert alarm.repeat == "weekdays"
    fired = memory.claim_due_timers(first + timedelta(seconds=1), tz=TZ)
    assert [(t.id, t.status, t.due_at) for t in fired] == [(alarm.id, "fired", first)]
    (still,) = memory.timers(user.id)
    assert still.status == "active" and still.due_at == datetime(2025, 3, 14, 7, 0, tzinfo=TZ)
    assert memory.claim_due_timers(first + timedelta(minutes=5), tz=TZ) == []  # once per occurrence
    with pytest.raises(ValueError):
        memory.add_timer(user.id, first, "timer", repeat="daily")


# --- alarms and timers in conversation -------------------------------------------------------------------


def test_recurring_alarm_is_stored_and_said(chat: Chat) -> None:
    reply = chat.reply("please wake me at 6:40 on weekdays")
    assert reply == "Alarm set for 6:40 AM every weekday, starting tomorrow."
    (alarm,) = chat.memory.timers(chat.user_id)
    assert alarm.repeat == "weekdays"
    assert alarm.due_at == datetime(2025, 3, 13, 6, 40, tzinfo=TZ)
    assert "every weekday" in chat.reply("which alarms have i got")


def test_alarm_parts_of_the_day(chat: Chat) -> None:
    assert (
        chat.reply("i want an alarm at five forty five tomorrow morning") == "Alarm set for 5:45 AM tomorrow."
    )
    assert chat.reply("wake me up at 5") == "Alarm set for 5 AM tomorrow."  # waking is in the morning
    assert chat.reply("set an alarm for 8 tonight") == "Alarm set for 8 PM today."
    assert chat.reply("alarm at twelve noon on friday") == "Alarm set for 12 PM on Friday."


def test_countdown_is_a_timer(chat: Chat) -> None:
    assert chat.reply("run a 40 second countdown") == "Timer set for 40 seconds."
    assert chat.reply("could you time twenty minutes") == "Timer set for 20 minutes."
    assert [t.duration_s for t in chat.memory.timers(chat.user_id)] == [40, 1200]


def test_alarm_words_that_are_not_requests(chat: Chat) -> None:
    assert chat.say("that was a false alarm").routed_to == "generator"
    assert chat.say("how does an alarm clock work").routed_to == "generator"


# --- lists ----------------------------------------------------------------------------------------------


def test_list_synonyms_are_one_list(chat: Chat) -> None:
    chat.reply("add rice to my shopping list")
    assert chat.reply("put beans on the groceries list") == "Added beans to your shopping list."
    assert chat.reply("add salt to our groceries") == "Added salt to your shopping list."
    assert chat.reply("add write tests to my to-do list") == "Added write tests to your to do list."
    assert sorted(r.name for r in chat.memory.lists(chat.user_id)) == ["shopping", "to do"]


def test_a_list_stored_under_a_synonym_is_reused(chat: Chat) -> None:
    chat.memory.add_list_item(chat.user_id, "grocery", "tea")  # stored before synonyms were one list
    assert chat.reply("add honey to the grocery list") == "Added honey to your grocery list."
    assert "tea and honey" in chat.reply("what's on my shopping list")
    assert [r.name for r in chat.memory.lists(chat.user_id)] == ["grocery"]


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("we've run out of sugar, add it to my list", ["sugar"]),  # "we've" is not a lead we know: kept
        ("i'm running low on coffee beans put them on the list", ["coffee beans"]),
        ("onions and garlic, add those to the shopping list please", ["onions", "garlic"]),
        ("put on my shopping list some apples", ["apples"]),
        ("add it to the shopping list: crackers", ["crackers"]),
        ("i have to get stamps, put that on my list", ["stamps"]),
        ("could you add tissues to my shopping list for me", ["tissues"]),
    ],
)
def test_items_named_anywhere(chat: Chat, text: str, items: list[str]) -> None:
    decision = chat.say(text)
    assert decision.skill == "lists", decision
    record = chat.memory.get_list(chat.user_id, "shopping")
    got = [i.text for i in record.items] if record else []
    if text.startswith("we've"):
        assert got and got[0].endswith("sugar")
    else:
        assert got == items


def test_to_do_items_keep_their_verb(chat: Chat) -> None:
    chat.reply("i need to renew the car insurance, put it on my todo list")
    assert [i.text for i in chat.memory.get_list(chat.user_id, "to do").items] == ["renew the car insurance"]


# --- conversions, reminders, calendar, time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (41.8429, ("41.8", True)),
        (8.04672, ("8.05", True)),
        (154.324, ("154", True)),
        (1609.344, ("1609", True)),
        (0.528344, ("0.528", True)),
        (5280.0, ("5280", False)),
        (86.00000000000001, ("86", False)),
        (2.54, ("2.54", False)),
        (-40.0, ("-40", False)),
        (160934.4, ("160,934", True)),
        (0.0, ("0", False)),
    ],
)
def test_spoken_rounding(value: float, expected: tuple[str, bool]) -> None:
    assert spoken(value) == expected


def test_conversion_reply_is_rounded_for_speech(chat: Chat) -> None:
    decision = chat.say("how many kilometres is a marathon of 26 miles")
    if decision.skill == "units":  # this phrasing may not parse; the plain one must
        assert "about 41.8" in decision.result.text
    decision = chat.say("26 miles in kilometres")
    assert decision.result.text == "26 miles is about 41.8 kilometers."
    assert decision.result.data["result"] == pytest.approx(41.842944)


def test_reminder_parts_of_the_day(chat: Chat) -> None:
    assert chat.reply("remind me this afternoon to call the garage") == (
        "Okay, I'll remind you to call the garage at 3 PM today."
    )
    assert chat.reply("don't let me forget to buy stamps tomorrow morning") == (
        "Okay, I'll remind you to buy stamps at 9 AM tomorrow."
    )
    assert chat.reply("remind me at 7 in the evening to lock the shed") == (
        "Okay, I'll remind you to lock the shed at 7 PM today."
    )


def test_schedule_is_a_calendar_request(chat: Chat) -> None:
    decision = chat.say("schedule a dentist appointment on tuesday at 11 am")
    assert decision.skill == "calendar"
    (event,) = chat.memory.events(chat.user_id)
    assert event.title == "dentist appointment" and event.starts_at == datetime(2025, 3, 18, 11, 0, tzinfo=TZ)
    assert chat.say("schedule").routed_to == "generator"  # no time: not claimed by the rule


def test_time_asked_plainly(chat: Chat) -> None:
    assert chat.reply("can you tell me the time") == "It's 10:15 AM."
    assert chat.reply("whats the date") == "Today is Wednesday, March 12, 2025."
