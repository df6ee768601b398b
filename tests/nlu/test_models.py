"""Every registered model learns, saves and loads, and survives bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu.registry import load_folder, models
from nlu.tokenize import NLUInputError
from nlu.types import Dataset, Intent, IntentModel

pytestmark = pytest.mark.slow

ALL = ["lstm", "minilm", "tfidf-logreg", "transformer"]


def test_registry_lists_every_model() -> None:
    assert models.names() == sorted([*ALL, "blend"])  # a blend trains nothing (tests/nlu/test_blend.py)
    assert all(models.describe().values())


@pytest.mark.parametrize("name", ALL)
def test_model_beats_chance_widely(name: str, trained, tiny_hwu: Dataset) -> None:
    model = trained(name)
    assert isinstance(model, IntentModel)
    predictions = model.predict([ex.text for ex in tiny_hwu.test])
    accuracy = np.mean([p.label == ex.intent for p, ex in zip(predictions, tiny_hwu.test, strict=True)])
    chance = 1 / len(tiny_hwu.labels)
    assert accuracy >= 3 * chance, f"{name}: accuracy {accuracy:.2f} vs chance {chance:.2f}"
    first = predictions[0]
    assert isinstance(first, Intent) and first.model == name
    assert set(first.distribution) == set(tiny_hwu.labels)
    assert abs(sum(first.distribution.values()) - 1) < 1e-4
    assert model.temperature > 0 and 0 <= model.threshold <= 1


@pytest.mark.parametrize("name", ALL)
def test_save_load_gives_identical_predictions(name: str, trained, tiny_hwu: Dataset, tmp_path: Path) -> None:
    model = trained(name)
    texts = [ex.text for ex in tiny_hwu.test] + ["turn the lights off in the kitchen please"]
    model.save(tmp_path / name)
    assert (tmp_path / name / "config.json").is_file() and (tmp_path / name / "model.safetensors").is_file()
    loaded = load_folder(tmp_path / name)
    before, after = model.predict(texts), loaded.predict(texts)
    assert [p.label for p in before] == [p.label for p in after]
    np.testing.assert_allclose(
        [p.confidence for p in before], [p.confidence for p in after], rtol=1e-5, atol=1e-6
    )
    assert loaded.threshold == model.threshold and loaded.temperature == model.temperature


BAD = {
    "emoji only": "😀🎉🔥",
    "other script": "Поставь будильник на семь утра",
    "cjk": "明天早上七点叫醒我",
    "control chars": "set\x00 an\x07 alarm\x1b[31m for seven",
    "10,000 words": "please " * 9_999 + "alarm",
    "zero width": "wake\u200bme up",
}


@pytest.mark.parametrize("name", ALL)
def test_bad_input_gives_a_prediction_or_a_clear_error(name: str, trained, tiny_hwu: Dataset) -> None:
    model = trained(name)
    predictions = model.predict(list(BAD.values()))
    assert len(predictions) == len(BAD)
    assert all(p.label in tiny_hwu.labels and 0 <= p.confidence <= 1 for p in predictions)
    for empty in ["", "   \t\n ", "\x00\x01\x1b"]:
        with pytest.raises(NLUInputError, match="nothing to classify"):
            model.predict([empty])
    with pytest.raises(NLUInputError, match="list of texts"):
        model.predict("a bare string")  # type: ignore[arg-type]
    assert model.predict([]) == []


def test_lstm_learns_slots(tiny_snips: Dataset, model_cache: Path) -> None:
    from nlu.evaluate import evaluate
    from nlu.registry import create
    from tests.nlu.conftest import FAST

    model = create("lstm", cache_dir=model_cache, **{**FAST["lstm"], "epochs": 12, "lr": 1e-2})
    model.fit(tiny_snips)
    result = evaluate(model, tiny_snips, latency_samples=5)
    assert result.accuracy > 0.5 and result.slot_f1 is not None and result.slot_f1 > 0.3, result
    intent = model.predict(["play some jazz by miles davis on spotify"])[0]
    assert all(slot.value for slot in intent.slots)


def test_minilm_finetune_saves_and_loads(tiny_hwu: Dataset, model_cache: Path, tmp_path: Path) -> None:
    from nlu.registry import create

    model = create("minilm", cache_dir=model_cache, epochs=1, mode="finetune")
    model.fit(tiny_hwu)
    texts = [ex.text for ex in tiny_hwu.test[:8]]
    model.save(tmp_path / "ft")
    assert (tmp_path / "ft" / "encoder" / "model.safetensors").is_file()
    loaded = load_folder(tmp_path / "ft")
    np.testing.assert_allclose(
        [p.confidence for p in model.predict(texts)], [p.confidence for p in loaded.predict(texts)], rtol=1e-4
    )


def test_training_reports_each_step(tiny_hwu: Dataset, model_cache: Path) -> None:
    """The web page's training bar: (done, planned, status) after every optimiser step, in order."""
    from nlu.registry import create
    from tests.nlu.conftest import FAST

    model = create("lstm", cache_dir=model_cache, **{**FAST["lstm"], "epochs": 2})
    calls: list[tuple[int, int, str]] = []
    model.on_step = lambda done, planned, status: calls.append((done, planned, status))
    model.fit(tiny_hwu)
    done = [c[0] for c in calls]
    assert done == list(range(1, len(calls) + 1)) and calls[-1][0] <= calls[-1][1]
    assert calls[0][2] == "epoch 1 of up to 2" and calls[-1][2] == "epoch 2 of up to 2"


def test_intent_only_models_on_slot_data_have_no_tags(tiny_snips: Dataset, model_cache: Path) -> None:
    """tf-idf has no slot head: on SNIPS it must not inherit the data's tags (calibration crashed on it)."""
    from nlu.registry import create
    from tests.nlu.conftest import FAST

    model = create("tfidf-logreg", cache_dir=model_cache, **FAST["tfidf-logreg"])
    model.fit(tiny_snips)
    assert model.tags == [] and model.predict(["play some jazz"])[0].slots == ()
