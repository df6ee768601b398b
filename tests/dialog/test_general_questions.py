"""A question about a subject is not a request to a skill ("why do people set alarms for 6:58", "what is a
bucket list", "how did the beatles change music"): the generator answers it, whatever intent the NLU gave,
while the same skills still take the requests that are theirs."""

from __future__ import annotations

import pytest

from assistant.dialog.skills.common import is_general_question


@pytest.mark.parametrize(
    "text",
    [
        "why do people set alarms for odd times like 6:58",
        "how does a kitchen timer work",
        "how did the beatles change music",
        "what is a bucket list",
        "what's the history of the yellow taxi cab",
        "what are alarms for",
        "explain how email encryption works",
        "what's the difference between a podcast and a radio show",
        "who invented the alarm clock",
    ],
)
def test_general_questions(text: str) -> None:
    assert is_general_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "what are my alarms",
        "what are the items on my shopping list",
        "how do i add milk to my list",
        "what is on my calendar today",
        "what's the weather like tomorrow",
        "set an alarm for 7 am",
        "what is 12 times 7",
    ],
)
def test_requests_are_not_general_questions(text: str) -> None:
    assert not is_general_question(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("why do people set alarms for odd times like 6:58", "alarm_set"),
        ("what is a bucket list and where did the phrase come from", "lists_query"),
        ("make a list of side hustles i could start", "lists_createoradd"),
        ("show me a list of top rated airlines", "lists_query"),
        ("how did the beatles change music", "music_query"),
        ("why do news channels lean one way", "news_query"),
        ("what's the history of the yellow taxi cab", "transport_taxi"),
        # about something said earlier (any conversation): the generator's recall answers, not "repeat"
        ("what did i say my new job is", "general_confirm"),
        ("what did I say about my daughter?", "general_repeat"),
    ],
)
def test_questions_about_a_subject_reach_the_generator(chat, text: str, label: str) -> None:
    decision = chat.say(text, label)
    assert decision.result is None, decision
    assert decision.reason == "unsupported"


@pytest.mark.parametrize(
    ("text", "label", "skill"),
    [
        ("what are my alarms", "alarm_query", "timers"),
        ("add milk to my shopping list", "lists_createoradd", "lists"),
        ("what's the news today", "news_query", "news"),
        ("play some jazz", "play_music", "music"),
    ],
)
def test_requests_still_reach_their_skill(chat, text: str, label: str, skill: str) -> None:
    assert chat.say(text, label).skill == skill


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # sounds like a service's requests, but is no clear request for it (CLINC150 oos test lines)
        ("what's the cost of bottled water", "qa_stock"),
        ("i want to find new cyberpunk fiction books", "takeaway_query"),
        ("find engineering programs to apply to", "transport_query"),
        ("does denim go with anything", "takeaway_query"),
        # what the skill cannot act on: a picture, a car, a lesson, a world list, an event, a recollection
        ("can you colorize a black and white photo", "iot_hue_lightchange"),
        ("vacuum out the car", "iot_cleaning"),
        ("can you tell me how to multiply two fractions", "qa_maths"),
        ("i want to install new tiles in my kitchen", "lists_createoradd"),
        ("are polar bears on the endangered species list", "lists_query"),
        ("are there any sales on groceries today", "lists_query"),
        ("let me know what time the patriots game starts", "datetime_query"),
        ("how long is the school year", "datetime_query"),
        ("remind me what my weight loss goals are", "calendar_set"),
    ],
)
def test_what_a_skill_cannot_do_reaches_the_generator(chat, text: str, label: str) -> None:
    decision = chat.say(text, label)
    assert decision.result is None, decision


@pytest.mark.parametrize(
    "text",
    [
        "i need to find a black suit under $100",
        "make an ad to sell my real estate",
        "what is the time signature for the castlevania song bloody tears",
        "remind me of the address for my workplace please",
    ],
)
def test_rules_do_not_claim_lookalikes(chat, text: str) -> None:
    decision = chat.say(text, "general_quirky", confidence=0.1)
    assert decision.result is None, decision


@pytest.mark.parametrize(
    ("text", "label", "skill"),
    [
        ("what's the price of apple stock", "qa_stock", "stocks"),
        ("do i need an umbrella tomorrow", "weather_query", "weather"),
        ("have i got any new emails from mom", "email_query", "email"),
        ("get me a taxi to the station", "transport_taxi", "transport"),
        ("order a pizza from dominos", "takeaway_order", "takeaway"),
        ("turn off the kitchen lights", "iot_hue_lightoff", "home"),
        ("what is seven times six", "qa_maths", "arithmetic"),
        ("add eggs", "lists_createoradd", "lists"),
        ("i need to buy toothpaste", "lists_createoradd", "lists"),
        ("what's on my packing list", "lists_query", "lists"),
        ("remind me to call mom at 5 pm", "calendar_set", "reminders"),
        ("what time is it in tokyo", "datetime_query", "datetime"),
        ("convert 100 dollars to euros", "qa_currency", "currency"),
        ("what's the exchange rate for the euro", "qa_currency", "currency"),
    ],
)
def test_clear_requests_reach_their_skill(chat, text: str, label: str, skill: str) -> None:
    assert chat.say(text, label).skill == skill


def test_a_list_of_the_users_is_theirs_without_my(chat) -> None:
    assert chat.say("what's on the packing list", "lists_query").skill is None  # none yet: a world list?
    chat.reply("add socks to my packing list", "lists_createoradd")
    assert chat.say("what's on the packing list", "lists_query").skill == "lists"
