"""The shipped product models: the same bytes and the same predictions on every machine, no training at
load, and the product data kept apart from the held-out evaluation sets."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nlu import shipped
from nlu.data import PRODUCT_DATASET, load_dataset
from nlu.ship import predictions_sha256, probe_texts, read_lines
from nlu.shipped import CATALOG, MANIFEST, SHIPPED_DIR, ShippedModelError, read_manifest, verify_files

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [name for name, entry in CATALOG.items() if entry.shipped]


def test_every_shipped_file_matches_the_manifest() -> None:
    files = read_manifest()["files"]
    for name in SHIPPED:
        assert (SHIPPED_DIR / name / "config.json").is_file(), f"{name} is not shipped"
        assert any(key.startswith(f"{name}/") for key in files), name
    verify_files([SHIPPED_DIR / key for key in files])


def test_predict_json_is_the_same_on_every_machine() -> None:
    """`assistant nlu predict --json` over the probe file gives the checksummed bytes (the real CLI)."""
    expected = read_manifest()["predictions"]
    assert sorted(expected) == sorted(SHIPPED)
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "nlu", "predict", "--model", "lstm", "--file",
         str(shipped.PROBE), "--json"],
        capture_output=True, text=True, timeout=300, check=True, cwd=REPO,
    ).stdout  # fmt: skip
    assert hashlib.sha256(out.encode("utf-8")).hexdigest() == expected["lstm"], out
    assert len(out.splitlines()) == len(probe_texts())


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "lstm"])
def test_other_shipped_models_predict_as_recorded(name: str) -> None:
    from nlu.registry import load_folder

    model = load_folder(SHIPPED_DIR / name)
    assert predictions_sha256(model, probe_texts()) == read_manifest()["predictions"][name]


def test_a_changed_file_is_refused_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "shipped"
    shutil.copytree(SHIPPED_DIR / "tfidf-logreg", copy / "tfidf-logreg")
    shutil.copy(MANIFEST, copy / MANIFEST.name)
    monkeypatch.setattr(shipped, "SHIPPED_DIR", copy)
    monkeypatch.setattr(shipped, "MANIFEST", copy / MANIFEST.name)
    config = copy / "tfidf-logreg" / "config.json"
    shipped.product_folder("tfidf-logreg", tmp_path)  # intact: accepted
    config.write_text(config.read_text().replace('"threshold"', '"threshold" ', 1))
    with pytest.raises(ShippedModelError, match="checksum differs"):
        shipped.product_folder("tfidf-logreg", tmp_path)


def test_out_of_scope_is_a_class_of_the_product_data() -> None:
    data = load_dataset(PRODUCT_DATASET)
    assert "oos" in data.labels and len(data.labels) == 65
    assert sum(ex.intent == "oos" for ex in data.train) >= 500
    assert sum(ex.intent == "oos" for ex in data.valid) >= 100
    assert data.oos_label is None  # a class like any other, not a threshold


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def test_held_out_sets_are_not_training_data() -> None:
    data = load_dataset(PRODUCT_DATASET)
    trained = {_plain(ex.text) for ex in data.train + data.valid}
    natural = REPO / "tests" / "natural"
    open_questions = [_plain(t) for t in read_lines(natural / "open_questions.txt")]
    requests = [
        _plain(json.loads(line)["text"])
        for line in (natural / "requests.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(open_questions) >= 150 and len(requests) >= 150
    assert not trained & set(open_questions)
    assert not trained & set(requests)


def test_a_model_over_shipped_words_is_saved_without_its_word_table(tiny_hwu, tmp_path: Path) -> None:
    """The frozen table is rebuilt from the shipped vectors on load: same predictions, far fewer bytes."""
    from safetensors.numpy import load_file

    from nlu.models.neural import SPECIAL_ROWS, WORD_TABLE
    from nlu.registry import create, load_folder

    model = create("lstm", cache_dir=tmp_path / "cache", epochs=2, hidden=16, ngram_dim=8, buckets=500)
    model.fit(tiny_hwu)  # HWU64 words, all in the shipped vectors: nothing to distil
    model.save(tmp_path / "lstm")
    saved = load_file(str(tmp_path / "lstm" / "model.safetensors"))
    assert WORD_TABLE not in saved and saved[SPECIAL_ROWS].shape[0] == 2
    texts = ["wake me up at seven", "what is an lstm", "add milk to my list"]
    again = load_folder(tmp_path / "lstm")
    assert [i.label for i in again.predict(texts)] == [i.label for i in model.predict(texts)]
    assert [i.confidence for i in again.predict(texts)] == [i.confidence for i in model.predict(texts)]


def test_static_vectors_round_trip(tmp_path: Path) -> None:
    import numpy as np

    from nlu.embeddings import StaticVectors

    raw = np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32)
    table = StaticVectors.quantize(["a", "b", "c", "d", "e"], raw)
    table.save(tmp_path)
    loaded = StaticVectors.load(tmp_path)
    assert loaded.words == table.words and np.array_equal(loaded.rows(["c", "a"]), table.rows(["c", "a"]))
    standardised = (raw - raw.mean(0)) / raw.std()
    assert np.abs(loaded.rows(table.words) - standardised).max() < np.abs(standardised).max() / 127


def test_an_ensemble_trains_saves_and_loads(tiny_hwu, tmp_path: Path) -> None:
    """`members=2`: two independently initialised encoders over one input layer, averaged at prediction;
    saved over the shipped words like one model, and loaded to the same predictions."""
    import torch
    from safetensors.numpy import load_file

    from nlu.models.neural import WORD_TABLE
    from nlu.registry import create, load_folder

    model = create(
        "lstm", cache_dir=tmp_path / "cache", epochs=2, hidden=16, ngram_dim=8, buckets=500, members=2
    )
    model.fit(tiny_hwu)
    first, second = model.net.members  # type: ignore[union-attr]
    assert not torch.equal(first.encoder.lstm.weight_ih_l0, second.encoder.lstm.weight_ih_l0)
    model.save(tmp_path / "ensemble")
    assert WORD_TABLE not in load_file(str(tmp_path / "ensemble" / "model.safetensors"))
    texts = [ex.text for ex in tiny_hwu.test][:20]
    again = load_folder(tmp_path / "ensemble")
    assert [i.label for i in again.predict(texts)] == [i.label for i in model.predict(texts)]
    assert [i.confidence for i in again.predict(texts)] == [i.confidence for i in model.predict(texts)]


def test_the_frozen_minilm_model_and_recall_read_one_copy_of_minilm() -> None:
    """A loaded frozen `minilm` on CPU and the assistant's recall encoder share the weights (not 2 x 90 MB);
    its predictions stay those recorded above (`test_other_shipped_models_predict_as_recorded`)."""
    from assistant.dialog.recall import SentenceEncoder
    from nlu.embeddings import shared_sentence_encoder
    from nlu.registry import load_folder

    model = load_folder(SHIPPED_DIR / "minilm-frozen")
    assert model.encoder is shared_sentence_encoder()[0].auto_model
    assert SentenceEncoder().model is shared_sentence_encoder()
    assert not model.encoder.training
