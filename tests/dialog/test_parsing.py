from __future__ import annotations

from datetime import date, datetime

import pytest

from assistant.dialog.parsing.durations import parse_duration, say_duration
from assistant.dialog.parsing.units import UnitError, convert, parse_conversion
from assistant.dialog.parsing.when import find_date, find_datetime, say_when
from assistant.dialog.parsing.words import tokenize, words_to_number
from assistant.dialog.parsing.zones import find_places

from .conftest import NOW


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("twenty five", 25),
        ("one hundred and five", 105),
        ("a hundred", 100),
        ("one thousand two hundred thirty four", 1234),
        ("three point five", 3.5),
        ("two and a half", 2.5),
        ("1,000,000", 1_000_000),
        ("42", 42),
        ("seventeen", 17),
    ],
)
def test_words_to_number(text: str, value: float) -> None:
    assert words_to_number(text) == value


def test_number_runs_split_like_clock_times() -> None:
    assert [t.value for t in tokenize("seven thirty")] == [7, 30]
    assert [t.norm for t in tokenize("7am")] == ["7", "am"]
    third = tokenize("the twenty third")[1]
    assert third.value == 23 and third.ordinal


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("ten minutes", 600),
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("half an hour", 1800),
        ("an hour and a half", 5400),
        ("one and a half hours", 5400),
        ("a quarter of an hour", 900),
        ("90 secs", 90),
        ("2.5 hours", 9000),
        ("1 hour and 30 minutes", 5400),
        ("set a timer for 5 min please", 300),
        ("a minute", 60),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_no_duration_and_speaking() -> None:
    assert parse_duration("set a timer") is None
    assert say_duration(5400) == "1 hour and 30 minutes"
    assert say_duration(1) == "1 second"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("set an alarm for 7 am", "2025-03-13T07:00"),  # 7 am has passed today
        ("wake me up at seven thirty tomorrow", "2025-03-13T07:30"),
        ("alarm at noon", "2025-03-12T12:00"),
        ("half past six in the evening", "2025-03-12T18:30"),
        ("quarter to eight pm", "2025-03-12T19:45"),
        ("meeting tomorrow at 3", "2025-03-13T15:00"),  # another day: 3 o'clock reads as pm
        ("dentist on friday at 2:30 pm", "2025-03-14T14:30"),
        ("december 3rd at 5 pm", "2025-12-03T17:00"),
        ("the 3rd of december at 9 am", "2025-12-03T09:00"),
        ("lunch on the 20th at 1 pm", "2025-03-20T13:00"),
        ("at 9 tonight", "2025-03-12T21:00"),
        ("remind me at 6 p.m.", "2025-03-12T18:00"),
        ("seven oh five am", "2025-03-13T07:05"),
        ("2025-12-03 at 19:00", "2025-12-03T19:00"),
        ("at midnight", "2025-03-13T00:00"),
    ],
)
def test_datetimes(text: str, expected: str) -> None:
    found = find_datetime(tokenize(text), NOW)
    assert found is not None, text
    assert found[0].strftime("%Y-%m-%dT%H:%M") == expected


def test_dates_and_no_false_times() -> None:
    today = NOW.date()
    assert find_date(tokenize("next friday"), today).day == date(2025, 3, 14)
    assert find_date(tokenize("on wednesday"), today).day == today
    assert find_date(tokenize("the day after tomorrow"), today).day == date(2025, 3, 14)
    assert find_date(tokenize("in 3 days"), today).day == date(2025, 3, 15)
    assert find_date(tokenize("january 5"), today).day == date(2026, 1, 5)  # next occurrence
    assert find_datetime(tokenize("set a timer for 10 minutes"), NOW) is None
    assert find_datetime(tokenize("add 5 apples"), NOW) is None
    assert say_when(datetime(2025, 3, 13, 7, 30, tzinfo=NOW.tzinfo), NOW) == "7:30 AM tomorrow"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("what time is it in tokyo", "Asia/Tokyo"),
        ("time in São Paulo", "America/Sao_Paulo"),
        ("what time is it in england", "Europe/London"),
        ("time in new york", "America/New_York"),
        ("what time is it in kathmandu", "Asia/Kathmandu"),
        ("what time is it on the west coast", "America/Los_Angeles"),
    ],
)
def test_places_to_zones(text: str, zone: str) -> None:
    places = find_places(text)
    assert places and places[0].zone == zone


def test_common_words_are_not_places() -> None:
    assert find_places("wake me up at christmas") == []
    assert find_places("what time is it") == []


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("convert 5 miles to km", 8.04672),
        ("what is 100 fahrenheit in celsius", 37.7777777),
        ("how many feet in a mile", 5280),
        ("how many ounces are in 2 pounds", 32),
        ("60 mph in km/h", 96.56064),
        ("minus 40 celsius to fahrenheit", -40),
        ("convert 3 cups to ml", 709.7647),
        ("how many seconds in a day", 86400),
        ("1 gallon to liters", 3.785411784),
        ("convert 10 m/s to mph", 22.369362),
    ],
)
def test_unit_conversions(text: str, result: float) -> None:
    parsed = parse_conversion(text)
    assert parsed is not None, text
    amount, source, target = parsed
    assert convert(amount, source, target).result == pytest.approx(result, rel=1e-6)


def test_unit_errors() -> None:
    amount, source, target = parse_conversion("what is 5 miles in kg")
    with pytest.raises(UnitError, match="length"):
        convert(amount, source, target)
    amount, source, target = parse_conversion("-500 celsius in kelvin")
    with pytest.raises(UnitError, match="absolute zero"):
        convert(amount, source, target)
    assert parse_conversion("what is the weather in paris") is None
    assert parse_conversion("x" * 100_000) is None
