"""Behaviour both local runtimes of SmolLM2 share: transformers (LocalLM) and llama.cpp (LlamaCppLM)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from assistant.dialog.prompt import build_messages
from assistant.dialog.types import Message

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("runtime", ["smollm2", "llamacpp"])]


def _length(ids: Any) -> int:
    return int(ids.shape[-1]) if hasattr(ids, "shape") else len(ids)


def test_streams_a_short_clean_reply(runtime: str, request: pytest.FixtureRequest) -> None:
    lm = request.getfixturevalue(runtime)
    pieces = list(lm.stream(build_messages("What is the capital of France?")))
    assert pieces and all(isinstance(piece, str) for piece in pieces)
    reply = "".join(pieces).strip()
    assert reply and "<|im_end|>" not in reply and "<|im_start|>" not in reply
    assert "paris" in reply.lower(), reply  # not gibberish: the assistant's own prompt gets the answer
    stats = lm.last_stats
    assert stats is not None and 1 <= stats.new_tokens <= 12 and stats.first_token_s is not None


def test_follow_up_turns_reuse_the_cached_prefix(runtime: str, request: pytest.FixtureRequest) -> None:
    lm = request.getfixturevalue(runtime)
    history: list[tuple[str, str]] = []
    for question in ("Hi, my name is Ana.", "Tell me about cats.", "Stop."):
        messages = build_messages(question, facts={"name": "Ana"}, history=history)
        reply = "".join(lm.stream(messages)).strip()
        history.append((question, reply))
    stats = lm.last_stats
    assert stats is not None
    assert stats.prompt_tokens - 40 < stats.reused_prompt_tokens < stats.prompt_tokens
    other = "".join(lm.stream([Message("user", "A different conversation.")]))
    # a different start shares at most the chat template's opening tokens ("<|im_start|>system\n…")
    assert other.strip() and lm.last_stats.reused_prompt_tokens < 10


def test_prompt_is_cut_to_the_context_budget(runtime: str, request: pytest.FixtureRequest) -> None:
    lm = request.getfixturevalue(runtime)
    history = [
        (f"Tell me about topic number {i} in detail please.", "It is a long story. " * 12) for i in range(8)
    ]
    messages = build_messages("Thanks!", facts={"name": "Ana"}, history=history)
    full, dropped = lm.encode(messages)
    assert dropped == 0
    budget = lm.max_prompt_tokens
    try:
        lm.max_prompt_tokens = _length(full) // 2
        ids, dropped = lm.encode(messages)
        assert _length(ids) <= lm.max_prompt_tokens and dropped >= 2
        if runtime == "smollm2":
            text = lm.tokenizer.decode(ids[0])
            assert "name: Ana" in text and text.rstrip().endswith("Thanks!<|im_end|>\n<|im_start|>assistant")
        lm.max_prompt_tokens = 64  # the newest message alone is too long: it is cut, nothing fails
        ids, _ = lm.encode([Message("user", "word " * 500)])
        assert _length(ids) <= 64
    finally:
        lm.max_prompt_tokens = budget


def test_closing_the_stream_early_frees_the_model(runtime: str, request: pytest.FixtureRequest) -> None:
    lm = request.getfixturevalue(runtime)
    stream = lm.stream([Message("user", "Write a long story about a dragon.")])
    next(iter(stream))
    stream.close()  # the user said "stop"
    assert not lm._lock.locked()
    assert "".join(lm.stream([Message("user", "Hi!")])).strip()


def test_shared_between_threads(runtime: str, request: pytest.FixtureRequest) -> None:
    lm = request.getfixturevalue(runtime)
    replies: dict[int, str] = {}

    def ask(i: int) -> None:
        replies[i] = "".join(lm.stream([Message("user", f"Say a word about the number {i}.")]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(replies) == 2 and all(reply.strip() for reply in replies.values())
