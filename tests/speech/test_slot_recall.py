"""Slot-word recall as `assistant bench asr` computes it (assistant.bench.slots), on a hand-written fixture in
the picovoice_dev label format, and the real set's shape when it is present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.bench.slots import (
    FOLDER,
    SlotDataError,
    load_slot_clips,
    normalize,
    read_labels,
    score,
)

from .conftest import SPEECH_DATA

# label.json as the set writes it: keys end in .wav, some slot values carry a leading space
LABELS = {
    "one.wav": {  # digits for number words, punctuation and case: all three found
        "intent": "orderDrink",
        "slots": {"coffeeDrink": "latte", "size": "twelve ounce", "roast": "dark roast"},
    },
    "two.wav": {  # "ice" for "iced", "soil" for "soy": only the shots are found
        "intent": "orderDrink",
        "slots": {
            "coffeeDrink": "iced mocha",
            "milkAmount": "a little bit of soy milk",
            "numberOfShots": "double shot",
        },
    },
    "three.wav": {  # number spelt out in the transcript, plural "ounces"
        "intent": "orderDrink",
        "slots": {"size": "sixteen ounce", "sugarAmount": " sweetener"},
    },
    "four.wav": {  # nothing heard: every slot missed
        "intent": "orderDrink",
        "slots": {"coffeeDrink": "americano", "numberOfShots": "triple shot"},
    },
}
TRANSCRIPTS = {
    "one.flac": "Can I get a 12-oz. Dark Roast LATTE?",
    "two.flac": "Get me a double shot, ice mocha with a little bit of soil milk.",
    "three.flac": "Sixteen ounces, with sweetener!",
    "four.flac": "",
}


@pytest.fixture
def fixture_set(tmp_path: Path) -> Path:
    (tmp_path / "label.json").write_text(json.dumps(LABELS), encoding="utf-8")
    return tmp_path


def test_recall_on_the_fixture_counts_exactly(fixture_set):
    labels = read_labels(fixture_set)
    assert sorted(labels) == sorted(TRANSCRIPTS)
    recall = score((labels[name], TRANSCRIPTS[name]) for name in sorted(labels))
    # values: 3 + 1 + 2 + 0 found of 3 + 3 + 2 + 2
    assert (recall.values_found, recall.values) == (6, 10)
    assert recall.rate == pytest.approx(0.6)
    # words: latte, 12 ounce, dark roast (5/5); mocha, a little bit of milk, double shot (8/10);
    # 16 ounce, sweetener (3/3); americano, triple shot (0/3)
    assert (recall.words_found, recall.words) == (16, 21)


def test_each_fixture_clip_alone():
    found = {
        name: score([(LABELS[name.replace(".flac", ".wav")]["slots"], text)]).values_found
        for name, text in TRANSCRIPTS.items()
    }
    assert found == {"one.flac": 3, "two.flac": 1, "three.flac": 2, "four.flac": 0}


def test_normalisation_numbers_units_punctuation():
    assert normalize("twelve ounce") == ["12", "ounce"]
    assert normalize("A 12oz.") == normalize("a twelve-ounce") == ["a", "12", "ounce"]
    assert normalize("20 OZ, Dark-Roast") == ["20", "ounce", "dark", "roast"]
    assert normalize(" brown sugar") == ["brown", "sugar"]


def test_value_needs_its_words_in_order():
    slots = {"roast": "dark roast"}
    assert score([(slots, "a roast, dark please")]).values_found == 0
    assert score([(slots, "a roast, dark please")]).words_found == 2
    assert score([(slots, "the dark roast")]).values_found == 1


def test_bad_label_files_fail_with_a_message(tmp_path):
    with pytest.raises(SlotDataError, match="No label.json"):
        read_labels(tmp_path)
    (tmp_path / "label.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SlotDataError, match="not readable JSON"):
        read_labels(tmp_path)
    (tmp_path / "label.json").write_text(json.dumps({"x.wav": {"slots": {"size": 3}}}), encoding="utf-8")
    with pytest.raises(SlotDataError, match="no slots mapping"):
        read_labels(tmp_path)
    (tmp_path / "label.json").write_text(json.dumps(LABELS), encoding="utf-8")
    with pytest.raises(SlotDataError, match="clean/four.flac is missing"):
        load_slot_clips(tmp_path)


REAL = SPEECH_DATA / FOLDER
SLOT_NAMES = {"coffeeDrink", "size", "roast", "numberOfShots", "milkAmount", "sugarAmount"}


@pytest.mark.skipif(not (REAL / "label.json").is_file(), reason=f"no {REAL}")
def test_real_picovoice_set_shape():
    labels = read_labels(REAL)
    assert len(labels) == 200
    assert all((REAL / "clean" / name).is_file() for name in labels)
    assert set().union(*labels.values()) <= SLOT_NAMES
    assert all(labels.values()), "every order has at least one slot"
    assert sum(len(slots) for slots in labels.values()) == 694  # the 568/694 denominator
    assert "SOURCE.md" in {p.name for p in REAL.iterdir()}  # the attribution travels with the data
    clips = load_slot_clips(REAL, limit=3)
    assert [c.name for c in clips] == sorted(labels)[:3]
    for clip in clips:
        assert clip.audio.ndim == 1 and clip.audio.dtype.name == "float32"
        assert 0.5 < clip.seconds < 30 and clip.slots == labels[clip.name]


def test_bench_asr_slots_only_without_the_set_says_so(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["bench", "asr", "--slots-only", "--data", str(tmp_path)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # rich wraps long paths
    assert "No spoken-command set" in said and "Traceback" not in said


def test_bench_asr_bad_labels_say_so(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli import app

    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / "label.json").write_text("[]", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "asr", "--slots-only", "--data", str(tmp_path)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "expected an object" in said and "Traceback" not in said
