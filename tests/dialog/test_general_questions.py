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
