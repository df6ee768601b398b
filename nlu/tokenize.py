"""Word tokenizer shared by the from-scratch models: a word vocabulary with an OOV id plus hashed
character n-grams (fastText-style), so unknown words, typos, emoji and other scripts still get features.

Words are whitespace tokens (so BIO slot tags stay aligned); punctuation is stripped only for the lookup.
"""

from __future__ import annotations

import json
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PAD, UNK = "<pad>", "<unk>"
MAX_WORDS = 64  # length cap: a 10,000-word input is classified on its first 64 words
MAX_WORD_CHARS = 24
MAX_NGRAMS = 16
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»…"


class NLUInputError(ValueError):
    """Input that cannot be classified (empty, whitespace or control characters only, not a string)."""


def normalize(text: str) -> str:
    """NFKC, lower case, control/format characters removed, whitespace collapsed."""
    if not isinstance(text, str):
        raise NLUInputError(f"Expected text (str), got {type(text).__name__}.")
    text = unicodedata.normalize("NFKC", text).lower()
    if not text.isprintable():  # the common case has no control, format or odd space characters to clean
        text = "".join(
            " " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C"
        )
    return " ".join(text.split())


def words(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """Normalized whitespace tokens, capped; raises NLUInputError when nothing is left."""
    tokens = normalize(text).split()
    if not tokens:
        raise NLUInputError(
            "Empty text: there is nothing to classify (only whitespace or control characters)."
        )
    return tokens[:max_words]


def lookup_form(word: str) -> str:
    """The vocabulary key of a token: surrounding punctuation stripped unless that leaves nothing."""
    return word.strip(_PUNCT) or word


def char_ngrams(word: str, buckets: int, n_min: int = 3, n_max: int = 5) -> list[int]:
    """Hashed ids (1..buckets-1; 0 is padding) of the word's character n-grams with boundary marks."""
    marked = f"<{word[:MAX_WORD_CHARS]}>"
    grams = [marked[i : i + n] for n in range(n_min, n_max + 1) for i in range(len(marked) - n + 1)]
    if not grams:
        grams = [marked]
    grams = grams[:MAX_NGRAMS]
    return [1 + zlib.crc32(g.encode("utf-8")) % (buckets - 1) for g in grams]


@dataclass
class Tokenizer:
    """Vocabulary plus n-gram hashing. `encode` gives padded id arrays for a batch of texts."""

    vocab: list[str]
    buckets: int = 100_000
    max_words: int = MAX_WORDS
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _ngram_cache: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {word: i for i, word in enumerate(self.vocab)}

    @classmethod
    def build(
        cls, texts: Iterable[str], min_count: int = 1, extra: Iterable[str] = (), buckets: int = 100_000
    ) -> Tokenizer:
        counts = Counter(lookup_form(w) for text in texts for w in normalize(text).split())
        known = sorted(w for w, c in counts.items() if c >= min_count)
        seen = set(known)
        vocab = [PAD, UNK, *known, *(w for w in extra if w not in seen and w not in (PAD, UNK))]
        return cls(vocab, buckets)

    def __len__(self) -> int:
        return len(self.vocab)

    def word_id(self, word: str) -> int:
        return self._index.get(lookup_form(word), 1)

    def ngrams(self, word: str) -> list[int]:
        key = lookup_form(word)
        ids = self._ngram_cache.get(key)
        if ids is None:
            ids = char_ngrams(key, self.buckets)
            if len(self._ngram_cache) < 200_000:
                self._ngram_cache[key] = ids
        return ids

    def encode(self, batch: list[list[str]]):
        """Tokenized texts -> (word_ids [B,T], ngram_ids [B,T,G], lengths [B]) as torch tensors."""
        import numpy as np
        import torch

        longest = max(len(tokens) for tokens in batch)
        word_ids = np.zeros((len(batch), longest), dtype=np.int64)
        ngram_ids = np.zeros((len(batch), longest, MAX_NGRAMS), dtype=np.int64)
        for row, tokens in enumerate(batch):
            word_ids[row, : len(tokens)] = [self.word_id(w) for w in tokens]
            for col, word in enumerate(tokens):
                grams = self.ngrams(word)
                ngram_ids[row, col, : len(grams)] = grams
        lengths = torch.tensor([len(tokens) for tokens in batch], dtype=torch.long)
        return torch.from_numpy(word_ids), torch.from_numpy(ngram_ids), lengths

    def save(self, folder: Path) -> None:
        data = {"vocab": self.vocab, "buckets": self.buckets, "max_words": self.max_words}
        (folder / "vocab.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Tokenizer:
        data = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(data["vocab"], data["buckets"], data["max_words"])
