"""Claim 5 (for a voice assistant): what a turn waits for is one utterance at batch 1, so: single-utterance
latency (the product's predict path: tokenize, network, calibrated softmax, slots) and batched throughput of
the models trained on all of HWU64, plus the network's batch-1 forward time at each sequence length.

The article's speed claim read for inference: the Transformer (parallel over positions) answers sooner.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nlu.claims import long_inputs, nets
from nlu.claims.runs import Runs
from nlu.claims.settings import ClaimsSettings
from nlu.claims.stats import Check, Verdict, beats, stat, verdict
from nlu.types import Dataset

CLAIM = "Transformers are faster (parallel processing), read for one voice-assistant turn: batch-1 latency."


@dataclass
class LatencyResult:
    claim: str
    setting: str
    p50_ms: dict[str, list[float]]  # arch -> per seed, one HWU64 test utterance per call
    p95_ms: dict[str, list[float]]
    throughput: dict[str, list[float]]  # utterances per second, batched
    forward_ms: dict[str, dict[int, list[float]]]  # arch -> length -> median batch-1 forward ms per seed
    checks: list[Check] = field(default_factory=list)
    verdict: Verdict | None = None

    def to_dict(self) -> dict:
        summary = {
            key: {arch: stat(values).to_dict() for arch, values in getattr(self, key).items()}
            for key in ("p50_ms", "p95_ms", "throughput")
        }
        return {
            "claim": self.claim,
            "setting": self.setting,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "throughput": self.throughput,
            "summary": summary,
            "forward_ms": {a: {str(L): v for L, v in per.items()} for a, per in self.forward_ms.items()},
            "checks": [c.to_dict() for c in self.checks],
            **(self.verdict.to_dict() if self.verdict else {}),
        }


def judge(
    p50: dict[str, list[float]],
    throughput: dict[str, list[float]],
    forward: dict[str, dict[int, list[float]]],
) -> tuple[list[Check], Verdict]:
    """The claim holds where the Transformer is faster beyond the spread: lower p50 latency, higher
    throughput, lower batch-1 forward time at a length."""
    t, lstm = stat(p50["transformer"]), stat(p50["lstm"])
    checks = [
        Check(
            "p50 latency, one utterance",
            beats(t, lstm, higher_is_better=False),
            f"Transformer {t.text('.2f', ' ms')} vs LSTM {lstm.text('.2f', ' ms')}",
        )
    ]
    t, lstm = stat(throughput["transformer"]), stat(throughput["lstm"])
    checks.append(
        Check(
            "throughput, batched",
            beats(t, lstm, higher_is_better=True),
            f"Transformer {t.text('.0f', ' utt/s')} vs LSTM {lstm.text('.0f', ' utt/s')}",
        )
    )
    for length in sorted(forward.get("transformer", {})):
        t, lstm = stat(forward["transformer"][length]), stat(forward["lstm"][length])
        checks.append(
            Check(
                f"batch-1 forward at {length} words",
                beats(t, lstm, higher_is_better=False),
                f"Transformer {t.text('.2f', ' ms')} vs LSTM {lstm.text('.2f', ' ms')}",
            )
        )
    return checks, verdict(checks, "measure and sequence length")


def forward_ms(model: Any, tokens: list[str], repeats: int) -> float:
    """Median milliseconds of one batch-1 forward pass over `tokens` (after two warm-up calls)."""
    import torch

    data = nets.encode(model, [tokens], [model.labels[0]])
    rows = torch.tensor([0])
    model.net.eval()
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            nets.synchronize(model.device)
            started = time.perf_counter()
            nets.forward(model, data, rows)
            nets.synchronize(model.device)
            if i >= 2:
                times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run_latency(
    s: ClaimsSettings,
    data: Dataset,
    runs: Runs,
    device: str = "cpu",
    cache_dir: Any = None,
    advance: Callable[[], None] = lambda: None,
    repeats: int = 10,
) -> LatencyResult:
    p50: dict[str, list[float]] = {arch: [] for arch in nets.ARCHS}
    p95: dict[str, list[float]] = {arch: [] for arch in nets.ARCHS}
    throughput: dict[str, list[float]] = {arch: [] for arch in nets.ARCHS}
    forward: dict[str, dict[int, list[float]]] = {arch: {L: [] for L in s.lengths} for arch in nets.ARCHS}
    texts = [ex.text for ex in data.train]
    for seed in s.seeds:
        for arch in nets.ARCHS:
            evaluation = runs.get(arch, 1.0, seed).evaluation
            p50[arch].append(evaluation["latency_p50_ms"])
            p95[arch].append(evaluation["latency_p95_ms"])
            throughput[arch].append(evaluation["throughput"])
            model = nets.bench_model(
                arch,
                s,
                data.labels,
                texts,
                seed=seed,
                max_len=max(s.lengths),
                device=device,
                cache_dir=cache_dir,
            )
            for length in s.lengths:
                example = long_inputs.at_length(data.test[:1], length, texts, seed)[0]
                forward[arch][length].append(forward_ms(model, list(example.tokens), repeats))
            advance()
    checks, decided = judge(p50, throughput, forward)
    setting = (
        f"models trained on all of {data.name} (claim 4's runs) on {runs.device}: p50 / p95 over "
        f"{s.latency_samples} test utterances, one per predict() call after 10 warm-up calls (nlu.evaluate); "
        f"throughput: predict() on the whole test split at once ({len(data.test)} utterances). Batch-1 forward: "
        f"the network alone (weights untrained: time does not depend on them) on one input of L words, median "
        f"of {repeats} calls after 2 warm-ups, device {device}; {len(s.seeds)} seed(s)."
    )
    return LatencyResult(CLAIM, setting, p50, p95, throughput, forward, checks, decided)


def units(s: ClaimsSettings) -> int:
    return len(s.seeds) * 2
