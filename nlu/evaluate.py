"""Scores of a trained model on a test split: accuracy, macro-F1, slot F1, out-of-scope handling, speed."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from nlu.calibrate import FALLBACK, route
from nlu.slots import span_f1
from nlu.tokenize import MAX_WORDS, words
from nlu.types import Dataset, IntentModel


@dataclass(frozen=True)
class Evaluation:
    model: str
    dataset: str
    accuracy: float  # in-scope test examples, arg-max label (no threshold)
    macro_f1: float
    slot_f1: float | None
    in_scope_accuracy: (
        float | None
    )  # with the threshold: accepted and right (datasets with out-of-scope data)
    oos_recall: float | None  # out-of-scope test examples sent to the fallback
    threshold: float
    latency_p50_ms: float
    latency_p95_ms: float
    throughput: float  # utterances per second, batched
    parameters: int
    n_test: int
    confusions: list[tuple[str, str, int]] = field(default_factory=list)  # (gold, predicted, count)

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(model: IntentModel, dataset: Dataset, latency_samples: int = 200) -> Evaluation:
    from sklearn.metrics import f1_score

    test = dataset.test
    if not test:
        raise ValueError(f"Dataset {dataset.name!r} has no test split.")
    texts = [ex.text for ex in test]
    started = time.perf_counter()
    predictions = model.predict(texts)
    throughput = len(texts) / (time.perf_counter() - started)

    in_scope = [i for i, ex in enumerate(test) if ex.intent != dataset.oos_label]
    gold = [test[i].intent for i in in_scope]
    predicted = [predictions[i].label for i in in_scope]
    accuracy = float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)]))
    macro_f1 = float(f1_score(gold, predicted, average="macro", labels=sorted(set(gold)), zero_division=0))

    slot_f1 = None
    if dataset.has_slots and getattr(model, "tags", None):
        gold_tags, pred_tags = [], []
        for ex, pred in zip(test, predictions, strict=True):
            n = len(words(ex.text, MAX_WORDS))
            tags = ["O"] * n
            for slot in pred.slots:
                tags[slot.start] = f"B-{slot.name}"
                for k in range(slot.start + 1, slot.end):
                    tags[k] = f"I-{slot.name}"
            gold_tags.append(list(ex.tags or ["O"] * n)[:n])
            pred_tags.append(tags)
        slot_f1 = span_f1(gold_tags, pred_tags)

    in_scope_accuracy = oos_recall = None
    if dataset.oos_label and len(in_scope) < len(test):
        routed = [route(p, model.threshold) for p in predictions]
        in_scope_accuracy = float(np.mean([routed[i] == test[i].intent for i in in_scope]))
        oos = [i for i, ex in enumerate(test) if ex.intent == dataset.oos_label]
        oos_recall = float(np.mean([routed[i] == FALLBACK for i in oos]))

    latencies = []
    sample = texts[: max(1, latency_samples)]
    for text in sample[:10]:
        model.predict([text])  # warm-up
    for text in sample:
        t0 = time.perf_counter()
        model.predict([text])
        latencies.append((time.perf_counter() - t0) * 1000)

    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return Evaluation(
        model=model.name,
        dataset=dataset.name,
        accuracy=accuracy,
        macro_f1=macro_f1,
        slot_f1=slot_f1,
        in_scope_accuracy=in_scope_accuracy,
        oos_recall=oos_recall,
        threshold=float(model.threshold),
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p95_ms=float(np.percentile(latencies, 95)),
        throughput=float(throughput),
        parameters=int(model.num_parameters()) if hasattr(model, "num_parameters") else 0,
        n_test=len(test),
        confusions=[(g, p, n) for (g, p), n in confusions.most_common(30)],
    )
