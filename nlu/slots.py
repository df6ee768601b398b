"""BIO tags <-> slot spans, used to decode predictions and to score slot F1 (seqeval-style, strict spans)."""

from __future__ import annotations

from collections.abc import Sequence

from nlu.types import Slot


def spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(name, start, end) for each slot; an I- tag that does not continue a span starts a new one."""
    found: list[tuple[str, int, int]] = []
    name, start = None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == name
        if name is not None and not continues:
            found.append((name, start, i))
            name = None
        if prefix in ("B", "I") and not continues:
            name, start = label, i
    return found


def to_slots(words: Sequence[str], tags: Sequence[str]) -> tuple[Slot, ...]:
    return tuple(Slot(name, " ".join(words[start:end]), start, end) for name, start, end in spans(tags))


def span_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Micro F1 over exact (name, start, end) spans, as seqeval / conlleval compute it."""
    true_positive = n_gold = n_pred = 0
    for gold_tags, pred_tags in zip(gold, predicted, strict=True):
        g = set(spans(gold_tags))
        p = set(spans(pred_tags))
        true_positive += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    if true_positive == 0:
        return 0.0
    precision, recall = true_positive / n_pred, true_positive / n_gold
    return 2 * precision * recall / (precision + recall)
