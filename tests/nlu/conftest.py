"""Small, fast NLU fixtures: tiny slices of the packaged HWU64 copy (and of shared data where present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.data import load_dataset, shared_data_dir, subsample
from nlu.types import Dataset

# Tiny but real settings per model: a few epochs, small layers, random word vectors (no distillation).
FAST = {
    "lstm": {
        "epochs": 12,
        "hidden": 48,
        "pretrained": False,
        "word_dim": 48,
        "ngram_dim": 16,
        "buckets": 5000,
        "patience": 12,
        "lr": 5e-3,
        "batch_size": 16,
    },
    "transformer": {
        "epochs": 20,
        "d_model": 64,
        "ff": 128,
        "layers": 1,
        "heads": 2,
        "pretrained": False,
        "word_dim": 48,
        "ngram_dim": 16,
        "buckets": 5000,
        "patience": 20,
        "lr": 3e-3,
        "batch_size": 16,
    },
    "minilm": {"mode": "frozen", "epochs": 40},
    "tfidf-logreg": {"C": 10.0, "max_iter": 300},
}


@pytest.fixture(scope="session")
def tiny_hwu() -> Dataset:
    """8 intents x 12 training examples (chance = 12.5%) from the packaged HWU64 copy."""
    return subsample(load_dataset("hwu64"), per_intent=12, intents=8, seed=1)


@pytest.fixture(scope="session")
def tiny_snips() -> Dataset:
    if shared_data_dir() is None:
        pytest.skip("SNIPS needs ../shared/data")
    return subsample(load_dataset("snips"), per_intent=25, seed=1)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture(scope="session")
def trained(tiny_hwu: Dataset, model_cache: Path):
    """`trained(name)`: that model trained once on the tiny slice (memoised across this folder's tests)."""
    from nlu.registry import create

    done: dict = {}

    def get(name: str):
        if name not in done:
            model = create(name, cache_dir=model_cache, **FAST[name])
            model.fit(tiny_hwu)
            done[name] = model
        return done[name]

    return get
