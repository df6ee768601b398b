"""A turn talks to the memory in a few short transactions: identity resolved once, what the reply needs
read at once, the turn stored at once (issue 17: at most 4 for a generated turn)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.events import IntentEvent, TurnDoneEvent, TurnRequest
from tests.dialog_generator.conftest import FakeChatServer, chat_server  # noqa: F401 (fixture)


class CountingDatabase:
    """The real database, counting each read and write transaction."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db, self.count = db, Counter()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.db, name)

    @contextmanager
    def read(self) -> Iterator:
        self.count["read"] += 1
        with self.db.read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator:
        self.count["write"] += 1
        with self.db.write() as session:
            yield session


@pytest.fixture
def pipeline(chat_server: FakeChatServer, tmp_path: Path):  # noqa: F811
    from assistant.pipeline import Pipeline

    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        os.environ.pop(key)
    chat_server.pieces = ["Rainbows form when sunlight ", "is bent by raindrops."]
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "generator": {"backend": "openai-compatible", "url": chat_server.url, "model": "x"},
        }
    )
    pipe = Pipeline(settings)
    pipe.memory.db = CountingDatabase(pipe.memory.db)
    yield pipe
    pipe.runtime.close()


def _turn(pipe, request: TurnRequest) -> tuple[TurnDoneEvent, str, int]:  # type: ignore[no-untyped-def]
    pipe.memory.db.count.clear()
    events = list(pipe.run(request))
    done = events[-1]
    assert isinstance(done, TurnDoneEvent), events
    routed = next(e for e in events if isinstance(e, IntentEvent)).routed_to
    return done, routed, sum(pipe.memory.db.count.values())


def test_a_generated_turn_costs_at_most_four_transactions(pipeline) -> None:  # type: ignore[no-untyped-def]
    user = pipeline.memory.user("ana")
    first, routed, _ = _turn(pipeline, TurnRequest(user="ana", text="how does a rainbow form"))
    assert routed == "generator"
    for _ in range(3):  # with history and facts to read
        done, routed, transactions = _turn(
            pipeline,
            TurnRequest(user_id=user.id, conversation_id=first.conversation_id, text="why is the sky blue"),
        )
        assert routed == "generator" and done.conversation_id == first.conversation_id
        assert transactions <= 4, pipeline.memory.db.count
    _, _, by_name = _turn(pipeline, TurnRequest(user="ana", text="what makes thunder so loud"))
    assert by_name <= 4, pipeline.memory.db.count


def test_someone_elses_conversation_is_refused(pipeline) -> None:  # type: ignore[no-untyped-def]
    ana, bob = pipeline.memory.user("ana"), pipeline.memory.user("bob")
    mine = pipeline.memory.start_conversation(ana.id)
    events = list(pipeline.run(TurnRequest(user_id=bob.id, conversation_id=mine.id, text="hello")))
    assert [e.kind for e in events] == ["error"] and "not found" in events[0].message
    assert pipeline.memory.count_turns(conversation_id=mine.id) == 0


def test_words_heard_ahead_are_read_once(pipeline) -> None:  # type: ignore[no-untyped-def]
    """Hands-free end-pointing reads the words heard so far; the turn with the same words does not read them
    again (the NLU ran twice per spoken turn before)."""
    from assistant.listening import Listening

    model = pipeline.runtime.nlu_model()
    real, calls = model.predict, []
    model.predict = lambda texts: calls.append(list(texts)) or real(texts)
    try:
        assert Listening(pipeline.runtime).sounds_complete("add milk to my shopping list")
        done, routed, _ = _turn(pipeline, TurnRequest(user="ana", text="add milk to my shopping list"))
        assert routed == "skill:lists" and "milk" in done.reply.lower()
    finally:
        model.predict = real
    assert calls == [["add milk to my shopping list"]]
