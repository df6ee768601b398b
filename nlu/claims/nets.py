"""The two models of every claim, built by the product's own classes (nlu.models.lstm / .transformer): the
same tokenizer, word + n-gram input layer and joint heads; only the encoder differs. The Transformer's
feed-forward width is chosen so its encoder has about as many parameters as the BiLSTM's.

For inputs longer than the product's 64-word cap (claims 1-3) the network is used directly on token lists
that are not cut, and the Transformer gets a sinusoidal position table as long as the longest input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlu.claims.settings import ClaimsSettings

ARCHS = ("lstm", "transformer")


def shared_config(s: ClaimsSettings) -> dict[str, Any]:
    return {
        "pretrained": s.pretrained,
        "word_dim": s.word_dim,
        "ngram_dim": s.ngram_dim,
        "buckets": s.buckets,
        "batch_size": s.batch_size,
    }


def encoder_parameters(arch: str, config: dict[str, Any], input_dim: int) -> int:
    """Parameters of the encoder alone (not the shared input layer, not the heads)."""
    from nlu.registry import create

    encoder = create(arch, **config)._build_encoder(input_dim)
    return sum(p.numel() for p in encoder.parameters())


@lru_cache(maxsize=8)
def _matched_ff(lstm_hidden: int, d_model: int, heads: int, layers: int, input_dim: int) -> int:
    """The feed-forward width (a multiple of 8) that brings the Transformer's encoder closest to the LSTM's:
    the count is linear in the width, so two probes give it."""
    target = encoder_parameters("lstm", {"hidden": lstm_hidden, "layers": 1}, input_dim)

    def count(ff: int) -> int:
        return encoder_parameters(
            "transformer", {"d_model": d_model, "heads": heads, "layers": layers, "ff": ff}, input_dim
        )

    low, high = count(8), count(16)
    slope = (high - low) / 8
    ff = round((target - (low - 8 * slope)) / slope / 8) * 8
    return max(8, ff)


def arch_config(arch: str, s: ClaimsSettings) -> dict[str, Any]:
    """The registry options of `arch` in this setting (seed and epochs are added per run)."""
    if arch == "lstm":
        return {**shared_config(s), "hidden": s.lstm_hidden, "layers": 1}
    if arch == "transformer":
        ff = _matched_ff(s.lstm_hidden, s.d_model, s.heads, s.layers, s.input_dim)
        return {**shared_config(s), "d_model": s.d_model, "heads": s.heads, "layers": s.layers, "ff": ff}
    raise ValueError(f"Unknown architecture {arch!r}; use one of {', '.join(ARCHS)}")


@dataclass(frozen=True)
class Matching:
    """The encoders' parameter counts in this setting, stated in the report."""

    lstm: int
    transformer: int
    lstm_config: dict[str, Any]
    transformer_config: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.transformer / self.lstm

    def text(self) -> str:
        t = self.transformer_config
        return (
            f"encoder parameters (excluding the shared word/n-gram input layer and the heads): "
            f"BiLSTM {self.lstm:,} (hidden {self.lstm_config['hidden']} per direction), "
            f"Transformer {self.transformer:,} (d_model {t['d_model']}, {t['heads']} heads, {t['layers']} "
            f"blocks, feed-forward {t['ff']}): ratio {self.ratio:.3f}"
        )

    def to_dict(self) -> dict:
        return {
            "lstm_encoder": self.lstm,
            "transformer_encoder": self.transformer,
            "ratio": self.ratio,
            "lstm_config": self.lstm_config,
            "transformer_config": self.transformer_config,
            "counted": "encoder only (the input layer and heads are the same classes for both)",
        }


def matching(s: ClaimsSettings) -> Matching:
    configs = {arch: arch_config(arch, s) for arch in ARCHS}
    counts = {arch: encoder_parameters(arch, configs[arch], s.input_dim) for arch in ARCHS}
    return Matching(counts["lstm"], counts["transformer"], configs["lstm"], configs["transformer"])


def bench_model(
    arch: str,
    s: ClaimsSettings,
    labels: list[str],
    texts: list[str],
    *,
    seed: int,
    max_len: int,
    device: str = "cpu",
    cache_dir: Path | None = None,
):
    """An untrained model of `arch` whose network takes inputs up to `max_len` words (tokenizer built on
    `texts`, word vectors loaded and frozen as in training), ready for `forward` on token lists."""
    import torch

    from nlu.registry import create
    from nlu.tokenize import Tokenizer
    from nlu.train import set_seed

    set_seed(seed)
    model = create(arch, device=device, cache_dir=cache_dir, **arch_config(arch, s), seed=seed)
    model.labels, model.tags = list(labels), []
    extra: list[str] = []
    if s.pretrained:
        from nlu.embeddings import general_vocabulary

        extra = general_vocabulary()
    model.tokenizer = Tokenizer.build(texts, extra=extra, buckets=s.buckets)
    model.net = model._build_net()
    if s.pretrained:
        from nlu.embeddings import word_vectors

        vectors = word_vectors(model.tokenizer.vocab[2:], model.cache_dir)
        with torch.no_grad():
            model.net.embed.words.weight[2:] = torch.from_numpy(vectors)
        model.net.embed.words.weight.requires_grad_(False)
    set_max_len(model.net, max_len)
    return model


def set_max_len(net: Any, max_len: int) -> None:
    """Give a Transformer encoder a position table of `max_len` rows (the product's stops at 64)."""
    from nlu.models.networks import TransformerEncoder, sinusoidal_positions

    encoder = getattr(net, "encoder", None)
    if isinstance(encoder, TransformerEncoder) and encoder.positions.size(0) < max_len:
        encoder.positions = sinusoidal_positions(max_len, encoder.dim).to(encoder.positions.device)


@dataclass
class Encoded:
    """Token inputs as tensors (every row of one length: no padding), with intent targets."""

    word_ids: Any  # [N, T]
    ngram_ids: Any  # [N, T, G]
    targets: Any  # [N]

    def __len__(self) -> int:
        return int(self.word_ids.size(0))


def encode(model: Any, tokens: list[list[str]], labels: list[str]) -> Encoded:
    import torch

    word_ids, ngram_ids, lengths = model.tokenizer.encode(tokens)
    if int(lengths.min()) != int(lengths.max()):
        raise ValueError("claims inputs must all have the same length")
    index = {label: i for i, label in enumerate(model.labels)}
    return Encoded(word_ids, ngram_ids, torch.tensor([index[label] for label in labels]))


def forward(model: Any, data: Encoded, rows: Any, word_dropout: float = 0.0):
    """Intent logits for `rows` of `data` (on the model's device)."""
    import torch

    word_ids = data.word_ids[rows]
    if word_dropout:
        drop = (torch.rand(word_ids.shape) < word_dropout) & (word_ids > 1)
        word_ids = word_ids.masked_fill(drop, 1)
    lengths = torch.full((word_ids.size(0),), word_ids.size(1), dtype=torch.long)
    device = model.device
    intent, _ = model.net(word_ids.to(device), data.ngram_ids[rows].to(device), lengths.to(device))
    return intent


def loss(model: Any, data: Encoded, rows: Any):
    import torch

    logits = forward(model, data, rows, model.config["word_dropout"])
    return torch.nn.functional.cross_entropy(logits, data.targets[rows].to(model.device))


def accuracy(model: Any, data: Encoded, batch: int = 128) -> float:
    import torch

    model.net.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(data), batch):
            rows = torch.arange(start, min(len(data), start + batch))
            predicted = forward(model, data, rows).argmax(-1).cpu()
            correct += int((predicted == data.targets[rows]).sum())
    return correct / max(1, len(data))


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
