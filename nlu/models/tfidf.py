"""`tfidf-logreg`: the scikit-learn baseline. Word 1-2-gram and character 2-5-gram TF-IDF features,
multinomial logistic regression. Saved without pickle: vocabularies as JSON, arrays as safetensors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nlu.models.base import BaseIntentModel
from nlu.types import Dataset

WORD = {
    "analyzer": "word",
    "ngram_range": (1, 2),
    "sublinear_tf": True,
    "token_pattern": r"(?u)\b\w+\b|[^\w\s]",
}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2}


class TfidfLogRegModel(BaseIntentModel):
    """TF-IDF (word + char n-grams) + logistic regression (scikit-learn baseline)."""

    name: ClassVar[str] = "tfidf-logreg"
    defaults: ClassVar[dict[str, Any]] = {"C": 20.0, "max_iter": 2000, "seed": 0}

    def __init__(self, device: str = "cpu", cache_dir: Path | None = None, **config: Any) -> None:
        super().__init__(device=device, **config)
        self.vectorizers: list = []
        self.coef = np.zeros((0, 0), np.float32)
        self.intercept = np.zeros(0, np.float32)

    def _features(self, batch: list[list[str]]):
        from scipy.sparse import hstack

        texts = [" ".join(tokens) for tokens in batch]
        return hstack([vec.transform(texts) for vec in self.vectorizers]).tocsr()

    def tags_slots(self) -> bool:
        return False  # an intent-only baseline: no slot tags (and no slot F1)

    def _fit(self, dataset: Dataset) -> dict:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from nlu.tokenize import normalize

        texts = [normalize(ex.text) for ex in dataset.train]
        self.vectorizers = [TfidfVectorizer(**WORD), TfidfVectorizer(**CHAR)]
        for vec in self.vectorizers:
            vec.fit(texts)
        features = self._features([t.split() for t in texts])
        classifier = LogisticRegression(
            C=self.config["C"], max_iter=self.config["max_iter"], random_state=self.config["seed"]
        )
        index = {label: i for i, label in enumerate(self.labels)}
        classifier.fit(features, [index[ex.intent] for ex in dataset.train])
        coef, intercept = classifier.coef_, classifier.intercept_
        if len(self.labels) == 2:  # binary LR keeps one row; expand to two logits
            coef, intercept = (
                np.vstack([-coef / 2, coef / 2]),
                np.array([-intercept[0] / 2, intercept[0] / 2]),
            )
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.ascontiguousarray(intercept, dtype=np.float32)
        return {"features": int(features.shape[1])}

    def _logits(self, batch: list[list[str]]) -> tuple[np.ndarray, None]:
        return np.asarray(self._features(batch) @ self.coef.T + self.intercept), None

    def num_parameters(self) -> int:
        return int(self.coef.size + self.intercept.size)

    def _save_weights(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        arrays = {"coef": self.coef, "intercept": self.intercept}
        arrays.update(
            {
                f"idf{i}": np.ascontiguousarray(vec.idf_, dtype=np.float64)
                for i, vec in enumerate(self.vectorizers)
            }
        )
        save_file(arrays, str(folder / "model.safetensors"))
        vocab = [{term: int(i) for term, i in vec.vocabulary_.items()} for vec in self.vectorizers]
        (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")

    def _load_weights(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from sklearn.feature_extraction.text import TfidfVectorizer

        arrays = load_file(str(folder / "model.safetensors"))
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        self.coef, self.intercept = arrays["coef"], arrays["intercept"]
        self.vectorizers = []
        for i, (params, terms) in enumerate(zip((WORD, CHAR), vocab, strict=True)):
            vec = TfidfVectorizer(**{k: v for k, v in params.items() if k != "min_df"}, vocabulary=terms)
            vec.idf_ = arrays[f"idf{i}"]
            self.vectorizers.append(vec)
