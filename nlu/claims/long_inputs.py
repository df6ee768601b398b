"""Long inputs built from real HWU64 utterances: a request embedded inside filler made of other utterances.

The intents are split by scenario (the part of an HWU64 label before the first "_"): requests come from
every other scenario in sorted order (the label scenarios), filler from the rest. So the filler never holds
a request of a label intent and the label is well defined: the one label-scenario request in the input.
Filler for training inputs is drawn from the filler scenarios' train utterances, for test inputs from their
test utterances.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from nlu.types import Dataset, Example


@dataclass(frozen=True)
class LongExample:
    tokens: tuple[str, ...]
    label: str
    distance: int  # filler words after the request's last word
    start: int  # index of the request's first word


def scenario(label: str) -> str:
    return label.split("_", 1)[0]


def split_scenarios(labels: list[str]) -> tuple[list[str], list[str]]:
    """(label intents, filler intents): alternate scenarios in sorted order."""
    scenarios = sorted({scenario(label) for label in labels})
    chosen = set(scenarios[0::2])
    return [lb for lb in labels if scenario(lb) in chosen], [
        lb for lb in labels if scenario(lb) not in chosen
    ]


class Filler:
    """An endless stream of words from shuffled filler utterances (cut at the length needed)."""

    def __init__(self, texts: list[str], rng: random.Random) -> None:
        if not texts:
            raise ValueError("no filler utterances")
        self.texts, self.rng = [t.lower().split() for t in texts if t.split()], rng
        self.buffer: list[str] = []

    def take(self, n: int) -> list[str]:
        while len(self.buffer) < n:
            self.buffer.extend(self.rng.choice(self.texts))
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


def embed(request: list[str], total: int, distance: int, filler: Filler) -> tuple[list[str], int]:
    """`request` (cut to fit) with filler before it and exactly `distance` filler words after it: `total` words."""
    if distance >= total:
        raise ValueError(f"distance {distance} leaves no room in {total} words")
    request = request[: total - distance]
    before = total - distance - len(request)
    return filler.take(before) + request + filler.take(distance), before


def build(
    examples: list[Example],
    filler_texts: list[str],
    total: int,
    seed: int,
    distances: tuple[int, ...] | None = None,
    request_words: int | None = None,
) -> list[LongExample]:
    """Each request embedded once per distance in `distances`, or once at a random distance when None."""
    rng = random.Random(seed)
    filler = Filler(filler_texts, rng)
    out = []
    for ex in examples:
        request = ex.text.lower().split()[: request_words or total]
        for distance in distances if distances is not None else (None,):
            if distance is None:
                distance = rng.randint(0, max(0, total - len(request)))
            tokens, start = embed(request, total, distance, filler)
            out.append(LongExample(tuple(tokens), ex.intent, distance, start))
    return out


def limit(examples: list[Example], labels: list[str], per_intent: int | None, seed: int) -> list[Example]:
    """At most `per_intent` examples of each of `labels` (seeded choice), in a stable order."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_label[ex.intent].append(ex)
    rng = random.Random(seed)
    out = []
    for label in labels:
        items = by_label[label][:]
        rng.shuffle(items)
        out.extend(items[:per_intent] if per_intent else items)
    return out


@dataclass(frozen=True)
class LongTask:
    """The claim-2 task: train / valid inputs at random distances, test inputs at each fixed distance."""

    labels: list[str]
    train: list[LongExample]
    valid: list[LongExample]
    test: list[LongExample]
    total: int


def long_task(
    data: Dataset,
    total: int,
    distances: tuple[int, ...],
    request_words: int,
    per_intent: int | None,
    intents: int | None,
    seed: int,
) -> LongTask:
    label_intents, filler_intents = split_scenarios(data.labels)
    label_intents = label_intents[:intents] if intents else label_intents
    filler = set(filler_intents)
    train_filler = [ex.text for ex in data.train if ex.intent in filler]
    test_filler = [ex.text for ex in data.test if ex.intent in filler] or train_filler
    valid_filler = [ex.text for ex in data.valid if ex.intent in filler] or train_filler
    train = limit(data.train, label_intents, per_intent, seed)
    valid = limit(data.valid, label_intents, max(2, (per_intent or 0) // 3) or None, seed)
    test = limit(data.test, label_intents, None, seed)
    return LongTask(
        label_intents,
        build(train, train_filler, total, seed, None, request_words),
        build(valid, valid_filler, total, seed + 1, None, request_words),
        build(test, test_filler, total, seed + 2, distances, request_words),
        total,
    )


def at_length(examples: list[Example], total: int, filler_texts: list[str], seed: int) -> list[LongExample]:
    """Every example as an input of exactly `total` words (claim 1): cut, or with filler around it at a
    random position."""
    return build(examples, filler_texts, total, seed, None, total)
