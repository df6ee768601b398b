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
        from nlu.models.networks import BiLSTMEncoder

        return BiLSTMEncoder(input_dim, self.config["hidden"], self.config["layers"], self.config["dropout"])
