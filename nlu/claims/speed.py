"""Claim 1: "Transformers train faster, thanks to parallel processing."

Measured two ways: (a) wall time per training epoch of HWU64 with every input built at 16, 64, 256, 1024
words (the request at a random position inside filler from other utterances), extrapolated from a few timed
batches per length (whole epochs at 1024 words would not fit the time budget); (b) training time until the
validation intent accuracy first reaches a target, at the natural length (from the claim-4 runs on all of
HWU64). On CPU always, and on CUDA too when a GPU is there; each number records its device.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nlu.claims import long_inputs, nets
from nlu.claims.runs import Runs
from nlu.claims.settings import ClaimsSettings
from nlu.claims.stats import Check, Stat, Verdict, beats, stat, summaries, verdict
from nlu.types import Dataset

CLAIM = "Transformers train faster, thanks to parallel processing."


@dataclass
class SpeedResult:
    claim: str
    setting: str
    # device -> arch -> length -> seconds per epoch (one value per seed)
    epoch_seconds: dict[str, dict[str, dict[int, list[float]]]]
    # arch -> seconds of training until valid accuracy >= target (None: not reached), per seed
    time_to_target: dict[str, list[float | None]]
    target_accuracy: float
    checks: list[Check] = field(default_factory=list)
    verdict: Verdict | None = None

    def epoch_stat(self, device: str, arch: str, length: int) -> Stat:
        return stat(self.epoch_seconds[device][arch][length])

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "setting": self.setting,
            "epoch_seconds": {
                device: {
                    arch: {str(length): values for length, values in per.items()}
                    for arch, per in archs.items()
                }
                for device, archs in self.epoch_seconds.items()
            },
            "epoch_seconds_summary": {
                device: summaries(archs) for device, archs in self.epoch_seconds.items()
            },
            "time_to_target": self.time_to_target,
            "target_accuracy": self.target_accuracy,
            "checks": [c.to_dict() for c in self.checks],
            **(self.verdict.to_dict() if self.verdict else {}),
        }


def judge(
    epoch_seconds: dict[str, dict[str, dict[int, list[float]]]],
    time_to_target: dict[str, list[float | None]],
    target: float,
) -> tuple[list[Check], Verdict]:
    """The claim holds at a length (on a device) when the Transformer's epoch is shorter beyond the
    spread; and at the natural length when it reaches the target accuracy sooner beyond the spread (a
    model that never reaches it counts as slower)."""
    checks = []
    for device, archs in epoch_seconds.items():
        for length in sorted(archs["transformer"]):
            t, lstm = stat(archs["transformer"][length]), stat(archs["lstm"][length])
            checks.append(
                Check(
                    f"{length} words ({device})",
                    beats(t, lstm, higher_is_better=False),
                    f"epoch {t.text('.1f', ' s')} vs LSTM {lstm.text('.1f', ' s')}",
                )
            )
    if time_to_target.get("transformer") and time_to_target.get("lstm"):
        reached = {arch: [v for v in values if v is not None] for arch, values in time_to_target.items()}
        t_all = len(reached["transformer"]) == len(time_to_target["transformer"])
        l_all = len(reached["lstm"]) == len(time_to_target["lstm"])
        t, lstm = stat(reached["transformer"]), stat(reached["lstm"])
        holds = t_all and (not l_all or beats(t, lstm, higher_is_better=False))
        checks.append(
            Check(
                f"time to {target:.0%} valid accuracy",
                holds,
                f"Transformer {_reach_text(t, t_all)} vs LSTM {_reach_text(lstm, l_all)}",
            )
        )
    return checks, verdict(checks, "sequence length")


def _reach_text(value: Stat, all_reached: bool) -> str:
    if value.n == 0:
        return "never reached"
    return value.text(".1f", " s") + ("" if all_reached else " (not every seed reached it)")


def devices(device: str) -> list[str]:
    """CPU always; CUDA too when it is the run's device."""
    return ["cpu"] + (["cuda"] if device.startswith("cuda") else [])


