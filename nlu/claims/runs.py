"""Trainings of the product's model classes on HWU64 (or a fraction of its train split), shared by claims
1 (time to reach a validation accuracy), 4 (learning curves, cross-set) and 5 (latency): each
(architecture, fraction, seed) is trained once per claims run.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.claims.nets import arch_config
from nlu.claims.settings import ClaimsSettings
from nlu.types import Dataset, Example


@dataclass
class TrainedRun:
    arch: str
    fraction: float
    seed: int
    n_train: int
    epochs_planned: int
    evaluation: dict[str, Any]  # nlu.evaluate.Evaluation as a dict (confusions dropped)
    crossset: dict[str, float | None]  # source -> accuracy on the mapped utterances; empty when not measured
    train_seconds: float  # the whole fit (vectors, epochs, validation, calibration)
    epoch_seconds: list[float] = field(default_factory=list)  # training steps only, per epoch
    valid_accuracy: list[float] = field(default_factory=list)  # intent accuracy after each epoch
    device: str = "cpu"

    def seconds_to_reach(self, target: float) -> float | None:
        """Training time (steps only) until the first epoch whose validation accuracy reaches `target`."""
        elapsed = 0.0
        for seconds, score in zip(self.epoch_seconds, self.valid_accuracy, strict=False):
            elapsed += seconds
            if score >= target:
                return elapsed
        return None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def fraction_of(data: Dataset, fraction: float, seed: int) -> Dataset:
    """A seeded, stratified `fraction` of the train split (at least one example per intent); valid and
    test unchanged."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return data
    by_label: dict[str, list[Example]] = defaultdict(list)
    for ex in data.train:
        by_label[ex.intent].append(ex)
    rng = random.Random(seed)
    train = []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        train.extend(items[: max(1, round(len(items) * fraction))])
    return Dataset(data.name, train, data.valid, data.test, data.oos_label)


def planned_epochs(s: ClaimsSettings, n_train: int) -> int:
    """`epochs`, raised towards `min_steps` optimiser steps for small train sets (capped at max_epochs)."""
    steps_per_epoch = max(1, math.ceil(n_train / s.batch_size))
    return max(s.epochs, min(s.max_epochs, math.ceil(s.min_steps / steps_per_epoch)))


class EpochClock:
    """Times the training steps of each epoch and records validation intent accuracy after it, by wrapping
    the model's step callback and early-stopping score (their results are unchanged)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.epoch_seconds: list[float] = []
        self.valid_accuracy: list[float] = []
        self._epoch_start: float | None = None
        self._step_times: list[float] = []
        score = model._valid_score

        def on_step(done: int, planned: int, status: str) -> None:
            self._step_times.append(time.perf_counter())

        def timed_score(valid: list[Example], *args: Any, **kwargs: Any) -> float:
            self._close_epoch()
            result = score(valid, *args, **kwargs)
            self.valid_accuracy.append(_intent_accuracy(model, valid))
            self._step_times = []
            return result

        model.on_step = on_step
        model._valid_score = timed_score

    def _close_epoch(self) -> None:
        times = self._step_times
        if len(times) >= 2:  # the first step's own duration is not seen: add the mean step time
            span = times[-1] - times[0]
            self.epoch_seconds.append(span * len(times) / (len(times) - 1))
        elif times:
            self.epoch_seconds.append(0.0)


def _intent_accuracy(model: Any, valid: list[Example]) -> float:
    if not valid:
        return 0.0
    logits, _ = model.logits([ex.text for ex in valid])
    return sum(model.labels[i] == ex.intent for i, ex in zip(logits.argmax(1), valid, strict=True)) / len(
        valid
    )


class Runs:
    """The memoised trainings of one claims run."""

    def __init__(
        self,
        s: ClaimsSettings,
        data: Dataset,
        device: str = "cpu",
        cache_dir: Path | None = None,
        cross_examples: list | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.s, self.data, self.device, self.cache_dir = s, data, device, cache_dir
        self.cross_examples = cross_examples or []
        self.log = log
        self.done: dict[tuple[str, float, int], TrainedRun] = {}

    def get(self, arch: str, fraction: float, seed: int) -> TrainedRun:
        key = (arch, fraction, seed)
        if key not in self.done:
            self.done[key] = self._train(arch, fraction, seed)
        return self.done[key]

    def _train(self, arch: str, fraction: float, seed: int) -> TrainedRun:
        from nlu import crossset
        from nlu.evaluate import evaluate
        from nlu.registry import create

        s = self.s
        data = fraction_of(self.data, fraction, seed)
        epochs = planned_epochs(s, len(data.train))
        config = {**arch_config(arch, s), "epochs": epochs, "patience": s.patience, "seed": seed}
        model = create(arch, device=self.device, cache_dir=self.cache_dir, **config)
        clock = EpochClock(model)
        started = time.perf_counter()
        model.fit(data)
        train_seconds = time.perf_counter() - started
        evaluation = evaluate(model, data, latency_samples=s.latency_samples).to_dict()
        evaluation.pop("confusions", None)
        cross: dict[str, float | None] = {}
        if self.cross_examples:
            result = crossset.evaluate_crossset(model, self.cross_examples)
            cross = {source: result.accuracy(source) for source in crossset.SOURCES}
        self.log(
            f"{arch} on {fraction:.0%} of {data.name} ({len(data.train)} examples, seed {seed}): "
            f"accuracy {evaluation['accuracy']:.4f}, {train_seconds:.0f} s"
        )
        return TrainedRun(
            arch,
            fraction,
            seed,
            len(data.train),
            epochs,
            evaluation,
            cross,
            train_seconds,
            clock.epoch_seconds,
            clock.valid_accuracy,
            self.device,
        )
