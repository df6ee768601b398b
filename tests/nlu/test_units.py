"""Fast unit tests: tokenizer, BIO spans and slot F1, calibration, data loaders, batching, run keys."""

from __future__ import annotations

import random

import numpy as np
import pytest

from nlu.calibrate import FALLBACK, fit_temperature, route, softmax, tune_threshold
from nlu.compare import run_key, shown_options
from nlu.data import DATASETS, load_dataset, shared_data_dir, split_validation
from nlu.models.base import BaseIntentModel
from nlu.models.minilm import MiniLMIntentModel
from nlu.slots import span_f1, spans, to_slots
from nlu.tokenize import MAX_WORDS, NLUInputError, Tokenizer, char_ngrams, normalize, words
from nlu.train import length_grouped_batches
from nlu.types import Example, Intent


def test_normalize_and_words() -> None:
    assert normalize("  Wake ME\tup\x00 at ＳＥＶＥＮ\u200b ") == "wake me up at seven"
    assert len(words("word " * 10_000)) == MAX_WORDS
    with pytest.raises(NLUInputError):
        words(" \n\t\x07")
    with pytest.raises(NLUInputError):
        normalize(None)  # type: ignore[arg-type]


def test_tokenizer_oov_goes_through_unk_and_ngrams() -> None:
    tok = Tokenizer.build(["set an alarm", "turn the lights on"], buckets=1000)
    assert tok.word_id("alarm") > 1 and tok.word_id("alarm?") == tok.word_id("alarm")
    assert tok.word_id("zebra") == 1  # <unk>
    assert char_ngrams("alarm", 1000) == char_ngrams("alarm", 1000)  # stable hashing (no salted hash())
    assert all(0 < i < 1000 for i in char_ngrams("😀", 1000))
    word_ids, ngram_ids, lengths = tok.encode([["set", "zebra"], ["alarm"]])
    assert word_ids.shape == (2, 2) and ngram_ids.shape[:2] == (2, 2) and lengths.tolist() == [2, 1]
    assert ngram_ids[0, 1].gt(0).any()  # the unknown word still has n-gram features


def test_bio_spans_and_slot_f1() -> None:
    tags = ["O", "B-artist", "I-artist", "O", "I-service", "B-year"]
    assert spans(tags) == [("artist", 1, 3), ("service", 4, 5), ("year", 5, 6)]
    slots = to_slots(["play", "the", "beatles", "on", "spotify", "1969"], tags)
    assert [(s.name, s.value) for s in slots] == [
        ("artist", "the beatles"),
        ("service", "spotify"),
        ("year", "1969"),
    ]
    gold = [["B-a", "I-a", "O", "B-b"]]
    assert span_f1(gold, gold) == 1.0
    assert span_f1(gold, [["B-a", "O", "O", "B-b"]]) == pytest.approx(
        0.5
    )  # boundary error = miss + false alarm
    assert span_f1(gold, [["O", "O", "O", "O"]]) == 0.0


def test_temperature_scaling_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 5, 2000)
    logits = rng.normal(size=(2000, 5))
    logits[np.arange(2000), targets] += 1.0
    hot = logits * 8  # an overconfident model: same ranking, scaled up
    assert fit_temperature(hot, targets) == pytest.approx(8.0, rel=0.15)
    assert np.allclose(softmax(hot, 8.0), softmax(logits, 1.0))


def test_threshold_tuning_and_routing() -> None:
    confidence = np.array([0.9, 0.8, 0.85, 0.3, 0.2, 0.25])
    correct = np.array([True, True, True, False, False, False])
    is_oos = np.array([False, False, False, True, True, True])
    threshold = tune_threshold(confidence, correct, is_oos)
    assert 0.3 < threshold <= 0.8
    # 1 out-of-scope example among 9 in-scope ones still counts as much as all of them together
    conf = np.array([0.9] * 8 + [0.55, 0.6])
    oos = np.array([False] * 8 + [False, True])
    assert tune_threshold(conf, np.array([True] * 9 + [False]), oos) == pytest.approx(0.9)
    assert tune_threshold(np.linspace(0.5, 1, 100), np.ones(100, bool)) == pytest.approx(0.5 + 0.5 * 5 / 99)
    assert route(Intent("alarm_set", 0.9), threshold) == "alarm_set"
    assert route(Intent("alarm_set", 0.1), threshold) == FALLBACK


def test_packaged_hwu64_loads_without_shared_data() -> None:
    data = load_dataset("hwu64", data_dir=None)
    assert (len(data.train), len(data.valid), len(data.test)) == (7176, 855, 871)
    assert len(data.labels) == 64 and "alarm_set" in data.labels and not data.has_slots


