"""Memory across conversations: earlier turns recalled into the generator's prompt (issue 16 part 3)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from assistant.config import load_settings
from assistant.dialog.prompt import build_messages
from assistant.dialog.recall import RECALL_HEADER, approx_tokens, recalled_block
from assistant.events import IntentEvent, TurnDoneEvent, TurnRequest
from assistant.memory.models import TurnVector
from assistant.memory.recall import RecalledTurn
from tests.dialog_generator.conftest import FakeChatServer, chat_server  # noqa: F401 (fixture)
from tests.foundation.conftest import memory, postgres_admin_url, settings  # noqa: F401 (fixtures)

TRIP = "We're flying to Lisbon on the twelfth of June for my sister's wedding, I'm so excited."
SMALL_TALK = [
    "How are you today?",
    "Tell me a joke.",
    "Why is the sky blue?",
    "I had pasta for lunch.",
    "It's raining again here.",
    "I watched a documentary about octopuses.",
    "Recommend a board game.",
    "I cleaned the kitchen.",
]


def _settings(tmp_path: Path, url: str, **generator):  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        os.environ.pop(key)
    base = {"backend": "openai-compatible", "url": url, "model": "x"}
    return load_settings({"data_dir": str(tmp_path), "generator": base | generator})


def _turn(pipe, request: TurnRequest):  # type: ignore[no-untyped-def]
    events = list(pipe.run(request))
    assert isinstance(events[-1], TurnDoneEvent), events
    return events[-1], next(e for e in events if isinstance(e, IntentEvent)).routed_to


def _prompt(chat_server: FakeChatServer) -> list[dict]:  # noqa: F811
    return chat_server.requests[-1]["body"]["messages"]


def test_a_detail_40_turns_back_in_another_conversation_is_recalled_after_a_restart(
    chat_server: FakeChatServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    from assistant.pipeline import Pipeline

    chat_server.pieces = ["Okay."]
    config = _settings(tmp_path, chat_server.url)
    pipe = Pipeline(config)
    ana = pipe.memory.user("ana")
    first, _ = _turn(pipe, TurnRequest(user_id=ana.id, text=TRIP))
    second = pipe.memory.start_conversation(ana.id).id
    for i in range(40):  # 40 turns of small talk after it, in this and a second conversation
        conversation = first.conversation_id if i < 20 else second
        _turn(
            pipe,
            TurnRequest(user_id=ana.id, conversation_id=conversation, text=SMALL_TALK[i % len(SMALL_TALK)]),
        )
    pipe.runtime.close()

    restarted = Pipeline(config)  # a new process would open the same database file
    new = restarted.memory.start_conversation(ana.id)
    try:
        done, routed = _turn(
            restarted,
            TurnRequest(user_id=ana.id, conversation_id=new.id, text="What did I tell you about my trip?"),
        )
    finally:
        restarted.runtime.close()
    assert routed == "generator"
    messages = _prompt(chat_server)
    recalled = [m for m in messages[:-1] if m["role"] == "system" and m["content"].startswith(RECALL_HEADER)]
    assert len(recalled) == 1 and "Lisbon" in recalled[0]["content"]
    assert messages[-2] is recalled[0] and messages[-1]["role"] == "user"  # right before the question

    off = Pipeline(_settings(tmp_path, chat_server.url, recall=False))
    try:
        _turn(
            off,
            TurnRequest(user_id=ana.id, conversation_id=new.id, text="What did I tell you about my trip?"),
        )
    finally:
        off.runtime.close()
    assert all("Lisbon" not in m["content"] for m in _prompt(chat_server))


def test_turns_in_the_recent_window_are_not_recalled_again(
    chat_server: FakeChatServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    from assistant.pipeline import Pipeline

    pipe = Pipeline(_settings(tmp_path, chat_server.url))
    try:
        first, _ = _turn(pipe, TurnRequest(user="ana", text=TRIP))
        _turn(pipe, TurnRequest(user="ana", conversation_id=first.conversation_id, text="Tell me a joke."))
        _, routed = _turn(
            pipe,
            TurnRequest(
                user="ana", conversation_id=first.conversation_id, text="What did I tell you about my trip?"
            ),
        )
    finally:
        pipe.runtime.close()
    assert routed == "generator"
    contents = [m["content"] for m in _prompt(chat_server)]
    assert sum("Lisbon" in c for c in contents) == 1  # in the history only
    assert not any(c.startswith(RECALL_HEADER) and "Lisbon" in c for c in contents)


def test_forget_me_erases_the_recall_memory(chat_server: FakeChatServer, tmp_path: Path) -> None:  # noqa: F811
    from assistant.dialog.recall import sentence_encoder
    from assistant.pipeline import Pipeline

    pipe = Pipeline(_settings(tmp_path, chat_server.url))
    try:
        ana = pipe.memory.user("ana")
        _turn(pipe, TurnRequest(user_id=ana.id, text=TRIP))
        _turn(pipe, TurnRequest(user_id=ana.id, text="Tell me a joke."))
        query = sentence_encoder().encode("my trip")
        assert pipe.memory.recall_turns(ana.id, query)
        with pipe.memory.db.read() as session:
            assert session.scalar(select(func.count()).select_from(TurnVector)) >= 1
        assert pipe.memory.forget_user(ana.id)
        with pipe.memory.db.read() as session:
            assert session.scalar(select(func.count()).select_from(TurnVector)) == 0
        assert pipe.memory.recall_turns(ana.id, query) == []
    finally:
        pipe.runtime.close()


def test_recall_is_per_user_and_drops_weak_matches(chat_server: FakeChatServer, tmp_path: Path) -> None:  # noqa: F811
    from assistant.dialog.recall import sentence_encoder
    from assistant.pipeline import Pipeline

    pipe = Pipeline(_settings(tmp_path, chat_server.url))
    try:
        ana, bob = pipe.memory.user("ana"), pipe.memory.user("bob")
        _turn(pipe, TurnRequest(user_id=ana.id, text=TRIP))
        query = sentence_encoder().encode("What did I say about my trip?")
        assert [t.user_text for t in pipe.memory.recall_turns(ana.id, query)] == [TRIP]
        assert pipe.memory.recall_turns(bob.id, query) == []
        assert pipe.memory.recall_turns(ana.id, query, min_score=0.99) == []
        assert pipe.memory.recall_turns(ana.id, np.zeros(384, np.float32)) == []  # no direction: nothing
    finally:
        pipe.runtime.close()


def _recalled(turn_id: int, text: str) -> RecalledTurn:
    from datetime import UTC, datetime

    return RecalledTurn(turn_id, 1, text, "", datetime.now(UTC), 0.5)


def test_the_recalled_block_respects_its_budget() -> None:
    turns = [_recalled(i, f"detail number {i} " + "word " * 200) for i in range(10)]
    for budget in (0, 20, 90, 160, 400):
        block = recalled_block(turns, budget)
        if block is None:
            assert budget < 100  # a clipped turn (300 chars) needs ~90 tokens with the header
        else:
            assert approx_tokens(block) <= budget and block.startswith(RECALL_HEADER)
    short = [_recalled(3, "I bought a kayak."), _recalled(1, "My dog is Biscuit.")]
    block = recalled_block(short, 160)
    assert block is not None and block.index("Biscuit") < block.index("kayak")  # oldest first
    messages = build_messages("what did I buy?", history=[("hi", "hello")], recalled=block)
    assert [m.role for m in messages] == ["system", "user", "assistant", "system", "user"]
    assert build_messages("hi", recalled=None)[-2].role == "system"  # only the persona
    assert len(build_messages("hi", recalled="  ")) == 2


def test_vectors_are_stored_recalled_and_forgotten_on_sqlite_and_postgresql(memory) -> None:  # noqa: F811
    """The same code on both databases: cosine in numpy over stored float16 vectors, no extension."""
    from assistant.memory import NewTurn

    ana, bob = memory.user("ana"), memory.user("bob")
    first = memory.start_conversation(ana.id)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 384)).astype(np.float32)
    ids = [
        memory.append_turn(ana.id, first.id, NewTurn(user_text=f"detail {i}"), vector=v).id
        for i, v in enumerate(vectors)
    ]
    found = memory.recall_turns(ana.id, vectors[4], k=2)
    assert found[0].turn_id == ids[4] and found[0].score > 0.99 and len(found) == 2
    assert all(t.turn_id != ids[4] for t in memory.recall_turns(ana.id, vectors[4], exclude={ids[4]}))
    assert memory.recall_turns(bob.id, vectors[4]) == []
    assert not memory.add_turn_vector(bob.id, ids[0], vectors[0])  # not bob's turn
    assert memory.forget_user(ana.id)
    with memory.db.read() as session:
        assert session.scalar(select(func.count()).select_from(TurnVector)) == 0


def test_a_skill_turn_pays_nothing_and_is_recalled_after_the_next_generated_turn(
    chat_server: FakeChatServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Skill turns are stored without a vector (no encoder on their path); the next generated turn encodes
    them in its recall read, searches them and stores their vectors with its own turn."""
    from assistant.pipeline import Pipeline

    pipe = Pipeline(_settings(tmp_path, chat_server.url))
    try:
        ana = pipe.memory.user("ana")
        skill, routed = _turn(
            pipe, TurnRequest(user_id=ana.id, text="add sunscreen for the lisbon trip to my shopping list")
        )
        assert routed != "generator"
        with pipe.memory.db.read() as session:
            assert session.get(TurnVector, skill.turn_id) is None  # stored without one
        new = pipe.memory.start_conversation(ana.id)
        _, routed = _turn(
            pipe,
            TurnRequest(
                user_id=ana.id, conversation_id=new.id, text="What did I want to remember for Lisbon?"
            ),
        )
        assert routed == "generator"
        recalled = [m["content"] for m in _prompt(chat_server) if m["content"].startswith(RECALL_HEADER)]
        assert len(recalled) == 1 and "sunscreen" in recalled[0]
        with pipe.memory.db.read() as session:
            assert session.get(TurnVector, skill.turn_id) is not None  # caught up, stored with the turn
    finally:
        pipe.runtime.close()
