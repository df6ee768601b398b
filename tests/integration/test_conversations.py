"""Scripted conversations through the real pipeline with the default models (text in, text out)."""

from __future__ import annotations

import time

import pytest

from assistant.events import (
    ErrorEvent,
    IntentEvent,
    SkillEvent,
    TextEvent,
    TimingEvent,
    TurnDoneEvent,
    TurnRequest,
)

pytestmark = pytest.mark.slow


class Conversation:
    """One user talking to the pipeline; keeps the conversation id between turns."""

    def __init__(self, pipeline, user: str) -> None:
        self.pipeline, self.user, self.conversation_id = pipeline, user, None

    def say(self, text: str, **extra):
        events = list(
            self.pipeline.run(
                TurnRequest(user=self.user, text=text, conversation_id=self.conversation_id, **extra)
            )
        )
        done = [e for e in events if isinstance(e, TurnDoneEvent)]
        if done:
            self.conversation_id = done[0].conversation_id
        return Turn(events)


class Turn:
    def __init__(self, events) -> None:
        self.events = events
        self.reply = "".join(e.text for e in events if isinstance(e, TextEvent))
        self.intent = next((e for e in events if isinstance(e, IntentEvent)), None)
        self.skill = next((e for e in events if isinstance(e, SkillEvent)), None)
        self.error = next((e for e in events if isinstance(e, ErrorEvent)), None)
        self.done = next((e for e in events if isinstance(e, TurnDoneEvent)), None)
        self.timings = {e.stage: e.ms for e in events if isinstance(e, TimingEvent)}

    @property
    def answered_by(self) -> str | None:
        return self.done.answered_by if self.done else None


def test_timer_follow_up(pipeline) -> None:
    chat = Conversation(pipeline, "timer-user")
    first = chat.say("set a timer")
    assert first.skill is not None and first.reply.strip().endswith("?"), first.reply
    second = chat.say("ten minutes")
    assert second.skill is not None, second.reply
    assert "10 minutes" in second.reply or "ten minutes" in second.reply
    user = pipeline.memory.user("timer-user")
    (timer,) = pipeline.memory.timers(user.id)
    assert timer.duration_s == 600


def test_list_add_and_query(pipeline) -> None:
    chat = Conversation(pipeline, "list-user")
    added = chat.say("add milk to my shopping list")
    assert added.skill is not None, (added.intent, added.reply)
    chat.say("put eggs on the shopping list")
    asked = chat.say("what is on my shopping list")
    assert "milk" in asked.reply and "eggs" in asked.reply, asked.reply
    user = pipeline.memory.user("list-user")
    assert [i.text for i in pipeline.memory.get_list(user.id, "shopping").items] == ["milk", "eggs"]


def test_name_remembered_across_turns_and_restart(pipeline_factory, pipeline) -> None:
    chat = Conversation(pipeline, "fact-user")
    chat.say("my name is Ana")
    assert "Ana" in chat.say("what is my name").reply
    restarted = pipeline_factory()  # a new process would open the same database
    assert "Ana" in Conversation(restarted, "fact-user").say("what's my name?").reply
    assert "Ana" not in Conversation(restarted, "someone-else").say("what is my name").reply


def test_arithmetic(pipeline) -> None:
    turn = Conversation(pipeline, "math-user").say("what is 12 times 7")
    assert turn.skill is not None and "84" in turn.reply, turn.reply


def test_out_of_scope_goes_to_the_generator(pipeline) -> None:
    turn = Conversation(pipeline, "oos-user").say("why do cats purr when they are happy")
    assert turn.intent is not None and turn.intent.routed_to == "generator", turn.intent
    assert turn.done is not None and turn.reply.strip()
    assert turn.answered_by not in (None, "fallback")
    assert "generator_first_token" in turn.timings


@pytest.mark.parametrize(
    "text",
    ["1e9999**9", "__import__('os').system('echo pwned')", "9" * 10_000, "a " * 50_000, "9**9**9**9"],
    ids=["huge-exponent", "import", "10k-digits", "100kB", "power-tower"],
)
def test_hostile_input_answered_safely_and_quickly(pipeline, text: str) -> None:
    start = time.monotonic()
    turn = Conversation(pipeline, "hostile-user").say(text)
    elapsed = time.monotonic() - start
    assert turn.error is None and turn.done is not None
    if turn.skill is not None:  # a skill never evaluates the text (the generator may quote it back)
        assert "pwned" not in turn.reply
    assert elapsed < 60  # a bound against hangs, not a speed target


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02"], ids=["empty", "spaces", "control"])
def test_empty_input_gets_a_clear_message(pipeline, text: str) -> None:
    turn = Conversation(pipeline, "empty-user").say(text)
    assert turn.error is not None and "words" in turn.error.message
    assert Conversation(pipeline, "empty-user").say("what time is it").done is not None  # still usable


def test_swap_nlu_model_per_request(pipeline) -> None:
    turn = Conversation(pipeline, "swap-user").say("what time is it", nlu_override="tfidf-logreg")
    assert turn.intent is not None and turn.intent.intent.model.startswith("tfidf")
    assert turn.intent.intent.label == "datetime_query"
