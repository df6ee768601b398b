"""The blend: its members' calibrated probabilities averaged, calibrated once more, loaded with its members."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu.models.base import ModelFolderError
from nlu.models.blend import BlendedIntentModel
from nlu.registry import create, load_intent_model
from nlu.types import Dataset


@pytest.fixture(scope="module")
def members(tiny_hwu: Dataset, tmp_path_factory: pytest.TempPathFactory) -> list:
    cache = tmp_path_factory.mktemp("cache")
    lstm = create("lstm", cache_dir=cache, epochs=3, hidden=16, ngram_dim=8, buckets=500)
    lstm.fit(tiny_hwu)
    tfidf = create("tfidf-logreg", cache_dir=cache)
    tfidf.fit(tiny_hwu)
    return [lstm, tfidf]


def test_a_blend_averages_its_members_calibrated_probabilities(members: list, tiny_hwu: Dataset) -> None:
    blend = BlendedIntentModel(models=["lstm", "tfidf-logreg"])
    blend.attach(members)
    blend.fit(tiny_hwu)
    assert blend.labels == tiny_hwu.labels and 0 < blend.threshold < 1 and blend.temperature > 0
    texts = ["wake me up at seven", "what's the weather like", "turn the lights off"]
    blend.temperature = 1.0  # its own calibration aside, the distribution is the members' mean
    blended = blend.predict(texts)
    alone = [m.predict(texts) for m in members]
    for row, intent in enumerate(blended):
        for label in blend.labels:
            mean = np.mean([preds[row].distribution[label] for preds in alone])
            assert intent.distribution[label] == pytest.approx(mean, rel=1e-6)
    assert blend.num_parameters() == sum(m.num_parameters() for m in members)


def test_a_blend_refuses_members_it_cannot_read(members: list, tiny_hwu: Dataset) -> None:
    blend = BlendedIntentModel(models=["lstm", "tfidf-logreg"])
    with pytest.raises(ModelFolderError, match="needs its 2 members"):
        blend.attach(members[:1])
    blend.labels = [*tiny_hwu.labels, "not_a_label_of_theirs"]
    with pytest.raises(ModelFolderError, match="lacks the labels"):
        blend.attach(members)
    with pytest.raises(RuntimeError, match="attach"):
        BlendedIntentModel().fit(tiny_hwu)


def test_the_shipped_blend_loads_with_its_members_and_saves_no_weights(tmp_path: Path) -> None:
    from nlu.shipped import shipped_folder

    blend = load_intent_model("blend", cache_dir=tmp_path)
    assert isinstance(blend, BlendedIntentModel) and len(blend.members) == 3
    assert sorted(p.name for p in shipped_folder("blend").iterdir()) == ["config.json"]
    first = blend.predict(["what is the difference between an lstm and a transformer"])[0]
    assert first.label == "oos"
    blend.save(tmp_path / "copy")
    assert [p.name for p in (tmp_path / "copy").iterdir()] == ["config.json"]
    again = load_intent_model(str(tmp_path / "copy"), cache_dir=tmp_path)
    texts = ["set an alarm for 7 am on weekdays", "how does a rainbow form"]
    assert [i.distribution for i in again.predict(texts)] == [i.distribution for i in blend.predict(texts)]


def test_the_runtime_lends_a_blend_the_members_it_already_holds(tmp_path: Path) -> None:
    """Picking `blend` beside `lstm` in the web app holds one LSTM, not two."""
    from assistant.config import load_settings
    from assistant.runtime import Runtime

    runtime = Runtime(load_settings({"data_dir": str(tmp_path), "cache_dir": str(tmp_path / "cache")}))
    lstm = runtime.nlu_model("lstm")
    blend = runtime.nlu_model("blend")
    assert blend.members[0] is lstm and blend.members[1] is runtime.nlu_model("minilm-frozen")
    assert runtime.nlu_model("blend") is blend
