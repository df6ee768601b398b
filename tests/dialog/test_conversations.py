"""Scripted multi-turn conversations through the DialogManager with a real migrated SQLite memory and
hand-built intents (the NLU model is tested elsewhere)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.dialog import manager as manager_module
from assistant.dialog.manager import DialogManager
from assistant.dialog.skills.jokes import JOKES
from assistant.memory import open_memory
from assistant.memory.db import dispose_engine

from .conftest import NOW, Chat


def test_timer_follow_up(chat: Chat, memory) -> None:
    first = chat.say("set a timer", "alarm_set")
    assert first.skill == "timers" and first.result.text == "For how long?"
    assert first.result.follow_up is not None
    second = chat.say("ten minutes")  # no intent needed: the pending question takes it
    assert second.source == "follow_up"
    assert second.result.text == "Timer set for 10 minutes."
    (timer,) = memory.timers(chat.user_id, kind="timer")
    assert timer.due_at == NOW + timedelta(minutes=10)
    assert second.result.data["timer"]["id"] == timer.id
    assert chat.manager.pending(chat.user_id, chat.conversation_id) is None
    left = chat.reply("how much time is left on my timer?", "alarm_query")
    assert left == "You have one timer for 10 minutes with 10 minutes left."


def test_an_unrelated_answer_drops_the_pending_question(chat: Chat, memory) -> None:
    assert chat.reply("set a timer", "alarm_set") == "For how long?"
    answer = chat.say("what's on my shopping list", "lists_query")
    assert answer.skill == "lists" and answer.source == "rule"
    assert chat.manager.pending(chat.user_id, chat.conversation_id) is None
    # and a later bare duration is no longer taken as the timer's length
    later = chat.say("ten minutes", "general_quirky", confidence=0.2)
    assert later.routed_to == "generator" and later.reason == "low_confidence"
    assert memory.timers(chat.user_id) == []


def test_pending_question_expires(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(manager_module.time, "monotonic", lambda: clock[0])
    assert chat.reply("set a timer", "alarm_set") == "For how long?"
    clock[0] += 3600
    late = chat.say("ten minutes")
    assert late.routed_to == "generator" and late.reason == "no_intent"


def test_stop_drops_a_follow_up(chat: Chat, memory) -> None:
    chat.reply("set an alarm", "alarm_set")
    stop = chat.say("never mind")
    assert stop.result.text == "Okay." and stop.result.data["action"] == "stop"
    assert chat.manager.pending(chat.user_id, chat.conversation_id) is None
    assert memory.timers(chat.user_id) == []


def test_alarm_follow_up_with_a_bare_time(chat: Chat, memory) -> None:
    assert chat.reply("wake me up tomorrow", "alarm_set") == "For what time?"
    assert chat.reply("seven thirty") == "Alarm set for 7:30 AM tomorrow."
    (alarm,) = memory.timers(chat.user_id, kind="alarm")
    assert alarm.due_at == (NOW + timedelta(days=1)).replace(hour=7, minute=30)


def test_timer_versus_alarm_and_cancel_which(chat: Chat, memory) -> None:
    assert chat.reply("set a pasta timer for 8 minutes", "alarm_set") == "Pasta timer set for 8 minutes."
    assert chat.reply("set of timer for 2 minutes", "alarm_set") == "Timer set for 2 minutes."  # misheard "a"
    assert chat.reply("cancel my 2 minute timer", "alarm_remove").startswith("Cancelled")
    assert chat.reply("set an alarm for 7 am", "alarm_set") == "Alarm set for 7 AM tomorrow."
    # "timer" in the text wins over an NLU label that says alarm_query
    assert (
        chat.say("start a timer for 1h 30m", "alarm_query").result.text
        == "Timer set for 1 hour and 30 minutes."
    )
    which = chat.reply("cancel my timer", "alarm_remove")
    assert "Which one should I cancel?" in which and "pasta timer" in which
    assert chat.reply("the pasta one") == "Cancelled your pasta timer."
    assert [t.label for t in memory.timers(chat.user_id, kind="timer")] == [None]
    assert chat.reply("cancel my 7 am alarm", "alarm_remove") == "Cancelled your alarm at 7 AM tomorrow."


def test_cancel_all_alarms_asks_first(chat: Chat, memory) -> None:
    chat.reply("set an alarm for 7 am", "alarm_set")
    chat.reply("set an alarm for 8 am", "alarm_set")
    ask = chat.say("cancel all alarms", "alarm_remove")
    assert ask.result.text == "Cancel all 2 alarms? Say yes or no."
    assert len(memory.timers(chat.user_id)) == 2  # nothing happens before yes
    assert chat.reply("no", "general_negate") == "Okay, I'll keep your alarms."
    assert len(memory.timers(chat.user_id)) == 2
    chat.reply("cancel all alarms", "alarm_remove")
    done = chat.say("yes please", "general_affirm")
    assert done.source == "confirmation" and done.result.text == "Cancelled 2 alarms."
    assert memory.timers(chat.user_id) == []


def test_list_add_and_query(chat: Chat, memory) -> None:
    assert chat.reply("add milk and eggs to my shopping list", "lists_createoradd") == (
        "Added milk and eggs to your shopping list."
    )
    # the grocery list is the shopping list (one list, not a second one beside it)
    assert chat.reply("put paper towels on the grocery list", "lists_createoradd") == (
        "Added paper towels to your shopping list."
    )
    assert chat.reply("add milk to my shopping list", "lists_createoradd") == (
        "Milk is already on your shopping list."
    )
    query = chat.say("what's on my shopping list?", "lists_query")
    assert query.result.text == "Your shopping list has 3 items: milk, eggs and paper towels."
    assert query.result.data["list"] == {"name": "shopping", "items": ["milk", "eggs", "paper towels"]}
    assert (
        chat.reply("remove eggs from my shopping list", "lists_remove")
        == "Removed eggs from your shopping list."
    )
    assert (
        chat.reply("is bread on my shopping list", "lists_query") == "No, bread isn't on your shopping list."
    )
    assert chat.reply("what lists do i have", "lists_query") == "You have 1 list: shopping (2 items)."
    assert [i.text for i in memory.get_list(chat.user_id, "shopping").items] == ["milk", "paper towels"]


def test_list_follow_up_for_items(chat: Chat, memory) -> None:
    assert chat.reply("create a packing list", "lists_createoradd") == (
        "I've created your packing list. What should I add?"
    )
    assert chat.reply("socks, a toothbrush and sunscreen") == (
        "Added socks, toothbrush and sunscreen to your packing list."
    )
    assert [i.text for i in memory.get_list(chat.user_id, "packing").items] == [
        "socks",
        "toothbrush",
        "sunscreen",
    ]


def test_delete_list_needs_confirmation(chat: Chat, memory) -> None:
    chat.reply("add milk to my shopping list", "lists_createoradd")
    ask = chat.say("delete my shopping list", "lists_remove")
    assert ask.result.text == "Delete your shopping list with 1 item? Say yes or no."
    assert ask.result.confirmation is not None
    # an unrelated request drops the question and does not delete anything
    assert chat.say("what time is it", "datetime_query").skill == "datetime"
    assert chat.say("yes", "general_affirm").routed_to == "generator"  # nothing pending any more: chit-chat
    assert memory.get_list(chat.user_id, "shopping") is not None
    chat.reply("delete my shopping list", "lists_remove")
    assert chat.reply("yes") == "Deleted your shopping list."
    assert memory.get_list(chat.user_id, "shopping") is None


def test_name_remembered_across_turns_and_restart(chat: Chat, settings) -> None:
    assert chat.reply("what's my name?", "general_quirky").startswith("I don't know your name yet")
    told = chat.say("my name is Ana", "general_quirky", confidence=0.3)  # the rule does not need the NLU
    assert told.skill == "facts" and told.result.text == "Nice to meet you, Ana."
    chat.say("tell me a joke", "general_joke")
    assert chat.reply("what's my name", "general_quirky") == "Your name is Ana."
    # restart: a new Memory and a new manager over the same database file
    dispose_engine(settings.database_url)
    memory2 = open_memory(settings)
    manager2 = DialogManager(memory2, settings)
    conversation = memory2.start_conversation(chat.user_id)
    again = Chat(manager2, memory2, chat.user_id, conversation.id)
    assert again.reply("do you know my name?") == "Your name is Ana."


def test_other_facts(chat: Chat) -> None:
    assert (
        chat.reply("remember that my sister's birthday is May 5")
        == "Got it: your sister's birthday is May 5."
    )
    assert chat.reply("when is my sister's birthday?") == "Your sister's birthday is May 5."
    assert chat.reply("my favourite color is blue") == "Got it: your favorite color is blue."
    assert chat.reply("my favorite color is green") == "Updated: your favorite color is green (it was blue)."
    assert chat.reply("i live in Lisbon") == "Got it: your home city is Lisbon."
    assert chat.reply("where do i live") == "Your home city is Lisbon."
    assert chat.reply("forget my favorite color") == "Okay, I've forgotten your favorite color."
    assert "your home city is Lisbon" in chat.reply("what do you know about me?")
    # a complaint is not a fact
    assert chat.say("my alarm is too loud", "general_quirky").routed_to == "generator"


def test_facts_are_per_user(chat: Chat, memory) -> None:
    chat.reply("my name is Ana")
    bob = memory.user("bob")
    other = Chat(chat.manager, memory, bob.id, memory.start_conversation(bob.id).id)
    assert other.reply("what's my name").startswith("I don't know your name yet")


def test_arithmetic_through_the_manager(chat: Chat) -> None:
    assert chat.reply("what is seven times six", "qa_maths") == "7 times 6 is 42."
    assert (
        chat.reply("what's 15 percent of 80?", "general_quirky", confidence=0.1) == "15 percent of 80 is 12."
    )
    assert chat.reply("do you know how to answer this math question", "qa_maths").startswith(
        "I can only work out"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e9999**9", "too large"),
        ("9**9**9**9", "too large"),
        ("what is " + "9" * 10_000 + " plus 1", "10,000 digits"),
        ("__import__('os')", "I can only work out arithmetic"),
    ],
)
def test_hostile_arithmetic_is_answered_safely(chat: Chat, text: str, expected: str) -> None:
    decision = chat.say(text, "qa_maths")
    assert decision.skill == "arithmetic"
    assert expected in decision.result.text


def test_hostile_text_that_is_not_maths(chat: Chat) -> None:
    huge = chat.say("a" * 100_000, "general_quirky")  # the pipeline reads 2,000 characters; a direct call
    assert huge.routed_to == "generator" and huge.reason == "out_of_scope"  # is not a command either
    big_number = chat.say("9" * 10_000, "qa_factoid")
    assert big_number.skill == "arithmetic" and "10,000 digits" in big_number.result.text
    injection = chat.say("__import__('os').system('rm -rf /')", "general_quirky", confidence=0.9)
    assert injection.routed_to == "generator"
    long_command = chat.say("add milk to my shopping list " * 100, "lists_createoradd")
    assert long_command.routed_to == "generator" and long_command.reason == "out_of_scope"
    assert chat.memory.lists(chat.user_id) == []  # nothing acted on
    empty = chat.say("   ")
    assert empty.source == "guard" and empty.result.text.startswith("I didn't catch")


def test_unit_conversion(chat: Chat) -> None:
    # results are rounded as people say them, with "about" when rounded (the data keeps the exact value)
    converted = chat.say("convert 5 miles to km", "qa_factoid")
    assert converted.result.text == "5 miles is about 8.05 kilometers."
    assert converted.result.data["result"] == pytest.approx(8.04672)
    assert (
        chat.reply("what is 100 fahrenheit in celsius")
        == "100 degrees Fahrenheit is about 37.8 degrees Celsius."
    )
    assert chat.reply("how many cups in a liter") == "1 liter is about 4.23 cups."
    assert chat.reply("how many feet in a mile") == "1 mile is 5280 feet."
    assert chat.reply("what's 5 miles in kilograms").startswith("I can't convert miles (length)")
    currency = chat.say("how much is 10 dollars in euros", "qa_currency")
    assert currency.skill == "currency" and "no currency service is connected" in currency.result.text


def test_time_zones(chat: Chat) -> None:
    tokyo = chat.say("what time is it in Tokyo?", "datetime_query")
    assert tokyo.result.text == "In Tokyo it's 6:15 PM."  # 10:15 in Paris (UTC+1) is 18:15 in Tokyo
    assert tokyo.result.data["zone"] == "Asia/Tokyo"
    assert chat.reply("what time is it", "datetime_query") == "It's 10:15 AM."
    assert chat.reply("what's the date today", "datetime_query") == "Today is Wednesday, March 12, 2025."
    assert chat.reply("what time is it in new york", "datetime_query") == "In New York it's 5:15 AM."
    converted = chat.reply("it's eight fifty five here what time is it in england", "datetime_convert")
    assert converted == "When it's 8:55 AM here, it's 7:55 AM in England."
    india = chat.reply("when it's 11 pm in london what time is it in india", "datetime_convert")
    assert india == "When it's 11 PM in London, it's 4:30 AM the next day in India."
    assert chat.reply("what time is it in narnia", "datetime_query").startswith(
        "I don't know which time zone Narnia"
    )


def test_reminders_and_calendar(chat: Chat, memory) -> None:
    assert (
        chat.reply("remind me to call mom at 5 pm", "calendar_set")
        == "Okay, I'll remind you to call mom at 5 PM today."
    )
    assert chat.reply("remind me in 10 minutes to check the oven", "calendar_set") == (
        "Okay, I'll remind you to check the oven at 10:25 AM today."
    )
    assert chat.reply("remind me to buy stamps", "calendar_set") == "When should I remind you to buy stamps?"
    assert chat.reply("tomorrow at 9 am") == "Okay, I'll remind you to buy stamps at 9 AM tomorrow."
    assert [r.text for r in memory.reminders(chat.user_id)] == ["check the oven", "call mom", "buy stamps"]
    assert (
        chat.reply("delete my reminder to call mom", "calendar_remove") == "Removed the reminder to call mom."
    )

    assert chat.reply("add dentist appointment tomorrow at 3 pm", "calendar_set") == (
        "Added dentist appointment at 3 PM tomorrow to your calendar."
    )
    assert chat.reply("schedule lunch with Sam", "calendar_set") == "When is lunch with Sam?"
    assert chat.reply("friday at 1 pm") == "Added lunch with Sam at 1 PM on Friday to your calendar."
    week = chat.say("what's on my calendar this week", "calendar_query")
    assert week.result.text == (
        "You have 2 events this week: dentist appointment at 3 PM tomorrow and lunch with Sam at 1 PM on Friday."
    )
    assert chat.reply("when is my dentist appointment", "calendar_query") == (
        "Your dentist appointment is at 3 PM tomorrow."
    )
    ask = chat.reply("cancel my dentist appointment", "calendar_remove")
    assert ask == "Remove dentist appointment at 3 PM tomorrow from your calendar? Say yes or no."
    assert chat.reply("yes") == "Removed dentist appointment from your calendar."
    assert [e.title for e in memory.events(chat.user_id)] == ["lunch with Sam"]


def test_repeat_what_did_i_say_and_stop(chat: Chat) -> None:
    assert chat.say("repeat that", "general_repeat").result.text.startswith("I haven't said anything")
    chat.reply("what is two plus two", "qa_maths")
    assert chat.reply("repeat that", "general_repeat") == "2 plus 2 is 4."
    assert chat.reply("what did I just say?", "general_confirm") == "You said: \u201crepeat that\u201d"
    stop = chat.say("stop", "general_commandstop")
    assert stop.result.data["action"] == "stop"


def test_jokes_do_not_repeat_back_to_back(chat: Chat) -> None:
    previous = None
    for _ in range(12):
        joke = chat.reply("tell me a joke", "general_joke")
        assert joke in JOKES and joke != previous
        previous = joke


def test_help_lists_real_skills(chat: Chat) -> None:
    answer = chat.say("what can you do?", "general_quirky")
    assert answer.skill == "help"
    skills = answer.result.data["skills"]
    assert {"timers", "lists", "arithmetic", "units", "datetime", "facts"} <= set(skills)
    assert "weather" in answer.result.data["not_connected"] and "weather" not in skills
    assert "home" in answer.result.data["not_connected"]  # no Home Assistant configured here


def test_routing_to_the_generator(chat: Chat) -> None:
    low = chat.say("turn the thing", "iot_hue_lighton", confidence=0.2)
    assert low.routed_to == "generator" and low.reason == "low_confidence"
    assert chat.say("who was the first president", "qa_factoid").reason == "open_question"
    assert chat.say("you are great", "general_praise").reason == "chit_chat"
    assert chat.say("what's the meaning of life", "oos").reason == "out_of_scope"
    assert chat.say("hmm", None).reason == "no_intent"
    assert chat.say("book a flight", "made_up_label").reason == "unsupported"
    # the threshold is the caller's (the NLU model's tuned value)
    assert (
        chat.say("what time is it", "datetime_query", confidence=0.6, threshold=0.7).skill == "datetime"
    )  # rule
    assert (
        chat.say("flip the lights", "iot_hue_lighton", confidence=0.6, threshold=0.7).routed_to == "generator"
    )


def test_services_are_not_connected_by_default(chat: Chat) -> None:
    weather = chat.say("what's the weather like", "weather_query")
    assert weather.skill == "weather"
    assert weather.result.text == "I can't check the weather: no weather service is connected to me."
    assert weather.result.data == {"service": "weather", "connected": False}
    assert chat.say("play some jazz", "play_music").skill == "music"
    assert "Home Assistant isn't set up" in chat.reply("turn on the kitchen lights", "iot_hue_lighton")


def test_skills_decline_what_they_do_not_know(chat: Chat, memory) -> None:
    assert chat.reply("what is the square of 4", "qa_maths") == "The square of 4 is 16."
    # the date of a holiday is not something the datetime skill knows: no "today is ..." answer
    assert chat.say("what date is easter sunday this year", "datetime_query").routed_to == "generator"
    # a music playlist is not one of our lists
    chat.reply("add milk to my shopping list", "lists_createoradd")
    assert chat.say("what is on my rap playlist", "lists_query").routed_to == "generator"
    assert chat.reply("remind me of my appointment on friday at 8 am", "calendar_set") == (
        "Okay, I'll remind you about your appointment at 8 AM on Friday."
    )
    chat.reply("add sherlock holmes to my library list", "lists_createoradd")
    assert chat.reply("delete sherlock holmes from library", "lists_remove") == (
        "Removed sherlock holmes from your library list."
    )