@pytest.mark.skipif(shared_data_dir() is None, reason="needs ../shared/data")
@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_loads(name: str) -> None:
    data = load_dataset(name)
    assert data.train and data.valid and data.test
    if name in ("snips", "atis"):
        assert data.has_slots and all(len(ex.tags or ()) == len(ex.text.split()) for ex in data.train)
    if name == "clinc150":
        assert len(data.labels) == 150 and data.oos_label == "oos"
        assert sum(ex.intent == "oos" for ex in data.test) == 1000
        assert not any(ex.intent == "oos" for ex in data.train)


def test_validation_split_is_seeded_and_stratified() -> None:
    examples = [Example(f"text {i}", f"label{i % 4}") for i in range(200)]
    a, b = split_validation(examples, seed=3), split_validation(examples, seed=3)
    assert a == b and len(a[1]) == 20 and {ex.intent for ex in a[1]} == {f"label{i}" for i in range(4)}
    assert split_validation(examples, seed=4) != a


def test_length_grouped_batches_cover_everything_once_with_little_padding() -> None:
    lengths = [random.Random(i).randint(2, 40) for i in range(1000)]
    order = list(range(1000))
    random.Random(0).shuffle(order)
    batches = length_grouped_batches(order, lengths.__getitem__, 32, random.Random(1), pool=10)
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    assert all(len(batch) <= 32 for batch in batches)

    def padded(groups: list[list[int]]) -> int:
        return sum(len(g) * max(lengths[i] for i in g) for g in groups)

    plain = [order[s : s + 32] for s in range(0, 1000, 32)]
    assert padded(batches) < 0.8 * padded(plain)
    # seeded: the same rng gives the same batches, another gives another order
    assert batches == length_grouped_batches(order, lengths.__getitem__, 32, random.Random(1), pool=10)
    assert batches != length_grouped_batches(order, lengths.__getitem__, 32, random.Random(2), pool=10)


def test_compare_runs_are_keyed_by_their_whole_configuration() -> None:
    defaults = {**MiniLMIntentModel.defaults, "seed": 0}
    older = {**defaults, "epochs": 6}  # a run trained before the default changed
    assert run_key("minilm", "snips", defaults, None) != run_key("minilm", "snips", older, None)
    assert shown_options({"model": "minilm", "config": defaults}) == {}
    assert shown_options({"model": "minilm", "config": {**older, "seed": 2}}) == {"epochs": 6}
    # runs written before configurations were recorded keep the options they were given
    assert shown_options({"model": "minilm", "options": {"mode": "frozen"}}) == {"mode": "frozen"}
    # an option added after the run was recorded is labelled, never taken for today's default
    before_option = {k: v for k, v in defaults.items() if k != "select_on"}
    assert shown_options({"model": "minilm", "config": before_option}) == {"select_on": "unrecorded"}


class _ScoredModel(BaseIntentModel):
    """Fixed predictions, to test the early-stopping score without training anything."""

    name = "scored"

    def __init__(self, intents: list[int], tags: list[list[int]]) -> None:
        super().__init__()
        self.labels, self.tags = ["a", "b"], ["B-x", "O"]
        self._intents, self._tags = intents, tags

    def _logits(self, batch: list[list[str]]) -> tuple[np.ndarray, list[list[int]]]:
        rows = [int(tokens[0][1:]) for tokens in batch]  # texts are "tN ...": example N
        logits = np.eye(2)[[self._intents[r] for r in rows]]
        return logits, [self._tags[r][: len(batch[i])] for i, r in enumerate(rows)]


def test_early_stopping_score_joint_or_intent_first() -> None:
    valid = [Example(f"t{i} w", "a", ("B-x", "O")) for i in range(4)]
    all_right = [[0, 1]] * 4
    # A: 3 of 4 intents, every slot; B: every intent, no slot
    slots_better = _ScoredModel([0, 0, 0, 1], all_right)
    intents_better = _ScoredModel([0, 0, 0, 0], [[1, 1]] * 4)
    assert slots_better._valid_score(valid) > intents_better._valid_score(valid)
    assert slots_better._valid_score(valid, "intent") < intents_better._valid_score(valid, "intent")
    # same intent accuracy: slot F1 breaks the tie, and never outweighs one utterance
    tied_worse_slots = _ScoredModel([0, 0, 0, 1], [[1, 1]] * 4)
    assert slots_better._valid_score(valid, "intent") > tied_worse_slots._valid_score(valid, "intent")
    assert 0.75 < slots_better._valid_score(valid, "intent") < 1.0
    with pytest.raises(ValueError, match="select_on"):
        slots_better._valid_score(valid, "loss")
    with pytest.raises(ValueError, match="select_on"):
        MiniLMIntentModel(select_on="slots")
