"""`transformer`: a small Transformer encoder trained from scratch on the same word + n-gram input as the
LSTM: sinusoidal positions, pre-norm blocks of multi-head self-attention and a feed-forward layer, each
with a residual connection and layer norm; the same attention pooling and joint intent/slot heads."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from nlu.models.neural import NEURAL_DEFAULTS, NeuralIntentModel


class TransformerIntentModel(NeuralIntentModel):
    """Transformer encoder from scratch (sinusoidal positions, MHSA, residual + layer norm)."""

    name: ClassVar[str] = "transformer"
    defaults: ClassVar[dict[str, Any]] = {
        **NEURAL_DEFAULTS,
        "epochs": 20,  # at 12 it was still improving on SNIPS validation in its last epoch
        "lr": 5e-4,
        "dropout": 0.15,
        "d_model": 256,
        "heads": 4,
        "layers": 3,
        "ff": 1024,
    }

    def _build_encoder(self, input_dim: int):
        c = self.config
        return TransformerEncoder(input_dim, c["d_model"], c["heads"], c["layers"], c["ff"], c["dropout"])


def sinusoidal_positions(length: int, dim: int):
    import torch

    position = torch.arange(length).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


def TransformerEncoder(input_dim: int, d_model: int, heads: int, layers: int, ff: int, dropout: float):  # noqa: N802
    import torch
    import torch.nn.functional as F
    from torch import nn

    from nlu.tokenize import MAX_WORDS

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.out = nn.Linear(d_model, d_model)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            batch, length, _ = x.shape
            q, k, v = self.qkv(x).view(batch, length, 3, heads, d_model // heads).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask[:, None, None, :], dropout_p=dropout if self.training else 0.0
            )
            return self.out(attended.transpose(1, 2).reshape(batch, length, d_model))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
            self.attention = SelfAttention()
            self.mlp = nn.Sequential(nn.Linear(d_model, ff), nn.GELU(), nn.Linear(ff, d_model))
            self.dropout = nn.Dropout(dropout)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            x = x + self.dropout(self.attention(self.norm1(x), mask))
            return x + self.dropout(self.mlp(self.norm2(x)))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.project = nn.Linear(input_dim, d_model)
            self.register_buffer("positions", sinusoidal_positions(MAX_WORDS, d_model), persistent=False)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.LayerNorm(d_model)
            self.dropout = nn.Dropout(dropout)
            self.dim = d_model

        def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            x = self.dropout(self.project(inputs) + self.positions[: inputs.size(1)])
            for block in self.blocks:
                x = block(x, mask)
            return self.norm(x)

    return Encoder()
