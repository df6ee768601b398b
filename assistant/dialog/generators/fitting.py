"""What every local generator runtime shares: fitting a chat prompt into the context, and reply stats.

Torch-free on purpose, so the llama.cpp runtime does not pay for importing torch and transformers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.dialog.types import Message

MIN_REUSED_TOKENS = 8  # a shorter shared prefix is not worth keeping a cache for


@dataclass(frozen=True)
class GenerationStats:
    """What the last reply cost (benchmarks read this)."""

    prompt_tokens: int
    reused_prompt_tokens: int  # prompt tokens whose keys/values came from the previous turn's cache
    new_tokens: int
    first_token_s: float | None  # from `stream()` being iterated to the first generated token
    total_s: float
    dropped_messages: int  # old turns left out to fit the context

    @property
    def tokens_per_s(self) -> float | None:
        """Decoding speed after the first token (prefill excluded)."""
        if self.first_token_s is None or self.new_tokens < 2 or self.total_s <= self.first_token_s:
            return None
        return (self.new_tokens - 1) / (self.total_s - self.first_token_s)


def fit_prompt(
    messages: list[Message],
    budget: int,
    template: Callable[[list[Message]], list[int]],
    tokenize: Callable[[str], list[int]],
    detokenize: Callable[[list[int]], str],
) -> tuple[list[int], int]:
    """Prompt token ids that fit `budget`, and how many old messages were dropped.

    Oldest turns go first (the system message and the newest user message always stay); if the newest
    message alone is still too long, its end is cut; as a last resort the ids keep their newest tail.
    """
    kept = list(messages)
    ids = template(kept)
    dropped = 0
    while len(ids) > budget and (index := droppable(kept)) is not None:
        del kept[index]
        dropped += 1
        ids = template(kept)
    if len(ids) > budget:
        last = kept[-1]
        content_ids = tokenize(last.content)
        keep = max(0, len(content_ids) - (len(ids) - budget) - 4)
        kept[-1] = Message(last.role, detokenize(content_ids[:keep]) + " …")
        ids = template(kept)
    if len(ids) > budget:
        ids = ids[-budget:]
    return ids, dropped


def droppable(messages: list[Message]) -> int | None:
    """Index of the oldest message that may be dropped (not a system message, not the newest one)."""
    for index, message in enumerate(messages[:-1]):
        if message.role != "system":
            return index
    return None


def fold_system(chat: list[dict[str, str]]) -> list[dict[str, str]]:
    """For chat templates that refuse a system role: the system text opens the first user message."""
    system = "\n".join(m["content"] for m in chat if m["role"] == "system")
    rest = [dict(m) for m in chat if m["role"] != "system"]
    if system and rest:
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    return rest
