"""The torch networks of the intent models: the encoders (BiLSTM, Transformer), the joint network of the
from-scratch models (one member or an ensemble) and MiniLM's heads.

The model classes (nlu.models.lstm, .transformer, .neural, .minilm) import this module only when they
build a network, so importing a model class, or the registry, does not import torch. The attribute names
are the keys of the saved state_dicts (e.g. "embed.words.weight", "encoder.lstm.weight_ih_l0",
"members.0.heads.intent.weight"): renaming one breaks every saved model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlu.models.layers import lengths_mask
from nlu.tokenize import MAX_WORDS

# --- encoders: (inputs [B,T,D], lengths [B], mask [B,T]) -> states [B,T,dim] ---------------------------


class BiLSTMEncoder(nn.Module):
    """A bidirectional LSTM over the token inputs (packed when the batch has padding)."""

    def __init__(self, input_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            input_dim,
            hidden,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.dim = 2 * hidden

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if bool((lengths == inputs.size(1)).all()):  # no padding (e.g. one utterance): skip packing
            states, _ = self.lstm(inputs)
        else:
            packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
            states, _ = pad_packed_sequence(
                self.lstm(packed)[0], batch_first=True, total_length=inputs.size(1)
            )
        return self.dropout(states)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    position = torch.arange(length).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class SelfAttention(nn.Module):
    """Multi-head self-attention over the valid positions."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.d_model, self.heads, self.dropout_p = d_model, heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        q, k, v = (
            self.qkv(x).view(batch, length, 3, self.heads, self.d_model // self.heads).permute(2, 0, 3, 1, 4)
        )
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask[:, None, None, :], dropout_p=self.dropout_p if self.training else 0.0
        )
        return self.out(attended.transpose(1, 2).reshape(batch, length, self.d_model))


class TransformerBlock(nn.Module):
    """Pre-norm block: self-attention, then a feed-forward layer, each with a residual connection."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = SelfAttention(d_model, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(d_model, ff), nn.GELU(), nn.Linear(ff, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.norm1(x), mask))
        return x + self.dropout(self.mlp(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """The inputs projected to d_model plus sinusoidal positions, then `layers` blocks and a layer norm."""

    def __init__(
        self, input_dim: int, d_model: int, heads: int, layers: int, ff: int, dropout: float
    ) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, d_model)
        self.register_buffer("positions", sinusoidal_positions(MAX_WORDS, d_model), persistent=False)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dim = d_model

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.project(inputs) + self.positions[: inputs.size(1)])
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)


# --- the from-scratch models' network: word + n-gram input -> encoder -> joint heads -----------------


class JointNet(nn.Module):
    """One encoder with its intent and slot heads over the word + n-gram input."""

    def __init__(self, embed: nn.Module, encoder: nn.Module, heads: nn.Module) -> None:
        super().__init__()
        self.embed = embed
        self.encoder, self.heads = encoder, heads

    def forward(self, word_ids: torch.Tensor, ngram_ids: torch.Tensor, lengths: torch.Tensor):
        mask = lengths_mask(lengths, word_ids.size(1))
        return self.heads(self.encoder(self.embed(word_ids, ngram_ids), lengths, mask), mask)


class EnsembleMember(nn.Module):
    """An encoder and its heads; the input layer is the ensemble's, shared by all members."""

    def __init__(self, encoder: nn.Module, heads: nn.Module) -> None:
        super().__init__()
        self.encoder, self.heads = encoder, heads


class Ensemble(nn.Module):
    """Members trained side by side on the same batches (each on its own loss, `member_outputs`);
    prediction averages their log-probabilities: steadier accuracy and confidence than one seed."""

    def __init__(self, embed: nn.Module, members: list[EnsembleMember]) -> None:
        super().__init__()
        self.embed = embed
        self.members = nn.ModuleList(members)

    def member_outputs(self, word_ids: torch.Tensor, ngram_ids: torch.Tensor, lengths: torch.Tensor):
        mask = lengths_mask(lengths, word_ids.size(1))
        return [
            m.heads(m.encoder(self.embed(word_ids, ngram_ids), lengths, mask), mask) for m in self.members
        ]

    def forward(self, word_ids: torch.Tensor, ngram_ids: torch.Tensor, lengths: torch.Tensor):
        outputs = self.member_outputs(word_ids, ngram_ids, lengths)
        slots = None if outputs[0][1] is None else _mean_log_probs([o[1] for o in outputs])
        return _mean_log_probs([o[0] for o in outputs]), slots


def _mean_log_probs(parts: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([p.log_softmax(-1) for p in parts]).mean(0)


# --- MiniLM: the pretrained encoder with a linear intent head and a slot head ---------------------------


class MiniLMNet(nn.Module):
    """Intent head on the mean-pooled sentence vector; slot head on each word's first word-piece, which
    also sees the sentence vector."""

    def __init__(self, encoder: nn.Module, n_labels: int, n_tags: int, dropout: float) -> None:
        super().__init__()
        dim = encoder.config.hidden_size
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.intent = nn.Linear(dim, n_labels)
        self.slots = nn.Linear(2 * dim, n_tags) if n_tags else None

    def pooled(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1), states

    def forward(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
        sentence, states = self.pooled(batch)
        intent = self.intent(self.dropout(sentence))
        if self.slots is None:
            return intent, None
        first = states.gather(1, batch["first_piece"].unsqueeze(-1).expand(-1, -1, states.size(-1)))
        context = sentence.unsqueeze(1).expand(-1, first.size(1), -1)
        return intent, self.slots(self.dropout(torch.cat([first, context], dim=-1)))
