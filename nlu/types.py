"""Data that crosses the NLU boundary, and the interface every intent model implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Slot:
    """A filled slot: its name (BIO tag without prefix), the words, and their token span [start, end)."""

    name: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Intent:
    """One prediction. `confidence` is calibrated (temperature-scaled) probability of `label`."""

    label: str
    confidence: float
    distribution: dict[str, float] = field(default_factory=dict)  # label -> probability, sorted desc
    slots: tuple[Slot, ...] = ()
    model: str = ""

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.distribution.items(), key=lambda kv: kv[1], reverse=True)[:k]

    def slot_dict(self) -> dict[str, str]:
        return {slot.name: slot.value for slot in self.slots}


@dataclass(frozen=True)
class Example:
    """One labelled utterance. `tags` are BIO slot tags, one per whitespace token, where a dataset has them."""

    text: str
    intent: str
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    oos_label: str | None = None  # e.g. "oos" for CLINC150

    @property
    def labels(self) -> list[str]:
        return sorted({ex.intent for ex in self.train})

    @property
    def has_slots(self) -> bool:
        return any(ex.tags for ex in self.train)


@runtime_checkable
class IntentModel(Protocol):
    """fit / predict / save / load; see nlu.registry for the names."""

    name: str
    threshold: float  # tuned on validation: below it the request goes to the dialog generator

    def fit(self, dataset: Dataset) -> dict: ...

    def predict(self, texts: list[str]) -> list[Intent]: ...

    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path, device: str = "cpu") -> IntentModel: ...
