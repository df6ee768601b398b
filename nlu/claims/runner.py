"""Run every claim in one go (the shared HWU64 trainings first), with one progress bar, and write the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nlu.claims import data_efficiency, latency, long_range, memory, nets, speed
from nlu.claims.runs import Runs
from nlu.claims.settings import ClaimsSettings
from nlu.data import load_dataset, subsample
from nlu.types import Dataset


def claims_data(s: ClaimsSettings, data_dir: Path | None = None) -> Dataset:
    """HWU64 (the packaged copy), cut to `intents` x `per_intent` when the setting says so (tests)."""
    data = load_dataset("hwu64", data_dir)
    if s.intents or s.per_intent:
        data = subsample(data, s.per_intent or 10**9, seed=1, intents=s.intents)
    return data


def vocabulary_size(s: ClaimsSettings, data: Dataset) -> int:
    from nlu.tokenize import Tokenizer

    extra: list[str] = []
    if s.pretrained:
        from nlu.embeddings import general_vocabulary

        extra = general_vocabulary()
    return len(Tokenizer.build([ex.text for ex in data.train], extra=extra, buckets=s.buckets))


def run_claims(
    s: ClaimsSettings,
    out_dir: Path,
    *,
    device: str = "cpu",
    cache_dir: Path | None = None,
    data_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure the five claims and write claims.md, claims.json and the plots into `out_dir`."""
    from nlu import crossset
    from nlu.claims.report import write_report
    from nlu.progress import progress_bar

    started = time.perf_counter()
    data = claims_data(s, data_dir)
    full = load_dataset("hwu64", data_dir)  # claim 2 draws its filler from every other scenario
    cross = []
    if s.crossset:
        if crossset.available(data_dir):
            cross = crossset.load_crossset("test", data_dir)
        else:
            log(
                "cross-set evaluation skipped: CLINC150 and SNIPS need the shared data folder (../shared/data)"
            )
    runs = Runs(s, data, device, cache_dir, cross, log)
    match = nets.matching(s)
    log(match.text())
    total = (
        data_efficiency.units(s)
        + speed.units(s, device)
        + latency.units(s)
        + long_range.units(s)
        + memory.units(s, device)
    )
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    with progress_bar() as progress:
        task = progress.add_task("Claims", total=total)

        def step(name: str) -> Callable[[], None]:
            progress.update(task, description=f"Claims · {name}")
            return lambda: progress.advance(task)

        def timed(name: str, fn: Callable[[], Any]) -> Any:
            t0 = time.perf_counter()
            out = fn()
            seconds[name] = time.perf_counter() - t0
            return out

        # claim 4 first: its trainings on all of HWU64 also serve claims 1 (time to target) and 5 (latency)
        results["data_efficiency"] = timed(
            "data_efficiency", lambda: data_efficiency.run_data_efficiency(s, runs, step("4 data efficiency"))
        )
        results["speed"] = timed(
            "speed", lambda: speed.run_speed(s, data, runs, device, cache_dir, step("1 training speed"))
        )
        results["long_range"] = timed(
            "long_range",
            lambda: long_range.run_long_range(s, full, device, cache_dir, step("2 long-range")),
        )
        results["memory"] = timed(
            "memory",
            lambda: memory.run_memory(
                s, vocabulary_size(s, data), len(data.labels), device, step("3 memory")
            ),
        )
        results["latency"] = timed(
            "latency", lambda: latency.run_latency(s, data, runs, device, cache_dir, step("5 latency"))
        )
    meta = {
        "settings": s.to_dict(),
        "device": device,
        "matching": match.to_dict(),
        "matching_text": match.text(),
        "seconds": {**seconds, "total": time.perf_counter() - started},
        "trainings": [run.to_dict() for run in runs.done.values()],
    }
    return write_report(results, meta, out_dir)
