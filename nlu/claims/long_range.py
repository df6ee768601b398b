"""Claim 2: "Transformers handle long-range dependencies better; LSTMs struggle to retain distant
information."

A controlled task from real data (nlu.claims.long_inputs): an HWU64 request embedded in filler made of
utterances from other scenarios; every input has the same length, and the request ends `distance` words
before the end. Both models train on requests at random distances and are tested at fixed distances. The
claim is about retention, so it is judged on the drop from distance 0, not on accuracy alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nlu.claims import long_inputs, nets
from nlu.claims.settings import ClaimsSettings
from nlu.claims.stats import Check, Verdict, beats, stat, summaries, verdict
from nlu.types import Dataset

CLAIM = "Transformers handle long-range dependencies better; LSTMs struggle to retain distant information."


@dataclass
class LongRangeResult:
    claim: str
    setting: str
    accuracy: dict[str, dict[int, list[float]]]  # arch -> distance -> test accuracy per seed
    checks: list[Check] = field(default_factory=list)
    verdict: Verdict | None = None

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "setting": self.setting,
            "accuracy": {a: {str(d): v for d, v in per.items()} for a, per in self.accuracy.items()},
            "accuracy_summary": summaries(self.accuracy),
            "checks": [c.to_dict() for c in self.checks],
            **(self.verdict.to_dict() if self.verdict else {}),
        }


def drops(accuracy: dict[int, list[float]], distance: int) -> list[float]:
    """Per seed: accuracy at distance 0 (the nearest measured) minus accuracy at `distance`."""
    nearest = min(accuracy)
    return [a0 - a for a0, a in zip(accuracy[nearest], accuracy[distance], strict=True)]


def judge(accuracy: dict[str, dict[int, list[float]]], chance: float = 0.0) -> tuple[list[Check], Verdict]:
    """At each distance beyond the nearest, the claim holds when the Transformer is more accurate there and
    the LSTM lost more accuracy than the Transformer since the nearest distance (both beyond the spread, the
    drop by more than one point). When a model did not learn the task at the nearest distance (accuracy
    under max(3 x chance, 0.5)) there is nothing to compare: the verdict depends on training."""
    nearest = min(accuracy["lstm"])
    floor = max(3 * chance, 0.5)
    unlearned = [arch for arch in ("lstm", "transformer") if stat(accuracy[arch][nearest]).mean < floor]
    checks = []
    for distance in sorted(accuracy["lstm"]):
        if distance == nearest:
            continue
        lstm, tf = stat(drops(accuracy["lstm"], distance)), stat(drops(accuracy["transformer"], distance))
        at_l, at_t = stat(accuracy["lstm"][distance]), stat(accuracy["transformer"][distance])
        holds = beats(at_t, at_l, higher_is_better=True) and beats(
            lstm, tf, higher_is_better=True, margin=0.01
        )
        checks.append(
            Check(
                f"{distance} words",
                holds and not unlearned,
                f"accuracy LSTM {at_l.text('.3f')}, Transformer {at_t.text('.3f')}; drop from distance "
                f"{nearest}: LSTM {lstm.text('.3f')}, Transformer {tf.text('.3f')}",
            )
        )
    if unlearned:
        return checks, Verdict(
            "depends on training",
            f"{' and '.join(unlearned)} did not learn the task (accuracy at distance {nearest} under "
            f"{floor:.2f}): more epochs or data (--full)",
        )
    return checks, verdict(checks, "distance")


def train_and_test(
    arch: str,
    s: ClaimsSettings,
    task: long_inputs.LongTask,
    seed: int,
    device: str,
    cache_dir: Any = None,
) -> tuple[dict[int, float], dict]:
    """Train one model on the task (nlu.train's loop, early stopping on validation accuracy); its test
    accuracy at each distance and the training history."""
    import torch

    from nlu.train import LoopConfig, train_loop

    texts = [" ".join(ex.tokens) for ex in task.train]
    model = nets.bench_model(
        arch, s, task.labels, texts, seed=seed, max_len=task.total, device=device, cache_dir=cache_dir
    )

    def encoded(examples: list[long_inputs.LongExample]) -> nets.Encoded:
        return nets.encode(model, [list(ex.tokens) for ex in examples], [ex.label for ex in examples])

    train, valid = encoded(task.train), encoded(task.valid)

    def batches(rng: random.Random) -> list:
        order = list(range(len(train)))
        rng.shuffle(order)
        return [torch.tensor(order[i : i + s.long_batch]) for i in range(0, len(order), s.long_batch)]

    loop = LoopConfig(
        s.long_epochs, model.config["lr"], s.patience, description=f"Training {arch} on long inputs"
    )
    history = train_loop(
        model.net,
        batches,
        lambda rows: nets.loss(model, train, rows),
        lambda: nets.accuracy(model, valid),
        loop,
        seed,
    )
    return {
        distance: nets.accuracy(model, encoded([ex for ex in task.test if ex.distance == distance]))
        for distance in sorted({ex.distance for ex in task.test})
    }, history


def run_long_range(
    s: ClaimsSettings,
    data: Dataset,
    device: str = "cpu",
    cache_dir: Any = None,
    advance: Callable[[], None] = lambda: None,
) -> LongRangeResult:
    accuracy: dict[str, dict[int, list[float]]] = {arch: {d: [] for d in s.distances} for arch in nets.ARCHS}
    improving: dict[str, int] = {arch: 0 for arch in nets.ARCHS}  # seeds whose best epoch was the last
    task = None
    for seed in s.seeds:
        task = long_inputs.long_task(
            data, s.long_words, s.distances, s.request_words, s.long_per_intent, s.long_intents, seed
        )
        for arch in nets.ARCHS:
            scores, history = train_and_test(arch, s, task, seed, device, cache_dir)
            for distance, value in scores.items():
                accuracy[arch][distance].append(value)
            improving[arch] += int(history["best_epoch"] == s.long_epochs)
            advance()
    assert task is not None
    checks, decided = judge(accuracy, chance=1 / len(task.labels))
    _, filler_intents = long_inputs.split_scenarios(data.labels)
    label_scenarios = sorted({long_inputs.scenario(lb) for lb in task.labels})
    filler = sorted({long_inputs.scenario(lb) for lb in filler_intents})
    still = [f"{arch} {n}/{len(s.seeds)}" for arch, n in improving.items() if n]
    setting = (
        f"{len(task.labels)} HWU64 intents (scenarios {', '.join(label_scenarios)}); each input is "
        f"{task.total} words: one request (cut to {s.request_words} words) inside filler made of utterances "
        f"from other scenarios ({', '.join(filler)}). Trained on {len(task.train)} inputs "
        f"({s.long_per_intent} requests per intent) with the request ending at a random distance from the "
        f"end, batch {s.long_batch}, up to {s.long_epochs} epochs with early stopping on validation accuracy"
        + (f" (still improving at the last epoch: {', '.join(still)} seeds)" if still else "")
        + f"; tested on the {len(task.test) // len(s.distances)} test requests of those intents at each "
        f"distance ({', '.join(map(str, s.distances))} filler words after the request); {len(s.seeds)} "
        f"seed(s); device {device}. Both encoders see the whole input (bidirectional LSTM, self-attention), "
        f"and both pool over all positions (attention + max pooling), as the product models do."
    )
    return LongRangeResult(CLAIM, setting, accuracy, checks, decided)


def units(s: ClaimsSettings) -> int:
    return len(s.seeds) * 2