def time_epochs(
    arch: str,
    s: ClaimsSettings,
    data: Dataset,
    length: int,
    seed: int,
    device: str,
    cache_dir: Any = None,
) -> float:
    """Seconds per epoch of `data.train` at `length` words: the mean of `timed_batches` training steps
    (forward, backward, clipping, AdamW: nlu.train's step) after one warm-up step, times the batches."""
    import random

    import torch

    from nlu.train import LoopConfig, train_loop

    texts = [ex.text for ex in data.train]
    rows_needed = s.speed_batch * (s.timed_batches + 1)
    rng = random.Random(seed)
    sample = rng.sample(data.train, min(len(data.train), rows_needed))
    while len(sample) < rows_needed:
        sample += sample[: rows_needed - len(sample)]
    built = long_inputs.at_length(sample, length, texts, seed)
    model = nets.bench_model(
        arch, s, data.labels, texts, seed=seed, max_len=length, device=device, cache_dir=cache_dir
    )
    encoded = nets.encode(model, [list(ex.tokens) for ex in built], [ex.label for ex in built])
    batches = [torch.arange(i * s.speed_batch, (i + 1) * s.speed_batch) for i in range(s.timed_batches + 1)]
    stamps: list[float] = []

    def on_step(done: int, planned: int, status: str) -> None:
        nets.synchronize(device)
        stamps.append(time.perf_counter())

    loop = LoopConfig(
        1,
        model.config["lr"],
        1,
        description=f"Timing {arch} at {length} words (no validation)",
        on_step=on_step,
    )
    train_loop(
        model.net, lambda _rng: batches, lambda rows: nets.loss(model, encoded, rows), lambda: 0.0, loop, seed
    )
    step = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)  # the first step is the warm-up
    return step * math.ceil(len(data.train) / s.speed_batch)


def run_speed(
    s: ClaimsSettings,
    data: Dataset,
    runs: Runs,
    device: str = "cpu",
    cache_dir: Any = None,
    advance: Callable[[], None] = lambda: None,
) -> SpeedResult:
    from nlu.claims.nets import ARCHS

    epoch: dict[str, dict[str, dict[int, list[float]]]] = {}
    for dev in devices(device):
        epoch[dev] = {arch: {length: [] for length in s.lengths} for arch in ARCHS}
        for length in s.lengths:
            for seed in s.seeds:
                for arch in ARCHS:
                    epoch[dev][arch][length].append(time_epochs(arch, s, data, length, seed, dev, cache_dir))
                    advance()
    to_target = {
        arch: [runs.get(arch, 1.0, seed).seconds_to_reach(s.target_accuracy) for seed in s.seeds]
        for arch in ARCHS
    }
    checks, decided = judge(epoch, to_target, s.target_accuracy)
    setting = (
        f"HWU64 train ({len(data.train)} examples), every input built at exactly L words (the request at a "
        f"random position in filler from other train utterances; cut when longer); batch {s.speed_batch}; "
        f"epoch time = mean of {s.timed_batches} timed training steps after one warm-up step × "
        f"{math.ceil(len(data.train) / s.speed_batch)} batches (shortened: whole epochs at 1024 words do not "
        f"fit the budget); {len(s.seeds)} seed(s). Time to {s.target_accuracy:.0%} validation intent accuracy: "
        f"training steps only (validation excluded), natural length, batch {s.batch_size}, from the claim-4 "
        f"runs on all of HWU64 on {runs.device}. Devices: {', '.join(devices(device))}."
    )
    return SpeedResult(CLAIM, setting, epoch, to_target, s.target_accuracy, checks, decided)


def units(s: ClaimsSettings, device: str) -> int:
    """Progress steps of `run_speed` (the shared trainings are counted by the runner)."""
    return len(devices(device)) * len(s.lengths) * len(s.seeds) * 2
