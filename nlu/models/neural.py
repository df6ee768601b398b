"""Training, prediction and persistence shared by the from-scratch torch models (lstm, transformer).

A subclass only builds its encoder network (`_build_encoder`): word + n-gram input -> token states.
Word embeddings start from MiniLM-distilled static vectors (nlu.embeddings) over the training vocabulary
plus a general English vocabulary, so unseen words keep a meaningful vector; `pretrained=False` starts
from random vectors instead.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nlu.models.base import BaseIntentModel
from nlu.tokenize import MAX_WORDS, UNK, Tokenizer, words
from nlu.train import LoopConfig, set_seed, train_loop
from nlu.types import Dataset, Example

NEURAL_DEFAULTS: dict[str, Any] = {
    "epochs": 12,
    "batch_size": 64,
    "lr": 3e-3,
    "patience": 3,
    "dropout": 0.3,
    "word_dropout": 0.1,
    "pretrained": True,
    "word_dim": 384,
    "ngram_dim": 32,
    "buckets": 20_000,
    "slot_weight": 1.0,
    "members": 1,  # >1: an ensemble of independently initialised encoders + heads over one input layer
    "seed": 0,
}


WORD_TABLE = "embed.words.weight"
SPECIAL_ROWS = "embed.words.special"  # saved instead of WORD_TABLE when the table is shipped vectors


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("assistant"))


class NeuralIntentModel(BaseIntentModel):
    defaults: ClassVar[dict[str, Any]] = NEURAL_DEFAULTS

    def __init__(self, device: str = "cpu", cache_dir: Path | None = None, **config: Any) -> None:
        super().__init__(device=device, **config)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.tokenizer: Tokenizer | None = None
        self.net = None

    # --- the network ---------------------------------------------------------------------------------
    def _build_encoder(self, input_dim: int):
        """nn.Module: (inputs [B,T,D], lengths [B], mask [B,T]) -> (states [B,T,H]); sets `.dim` = H."""
        raise NotImplementedError

    def _build_net(self):
        from nlu.models.layers import JointHeads, WordInput
        from nlu.models.networks import Ensemble, EnsembleMember, JointNet

        assert self.tokenizer is not None
        cfg = self.config
        word_dim = 384 if cfg["pretrained"] else cfg["word_dim"]
        embed = WordInput(len(self.tokenizer), word_dim, cfg["buckets"], cfg["ngram_dim"], cfg["dropout"])

        def member() -> tuple:  # the encoder, then its heads: the order of the seeded random draws
            encoder = self._build_encoder(embed.dim)
            return encoder, JointHeads(encoder.dim, len(self.labels), len(self.tags), cfg["dropout"])

        if cfg["members"] <= 1:
            net = JointNet(embed, *member())
        else:
            net = Ensemble(embed, [EnsembleMember(*member()) for _ in range(int(cfg["members"]))])
        return net.to(self.device)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters()) if self.net is not None else 0

    # --- training ------------------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> dict:
        import torch
        from torch.nn.utils.rnn import pad_sequence

        cfg = self.config
        set_seed(cfg["seed"])
        extra: list[str] = []
        if cfg["pretrained"]:
            from nlu.embeddings import general_vocabulary

            extra = general_vocabulary()
        self.tokenizer = Tokenizer.build(
            [ex.text for ex in dataset.train], extra=extra, buckets=cfg["buckets"]
        )
        self.net = self._build_net()
        if cfg["pretrained"]:
            from nlu.embeddings import word_vectors

            vectors = word_vectors(self.tokenizer.vocab[2:], self.cache_dir)
            with torch.no_grad():
                self.net.embed.words.weight[2:] = torch.from_numpy(vectors)
            # Frozen: words never seen in training keep vectors consistent with the trained ones, and
            # AdamW does not update a 8M-parameter table every step.
            self.net.embed.words.weight.requires_grad_(False)

        label_index = {label: i for i, label in enumerate(self.labels)}
        tag_index = {tag: i for i, tag in enumerate(self.tags)}
        train = [self._encode_example(ex, label_index, tag_index) for ex in dataset.train]
        valid = [ex for ex in dataset.valid if ex.intent in label_index]

        def batches(rng: random.Random) -> list:
            order = list(range(len(train)))
            rng.shuffle(order)
            size = cfg["batch_size"]
            return [[train[i] for i in order[s : s + size]] for s in range(0, len(order), size)]

        def loss_fn(batch: list) -> torch.Tensor:
            word_ids = pad_sequence([b[0] for b in batch], batch_first=True)
            ngram_ids = pad_sequence([b[1] for b in batch], batch_first=True)
            lengths = torch.tensor([len(b[0]) for b in batch])
            if cfg["word_dropout"]:
                drop = (torch.rand(word_ids.shape) < cfg["word_dropout"]) & (word_ids > 1)
                word_ids = word_ids.masked_fill(drop, 1)
            inputs = (word_ids.to(self.device), ngram_ids.to(self.device), lengths.to(self.device))
            outputs = self.net.member_outputs(*inputs) if cfg["members"] > 1 else [self.net(*inputs)]
            targets = torch.tensor([b[2] for b in batch], device=self.device)
            tags = pad_sequence([b[3] for b in batch], batch_first=True, padding_value=-100).flatten()
            loss = torch.zeros((), device=self.device)
            for intent_logits, slot_logits in outputs:  # each member learns on its own loss, as if alone
                loss = loss + torch.nn.functional.cross_entropy(intent_logits, targets)
                if slot_logits is not None:
                    loss = loss + cfg["slot_weight"] * torch.nn.functional.cross_entropy(
                        slot_logits.flatten(0, 1), tags.to(self.device), ignore_index=-100
                    )
            return loss / len(outputs)  # the mean: AdamW steps and gradient clipping as for one model

        def score_fn() -> float:
            return self._valid_score(valid)

        loop = LoopConfig(
            cfg["epochs"],
            cfg["lr"],
            cfg["patience"],
            description=f"Training {self.name}",
            on_step=self.on_step,
        )
        return train_loop(self.net, batches, loss_fn, score_fn, loop, seed=cfg["seed"])

    def _encode_example(self, ex: Example, label_index: dict, tag_index: dict) -> tuple:
        import torch

        assert self.tokenizer is not None
        tokens = words(ex.text, MAX_WORDS)
        word_ids, ngram_ids, _ = self.tokenizer.encode([tokens])
        tags = torch.tensor([tag_index.get(t, tag_index.get("O", 0)) for t in (ex.tags or ())][: len(tokens)])
        return word_ids[0], ngram_ids[0], label_index[ex.intent], tags

    # --- prediction ----------------------------------------------------------------------------------
    def _logits(self, batch: list[list[str]]) -> tuple[np.ndarray, list[list[int]] | None]:
        import torch

        assert self.tokenizer is not None and self.net is not None
        word_ids, ngram_ids, lengths = self.tokenizer.encode(batch)
        with torch.inference_mode():
            intent, slots = self.net(
                word_ids.to(self.device), ngram_ids.to(self.device), lengths.to(self.device)
            )
        tags = None
        if slots is not None:
            best = slots.argmax(-1).cpu().numpy()
            tags = [best[row, : len(tokens)].tolist() for row, tokens in enumerate(batch)]
        return intent.float().cpu().numpy(), tags

    # --- persistence ---------------------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        from safetensors.torch import save_file

        assert self.tokenizer is not None and self.net is not None
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        if self._table_is_shipped(state[WORD_TABLE]):
            # the frozen table is rows of the shipped static vectors: keep only <pad>/<unk>, rebuild on load
            state[SPECIAL_ROWS] = state.pop(WORD_TABLE)[:2].clone()
        save_file(state, str(folder / "model.safetensors"))
        self.tokenizer.save(folder)

    def _table_is_shipped(self, table) -> bool:  # type: ignore[no-untyped-def]
        import torch

        from nlu.embeddings import shipped_vectors

        assert self.tokenizer is not None
        static = shipped_vectors()
        words = self.tokenizer.vocab[2:]
        if not self.config["pretrained"] or static is None or any(w not in static for w in words):
            return False
        return bool(torch.equal(table[2:], torch.from_numpy(static.rows(words))))

    def _load_weights(self, folder: Path) -> None:
        import torch
        from safetensors.torch import load_file

        from nlu.models.base import ModelFolderError

        self.tokenizer = Tokenizer.load(folder)
        self.net = self._build_net()
        state = load_file(str(folder / "model.safetensors"), device="cpu")
        if SPECIAL_ROWS in state:
            from nlu.embeddings import shipped_vectors

            static = shipped_vectors()
            words = self.tokenizer.vocab[2:]
            if static is None or any(w not in static for w in words):
                raise ModelFolderError(
                    f"{folder} uses the shipped word vectors (nlu/shipped/vectors), which are missing or "
                    "lack some of its words; re-train the model."
                )
            state[WORD_TABLE] = torch.cat([state.pop(SPECIAL_ROWS), torch.from_numpy(static.rows(words))])
        self.net.load_state_dict({k: v.to(self.device) for k, v in state.items()})
        self.net.eval()


__all__ = ["NeuralIntentModel", "NEURAL_DEFAULTS", "UNK"]
