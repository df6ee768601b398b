"""The default generator on CPU: SmolLM2's 4-bit GGUF from the offline package, run by llama.cpp."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.dialog.generator import GeneratorError, create_generator
from assistant.dialog.generators.llamacpp import LlamaCppLM
from assistant.dialog.prompt import build_messages
from assistant.dialog.types import Message

from .conftest import generator_settings

pytestmark = pytest.mark.slow


def test_default_generator_on_cpu_is_llama_cpp(llamacpp: LlamaCppLM) -> None:
    assert isinstance(llamacpp, LlamaCppLM) and llamacpp.name == "smollm2-135m"
    pieces = list(llamacpp.stream(build_messages("What is the capital of France?")))
    assert pieces and all(isinstance(piece, str) for piece in pieces)
    reply = "".join(pieces).strip()
    assert reply and "<|im_end|>" not in reply and "<|im_start|>" not in reply
    stats = llamacpp.last_stats
    assert stats is not None and 1 <= stats.new_tokens <= 12 and stats.first_token_s is not None


def test_replies_follow_the_prompt(llamacpp: LlamaCppLM) -> None:
    """With the assistant's own prompt (persona + question), as the pipeline sends it."""
    reply = "".join(llamacpp.stream(build_messages("What is the capital of France?"))).lower()
    assert "paris" in reply, reply


def test_predictions_agree_with_the_transformers_runtime(llamacpp: LlamaCppLM, smollm2) -> None:  # type: ignore[no-untyped-def]
    """Same weights (Q4_1), but llama.cpp multiplies with 8-bit activations: the next-token choice must
    still agree with the float32 transformers model almost everywhere (measured: 96%)."""
    import llama_cpp
    import numpy as np
    import torch

    text = smollm2.tokenizer.apply_chat_template(
        [{"role": "user", "content": "How do I boil an egg?"},
         {"role": "assistant", "content": "Put the egg in boiling water for about eight minutes, then cool it."}],
        tokenize=False,
    )  # fmt: skip
    ids = smollm2.tokenizer(text)["input_ids"]
    with torch.inference_mode():
        want = smollm2.model(torch.tensor([ids])).logits[0].argmax(-1).numpy()
    scorer = llama_cpp.Llama(model_path=str(llamacpp.path), n_ctx=256, logits_all=True, verbose=False)
    scorer.eval(ids)
    got = np.asarray(scorer.scores[: len(ids)]).argmax(-1)
    assert (got == want).mean() >= 0.9


def test_gguf_chat_template_matches_the_transformers_one(llamacpp: LlamaCppLM, smollm2) -> None:  # type: ignore[no-untyped-def]
    """Both runtimes see the same prompt, so switching runtime does not change what the model is asked."""
    messages = build_messages("Remind me what I said.", facts={"name": "Ana"}, history=[("Hi", "Hello!")])
    ours, _ = llamacpp.encode(messages)
    theirs, _ = smollm2.encode(messages)
    assert ours == theirs[0].tolist()


def test_follow_up_turns_reuse_the_cached_prefix(llamacpp: LlamaCppLM) -> None:
    history: list[tuple[str, str]] = []
    for question in ("Hi, my name is Ana.", "Tell me about cats.", "Stop."):
        messages = build_messages(question, facts={"name": "Ana"}, history=history)
        reply = "".join(llamacpp.stream(messages)).strip()
        history.append((question, reply))
    stats = llamacpp.last_stats
    assert stats is not None
    assert stats.prompt_tokens - 40 < stats.reused_prompt_tokens < stats.prompt_tokens
    other = "".join(llamacpp.stream([Message("user", "A different conversation.")]))
    # a different start: only the chat template's opening tokens ("<|im_start|>system\n…") are shared
    assert other.strip() and llamacpp.last_stats.reused_prompt_tokens < 10


def test_prompt_is_cut_to_the_context_budget(llamacpp: LlamaCppLM) -> None:
    history = [
        (f"Tell me about topic number {i} in detail please.", "It is a long story. " * 12) for i in range(8)
    ]
    messages = build_messages("Thanks!", facts={"name": "Ana"}, history=history)
    full, dropped = llamacpp.encode(messages)
    assert dropped == 0
    budget = llamacpp.max_prompt_tokens
    try:
        llamacpp.max_prompt_tokens = len(full) // 2
        ids, dropped = llamacpp.encode(messages)
        assert len(ids) <= llamacpp.max_prompt_tokens and dropped >= 2
        llamacpp.max_prompt_tokens = 64  # the newest message alone is too long: it is cut, nothing fails
        ids, _ = llamacpp.encode([Message("user", "word " * 500)])
        assert len(ids) <= 64
        assert "".join(llamacpp.stream([Message("user", "word " * 500)])) is not None
    finally:
        llamacpp.max_prompt_tokens = budget


def test_closing_the_stream_early_frees_the_model(llamacpp: LlamaCppLM) -> None:
    stream = llamacpp.stream([Message("user", "Write a long story about a dragon.")])
    next(iter(stream))
    stream.close()  # the user said "stop"
    assert not llamacpp._lock.locked()
    assert "".join(llamacpp.stream([Message("user", "Hi!")])).strip()


def test_shared_between_threads(llamacpp: LlamaCppLM) -> None:
    replies: dict[int, str] = {}

    def ask(i: int) -> None:
        replies[i] = "".join(llamacpp.stream([Message("user", f"Say a word about the number {i}.")]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(replies) == 2 and all(reply.strip() for reply in replies.values())


def test_llama_cpp_backend_takes_a_gguf_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00\xff" * 64)
    with pytest.raises(GeneratorError, match=rf"llama.cpp could not load {broken}"):
        create_generator(generator_settings(backend="llama-cpp", model=str(broken)))
    with pytest.raises(GeneratorError, match="does not exist"):
        create_generator(generator_settings(backend="llama-cpp", model=str(tmp_path / "missing.gguf")))
    with pytest.raises(GeneratorError, match="takes a path to a .gguf file.*use the `hf` backend"):
        create_generator(generator_settings(backend="llama-cpp", model="HuggingFaceTB/SmolLM2-360M-Instruct"))
