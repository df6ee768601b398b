"""`lstm`, the default intent model: word + character n-gram embeddings -> bidirectional LSTM ->
attention + max pooling -> softmax over intents, with a joint BIO slot-tagging head where tags exist."""

from __future__ import annotations

from typing import Any, ClassVar

from nlu.models.neural import NEURAL_DEFAULTS, NeuralIntentModel


class LSTMIntentModel(NeuralIntentModel):
    """BiLSTM + attention pooling, joint intent and slot heads (plain torch)."""

    name: ClassVar[str] = "lstm"
    defaults: ClassVar[dict[str, Any]] = {**NEURAL_DEFAULTS, "hidden": 128, "layers": 1}

    def _build_encoder(self, input_dim: int):
        return BiLSTMEncoder(input_dim, self.config["hidden"], self.config["layers"], self.config["dropout"])


def BiLSTMEncoder(input_dim: int, hidden: int, layers: int, dropout: float):  # noqa: N802 (a module factory)
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Encoder(nn.Module):
        def __init__(self) -> None:
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

    return Encoder()
