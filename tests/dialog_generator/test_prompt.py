"""The prompt builder: persona, facts, history, and caps on every part."""

from __future__ import annotations

from assistant.dialog.prompt import MAX_TURN_CHARS, MAX_USER_CHARS, PERSONA, build_messages, clip
from assistant.dialog.types import Message


def test_persona_facts_history_and_user_text_in_order() -> None:
    messages = build_messages(
        "and what is my name?",
        facts={"name": "Ana", "favourite_colour": "green"},
        history=[("hi", "Hello! How can I help?"), ("I like tea", "Tea is lovely.")],
    )
    assert [m.role for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    system = messages[0].content
    assert system.startswith(PERSONA)
    assert "- name: Ana" in system and "- favourite colour: green" in system
    assert "Skill result" not in system
    assert messages[1].content == "hi" and messages[4].content == "Tea is lovely."
    assert messages[-1] == Message("user", "and what is my name?")


def test_history_is_the_window_given_and_accepts_messages() -> None:
    """The window is chosen once, where the turns are read (history_window); the prompt keeps it whole."""
    from assistant.dialog.prompt import history_window

    pairs = [(f"question {i}", f"answer {i}") for i in range(10)]
    window = pairs[len(pairs) - history_window(len(pairs), 6) :]
    messages = build_messages("next", history=window)
    assert [m.content for m in messages[1:-1]] == [
        "question 6", "answer 6", "question 7", "answer 7", "question 8", "answer 8", "question 9", "answer 9",
    ]  # fmt: skip
    as_messages = [Message("assistant", "orphan"), Message("user", "hi"), Message("assistant", "hello"),
                   Message("system", "ignored")]  # fmt: skip
    assert [m.content for m in build_messages("x", history=as_messages)[1:-1]] == ["hi", "hello"]
    assert len(build_messages("x", history=[])) == 2


def test_every_part_is_capped() -> None:
    huge = "word " * 20_000  # 100 kB
    messages = build_messages(
        huge,
        facts={f"fact_{i}": huge for i in range(100)},
        history=[(huge, huge)] * 6,  # the window the caller read (history_window)
    )
    assert len(messages[-1].content) <= MAX_USER_CHARS and messages[-1].content.endswith("…")
    assert all(len(m.content) <= MAX_TURN_CHARS for m in messages[1:-1]) and len(messages) == 14
    assert sum(len(m.content) for m in messages) < 20_000
    assert messages[0].content.count("\n- fact") == 20


def test_clip_and_empty_input() -> None:
    assert clip("short", 10) == "short"
    clipped = clip("alpha beta gamma delta epsilon", 20)
    assert len(clipped) <= 20 and clipped.endswith(" …") and clipped.startswith("alpha beta")
    assert build_messages("   ")[-1].content == "…"


def test_history_window_moves_in_jumps_so_prompts_extend_each_other() -> None:
    from assistant.dialog.prompt import history_window

    sizes = [history_window(total, 6) for total in range(0, 14)]
    assert sizes == [0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6, 4]
    starts = [total - size for total, size in enumerate(sizes)]
    assert starts == sorted(starts) and len(set(starts)) == 4  # the start moved 3 times in 13 turns
    assert all(size <= 6 for size in sizes) and history_window(5, 0) == 0
