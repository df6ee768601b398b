"""Layers shared by the from-scratch models: word + character n-gram input, attention pooling, heads."""

from __future__ import annotations

import torch
from torch import nn


class WordInput(nn.Module):
    """A word vector (vocabulary, OOV -> <unk>) concatenated with the mean of its hashed n-gram vectors."""

    def __init__(self, vocab_size: int, word_dim: int, buckets: int, ngram_dim: int, dropout: float) -> None:
        super().__init__()
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.ngrams = nn.Embedding(buckets, ngram_dim, padding_idx=0)
        nn.init.normal_(self.ngrams.weight, std=0.1)
        with torch.no_grad():
            self.ngrams.weight[0].zero_()
            self.words.weight[0].zero_()
        self.dropout = nn.Dropout(dropout)
        self.dim = word_dim + ngram_dim

    def forward(self, word_ids: torch.Tensor, ngram_ids: torch.Tensor) -> torch.Tensor:
        counts = (ngram_ids > 0).sum(-1, keepdim=True).clamp(min=1)
        grams = self.ngrams(ngram_ids).sum(-2) / counts
        return self.dropout(torch.cat([self.words(word_ids), grams], dim=-1))


class AttentionPool(nn.Module):
    """Additive attention over the valid positions, concatenated with max pooling."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(states).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1).unsqueeze(-1)
        attended = (weights * states).sum(1)
        maxed = states.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values
        return torch.cat([attended, maxed], dim=-1)


class JointHeads(nn.Module):
    """Intent softmax on the pooled sentence; BIO tags per token, each token seeing the sentence vector."""

    def __init__(self, dim: int, n_labels: int, n_tags: int, dropout: float) -> None:
        super().__init__()
        self.pool = AttentionPool(dim)
        self.dropout = nn.Dropout(dropout)
        self.intent = nn.Linear(2 * dim, n_labels)
        self.slots = nn.Linear(3 * dim, n_tags) if n_tags else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        sentence = self.dropout(self.pool(states, mask))
        intent = self.intent(sentence)
        if self.slots is None:
            return intent, None
        context = sentence.unsqueeze(1).expand(-1, states.size(1), -1)
        return intent, self.slots(self.dropout(torch.cat([states, context], dim=-1)))


def lengths_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    return torch.arange(width, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
