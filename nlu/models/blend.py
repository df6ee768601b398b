"""A blend of trained intent models: their calibrated probabilities averaged, then calibrated once more.

Models that learn differently make different mistakes. The BiLSTM reads word order; the frozen MiniLM
head brings what a sentence encoder learned from a billion sentences; TF-IDF + logistic regression keys
on rare words and is the surest of the three that a request is for no skill. Averaged, they keep the
LSTM's accuracy on HWU64 and send more open questions to the generator than any one of them
(nlu/RESULTS.md). "Training" a blend only fits its temperature and threshold on the validation split,
like every model (nlu.calibrate); its members are loaded, never trained, and its folder holds no weights:
just which members, by product name, and those two numbers. Slots come from the first member that tags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nlu.calibrate import softmax
from nlu.models.base import BaseIntentModel, ModelFolderError
from nlu.types import Dataset


class BlendedIntentModel(BaseIntentModel):
    """Trained product models' calibrated probabilities averaged, then calibrated once more."""

    name: ClassVar[str] = "blend"
    defaults: ClassVar[dict[str, Any]] = {
        "models": ["lstm", "minilm-frozen", "tfidf-logreg"]
    }  # product names

    def __init__(self, device: str = "cpu", cache_dir: Path | None = None, **config: Any) -> None:
        super().__init__(device=device, **config)
        self.members: list[BaseIntentModel] = []
        self._columns: list[np.ndarray] = []  # per member: its column of each of our labels
        self._tagger: BaseIntentModel | None = None

    @property
    def member_names(self) -> list[str]:
        return list(self.config["models"])

    def attach(self, members: list[BaseIntentModel]) -> None:
        """Give the blend its loaded members (nlu.registry does, by `member_names`), in that order."""
        if len(members) != len(self.member_names) or len(members) < 2:
            raise ModelFolderError(f"a blend needs its {len(self.member_names)} members (at least 2).")
        self.members = list(members)
        if self.labels:
            self._index_columns()

    def tags_slots(self) -> bool:
        return any(m.tags for m in self.members)

    def _index_columns(self) -> None:
        self._columns = []
        for name, member in zip(self.member_names, self.members, strict=True):
            missing = sorted(set(self.labels) - set(member.labels))
            if missing:
                raise ModelFolderError(f"blend member {name!r} lacks the labels {missing[:5]}")
            position = {label: i for i, label in enumerate(member.labels)}
            self._columns.append(np.array([position[label] for label in self.labels]))
        self._tagger = next((m for m in self.members if m.tags), None)
        self.tags = list(self._tagger.tags) if self._tagger else []

    def _fit(self, dataset: Dataset) -> dict:
        if not self.members:
            raise RuntimeError("attach the blend's members before fitting it (nlu.registry does).")
        self._index_columns()
        return {"members": len(self.members)}

    def _logits(self, batch: list[list[str]]) -> tuple[np.ndarray, list[list[int]] | None]:
        """log of the members' mean calibrated probability, and the tagging member's slot tags."""
        if not self.members:
            raise RuntimeError("the blend has no members attached; load it with nlu.registry.")
        mean = np.zeros((len(batch), len(self.labels)))
        tags = None
        for member, columns in zip(self.members, self._columns, strict=True):
            logits, member_tags = member._batched(batch)
            mean += softmax(logits, member.temperature)[:, columns]
            if member is self._tagger:
                tags = member_tags
        return np.log(np.clip(mean / len(self.members), 1e-12, None)), tags

    def num_parameters(self) -> int:
        return sum(m.num_parameters() for m in self.members)

    def _save_weights(self, folder: Path) -> None:
        """Nothing of its own: the members are product models, loaded by name."""

    def _load_weights(self, folder: Path) -> None:
        """Nothing of its own (see `attach`)."""
