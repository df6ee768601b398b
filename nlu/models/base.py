"""What every intent model shares: input checks, calibrated prediction, slots, save/load of config.json.

A model subclass implements `_fit(dataset)` (learn weights), `_logits(words)` (raw scores and slot tag ids
for a batch of tokenized texts), `_save_weights` and `_load_weights`. Calibration (temperature and
threshold) is fitted here on the validation split, the same way for every model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nlu.calibrate import fit_temperature, softmax, tune_threshold
from nlu.slots import span_f1, to_slots
from nlu.tokenize import MAX_WORDS, NLUInputError, words
from nlu.types import Dataset, Example, Intent

FORMAT_VERSION = 1
PREDICT_BATCH = 256
SELECT_ON = ("joint", "intent")  # what early stopping maximises on validation


def check_select_on(select_on: str) -> None:
    if select_on not in SELECT_ON:
        raise ValueError(f"select_on must be one of {SELECT_ON}, not {select_on!r}")


class ModelFolderError(ValueError):
    """A folder that is not a saved intent model (or is damaged); the message says what is missing."""


class BaseIntentModel:
    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, device: str = "cpu", **config: Any) -> None:
        unknown = set(config) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown option(s) {sorted(unknown)}; known: {sorted(self.defaults)}"
            )
        self.config: dict[str, Any] = {**self.defaults, **config}
        self.device = device
        self.labels: list[str] = []
        self.tags: list[str] = []  # BIO tag names, empty when the model has no slot head
        self.temperature = 1.0
        self.threshold = 0.0
        self.trained_on = ""
        self.metrics: dict[str, float] = {}
        # (steps done, steps planned, status) after each training step, for callers that show progress
        self.on_step: Callable[[int, int, str], None] | None = None

    # --- training -----------------------------------------------------------------------------------
    def tags_slots(self) -> bool:
        """Whether this model (as configured) has a slot-tagging head; intent-only models say no."""
        return True

    def fit(self, dataset: Dataset) -> dict:
        """Train on `dataset.train`, early-stop and calibrate on `dataset.valid`; returns the history."""
        if not dataset.train:
            raise ValueError(f"Dataset {dataset.name!r} has no training examples.")
        self.labels = dataset.labels
        self.tags = (
            sorted({t for ex in dataset.train if ex.tags for t in ex.tags})
            if dataset.has_slots and self.tags_slots()
            else []
        )
        self.trained_on = dataset.name
        started = time.perf_counter()
        history = self._fit(dataset)
        history["train_seconds"] = time.perf_counter() - started
        history.update(self.calibrate(dataset))
        self.metrics = {k: v for k, v in history.items() if isinstance(v, int | float)}
        return history

    def calibrate(self, dataset: Dataset) -> dict:
        """Temperature on in-scope validation examples; threshold on all of them (incl. out-of-scope)."""
        index = {label: i for i, label in enumerate(self.labels)}
        valid = [ex for ex in dataset.valid if ex.intent in index or ex.intent == dataset.oos_label]
        if not valid:
            return {"temperature": self.temperature, "threshold": self.threshold}
        logits, _ = self.logits([ex.text for ex in valid])
        in_scope = np.array([ex.intent in index for ex in valid])
        targets = np.array([index.get(ex.intent, -1) for ex in valid])
        self.temperature = fit_temperature(logits[in_scope], targets[in_scope])
        probs = softmax(logits, self.temperature)
        correct = probs.argmax(1) == targets
        self.threshold = tune_threshold(probs.max(1), correct, ~in_scope if dataset.oos_label else None)
        return {"temperature": self.temperature, "threshold": self.threshold}

    # --- prediction ---------------------------------------------------------------------------------
    def logits(self, texts: list[str]) -> tuple[np.ndarray, list[list[int]] | None]:
        """Raw (uncalibrated) scores [N, labels] and predicted tag ids per word, in batches."""
        return self._batched([words(text, MAX_WORDS) for text in texts])

    def _batched(self, tokens: list[list[str]]) -> tuple[np.ndarray, list[list[int]] | None]:
        """Batches of texts with the same number of words, results back in input order.

        No padding means no packed sequences in the LSTM, which cost more than the LSTM itself.
        """
        order = sorted(range(len(tokens)), key=lambda i: len(tokens[i]))
        batches: list[list[int]] = []
        for i in order:
            if batches and len(batches[-1]) < PREDICT_BATCH and len(tokens[batches[-1][0]]) == len(tokens[i]):
                batches[-1].append(i)
            else:
                batches.append([i])
        all_logits, all_tags = [], []
        for batch in batches:
            logits, tags = self._logits([tokens[i] for i in batch])
            all_logits.append(logits)
            all_tags.extend(tags or [])
        logits = np.empty_like(np.concatenate(all_logits))
        logits[order] = np.concatenate(all_logits)
        if not self.tags:
            return logits, None
        tags_out: list[list[int]] = [[] for _ in tokens]
        for position, i in enumerate(order):
            tags_out[i] = all_tags[position]
        return logits, tags_out

    def _valid_score(self, valid: list[Example], select_on: str = "joint") -> float:
        """Early-stopping score. "joint": intent accuracy averaged with slot F1 where the data has slots.
        "intent": intent accuracy, with slot F1 only breaking ties (weighted below one utterance's worth)."""
        check_select_on(select_on)
        if not valid:
            return 0.0
        logits, tag_ids = self._batched([words(ex.text, MAX_WORDS) for ex in valid])
        accuracy = float(
            np.mean([self.labels[i] == ex.intent for i, ex in zip(logits.argmax(1), valid, strict=True)])
        )
        if tag_ids is None:
            return accuracy
        predicted = [[self.tags[i] for i in row] for row in tag_ids]
        gold = [(ex.tags or ())[: len(p)] for ex, p in zip(valid, predicted, strict=True)]
        slot_f1 = span_f1(gold, predicted)
        if select_on == "intent":
            return accuracy + slot_f1 / (len(valid) + 1)
        return (accuracy + slot_f1) / 2

    def predict(self, texts: list[str]) -> list[Intent]:
        if isinstance(texts, str):
            raise NLUInputError("predict() takes a list of texts; wrap a single text in a list.")
        if not self.labels:
            raise RuntimeError(f"The {self.name} model is not trained: call fit() or load() first.")
        if not texts:
            return []
        tokens = [words(text, MAX_WORDS) for text in texts]
        logits, tag_ids = self._batched(tokens)
        probs = softmax(logits, self.temperature)
        out = []
        for row, prob in enumerate(probs):
            order = np.argsort(-prob)
            distribution = {self.labels[i]: float(prob[i]) for i in order}
            slots = ()
            if tag_ids is not None:
                slots = to_slots(tokens[row], [self.tags[i] for i in tag_ids[row]])
            best = int(order[0])
            out.append(Intent(self.labels[best], float(prob[best]), distribution, slots, self.name))
        return out

    def num_parameters(self) -> int:
        return 0

    # --- persistence --------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_weights(folder)
        meta = {
            "format": FORMAT_VERSION,
            "model": self.name,
            "config": self.config,
            "labels": self.labels,
            "tags": self.tags,
            "temperature": self.temperature,
            "threshold": self.threshold,
            "trained_on": self.trained_on,
            "metrics": self.metrics,
        }
        (folder / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, device: str = "cpu") -> BaseIntentModel:
        meta = read_config(folder)
        if meta["model"] != cls.name:
            raise ModelFolderError(f"{folder} holds a {meta['model']!r} model, not {cls.name!r}.")
        model = cls(device=device, **{k: v for k, v in meta["config"].items() if k in cls.defaults})
        model.labels, model.tags = meta["labels"], meta["tags"]
        model.temperature, model.threshold = meta["temperature"], meta["threshold"]
        model.trained_on, model.metrics = meta.get("trained_on", ""), meta.get("metrics", {})
        model._load_weights(Path(folder))
        return model

    # --- for subclasses -----------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> dict:
        raise NotImplementedError

    def _logits(self, batch: list[list[str]]) -> tuple[np.ndarray, list[list[int]] | None]:
        raise NotImplementedError

    def _save_weights(self, folder: Path) -> None:
        raise NotImplementedError

    def _load_weights(self, folder: Path) -> None:
        raise NotImplementedError


def read_config(folder: Path) -> dict:
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise ModelFolderError(
            f"{folder} is not a saved intent model (no config.json); train one with `assistant nlu train`."
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"{path} cannot be read: {exc}") from exc
    missing = {"model", "config", "labels", "tags", "temperature", "threshold"} - set(meta)
    if missing:
        raise ModelFolderError(f"{path} lacks {sorted(missing)}; re-train the model.")
    return meta
