"""Memory across conversations for the generator: encode a request, recall the user's earlier turns that
matter to it, and put them into the prompt within a token budget.

The encoder is the shipped all-MiniLM-L6-v2 (the package nlu/ loads for minilm-frozen), loaded once per
process in the shared model cache. Its vectors are stored with each turn (assistant.memory.recall), so a
detail said 40 turns ago in another conversation is found after a restart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.memory.recall import RecalledTurn

RECALL_HEADER = "Earlier, the user said:"
CHARS_PER_TOKEN = 3.5  # a cautious estimate for English (SmolLM2's tokenizer averages about 4)
MAX_RECALLED_CHARS = 300  # one recalled request


@dataclass(frozen=True)
class RecallSettings:
    """How much of the user's earlier turns the prompt may carry."""

    turns: int = 3  # at most this many earlier turns
    tokens: int = 160  # the recalled block's budget in (estimated) tokens
    min_score: float = 0.25  # cosine below this is not related enough to bring back


def approx_tokens(text: str) -> int:
    """Tokens `text` takes, estimated on the high side without a tokenizer."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class SentenceEncoder:
    """MiniLM sentence vectors (384-d, unit length)."""

    def __init__(self) -> None:
        from nlu.embeddings import shared_sentence_encoder

        self.model = shared_sentence_encoder()  # the same weights a loaded frozen `minilm` model reads

    def encode(self, text: str) -> np.ndarray:
        return self.encode_many([text])[0]

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """[len(texts), 384] unit vectors, in one batch."""
        vectors = self.model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def sentence_encoder() -> SentenceEncoder:
    """The process's one encoder (loaded on first use, a few seconds)."""
    from assistant.model_cache import shared

    return shared.get(("recall-encoder", "all-MiniLM-L6-v2"), SentenceEncoder)


def recalled_block(recalled: Sequence[RecalledTurn], budget_tokens: int) -> str | None:
    """The prompt text for the recalled turns, best first, as many as fit `budget_tokens`; None for none.

    Each is the user's own words (clipped), oldest first in the block so it reads like a past."""
    from assistant.dialog.prompt import clip

    lines: list[str] = []
    used = approx_tokens(RECALL_HEADER) + 1
    kept: list[tuple[RecalledTurn, str]] = []
    for turn in recalled:
        text = clip(" ".join(turn.user_text.split()), MAX_RECALLED_CHARS)
        if not text:
            continue
        line = f'- "{text}"'
        cost = approx_tokens(line) + 1
        if used + cost > budget_tokens:
            continue  # a shorter one further down may still fit
        used += cost
        kept.append((turn, line))
    if not kept:
        return None
    lines = [line for _, line in sorted(kept, key=lambda item: item[0].turn_id)]
    return RECALL_HEADER + "\n" + "\n".join(lines)
