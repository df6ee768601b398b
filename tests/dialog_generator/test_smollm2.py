"""The default generator with the real SmolLM2-135M model (converted once, then loaded from the cache)."""

from __future__ import annotations

import threading

import pytest

from assistant.dialog.generators.local import LocalLM
from assistant.dialog.prompt import build_messages
from assistant.dialog.types import Message

pytestmark = pytest.mark.slow


def test_streams_a_nonempty_reply(smollm2: LocalLM) -> None:
    assert smollm2.name == "smollm2-135m" and smollm2.dtype == "float32"  # auto on CPU
    pieces = list(smollm2.stream(build_messages("What is the capital of France?")))
    assert pieces and all(isinstance(piece, str) for piece in pieces)
    reply = "".join(pieces).strip()
    assert reply and "<|im_end|>" not in reply and "<|im_start|>" not in reply
    stats = smollm2.last_stats
    assert stats is not None and 1 <= stats.new_tokens <= 12 and stats.first_token_s is not None


def test_replies_follow_the_prompt(smollm2: LocalLM) -> None:
    """Not gibberish: greedy replies to simple requests carry the expected words."""
    reply = "".join(smollm2.stream([Message("user", "What is the capital of France?")])).lower()
    assert "paris" in reply, reply


def test_follow_up_turns_reuse_the_cached_prefix(smollm2: LocalLM) -> None:
    history: list[tuple[str, str]] = []
    for question in ("Hi, my name is Ana.", "Tell me about cats.", "Stop."):
        messages = build_messages(question, facts={"name": "Ana"}, history=history)
        reply = "".join(smollm2.stream(messages)).strip()
        history.append((question, reply))
    stats = smollm2.last_stats
    assert stats is not None
    assert stats.prompt_tokens - 40 < stats.reused_prompt_tokens < stats.prompt_tokens
    other = "".join(smollm2.stream([Message("user", "A different conversation.")]))
    assert other.strip() and smollm2.last_stats.reused_prompt_tokens == 0  # different start: fresh cache


def test_prompt_is_cut_to_the_context_budget(smollm2: LocalLM) -> None:
    history = [
        (f"Tell me about topic number {i} in detail please.", "It is a long story. " * 12) for i in range(8)
    ]
    messages = build_messages("Thanks!", facts={"name": "Ana"}, history=history)
    full_ids, dropped = smollm2.encode(messages)
    assert dropped == 0
    budget = smollm2.max_prompt_tokens
    try:
        smollm2.max_prompt_tokens = full_ids.shape[-1] // 2
        ids, dropped = smollm2.encode(messages)
        assert ids.shape[-1] <= smollm2.max_prompt_tokens and dropped >= 2
        text = smollm2.tokenizer.decode(ids[0])
        assert "name: Ana" in text and text.rstrip().endswith("Thanks!<|im_end|>\n<|im_start|>assistant")
        smollm2.max_prompt_tokens = 64  # the newest message alone is too long: it is cut, nothing fails
        ids, _ = smollm2.encode([Message("user", "word " * 500)])
        assert ids.shape[-1] <= 64
    finally:
        smollm2.max_prompt_tokens = budget


def test_closing_the_stream_early_cancels_and_frees_the_model(smollm2: LocalLM) -> None:
    stream = smollm2.stream([Message("user", "Write a long story about a dragon.")])
    next(iter(stream))
    stream.close()  # the user said "stop"
    assert not smollm2._lock.locked()
    assert "".join(smollm2.stream([Message("user", "Hi!")])).strip()


def test_shared_between_threads(smollm2: LocalLM) -> None:
    replies: dict[int, str] = {}

    def ask(i: int) -> None:
        replies[i] = "".join(smollm2.stream([Message("user", f"Say a word about the number {i}.")]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(replies) == 2 and all(reply.strip() for reply in replies.values())


def test_int8_weights_keep_the_fp32_model_predictions(smollm2: LocalLM, hf_fp32: LocalLM) -> None:
    """Weight-only int8 must not change what the model predicts (dynamic int8 did: ~45% agreement)."""
    import torch
    from transformers import DynamicCache

    tokenizer = smollm2.tokenizer
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "How do I boil an egg?"},
         {"role": "assistant", "content": "Put the egg in boiling water for about eight minutes, then cool it."}],
        tokenize=False,
    )  # fmt: skip
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        want = hf_fp32.model(ids).logits[0].argmax(-1)
        got = smollm2.model(ids).logits[0].argmax(-1)  # many rows: the dequantised matmul path
        cache = DynamicCache(config=smollm2.model.config)
        smollm2.model(ids[:, :-8], past_key_values=cache, use_cache=True)
        steps = [  # one row at a time: the int8 kernel path, as in decoding
            smollm2.model(ids[:, i : i + 1], past_key_values=cache, use_cache=True).logits[0, -1].argmax()
            for i in range(ids.shape[1] - 8, ids.shape[1])
        ]
    assert (got == want).float().mean() >= 0.9
    assert (torch.stack(steps) == want[-8:]).float().mean() >= 0.75
