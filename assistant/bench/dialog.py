"""`assistant bench dialog`: dialog speed and memory, measured part by part.

Each part is a function ``(settings, options) -> list[Row]`` listed in `parts()` (like preparation steps):
the generator part measures time to first token, tokens/s, resident memory and cold start to ready, for
one or several dtypes; other areas add their parts (e.g. the skill-turn latency) to that list.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.config import Settings

PROMPTS = (
    "Tell me a fun fact about cats.",
    "What should I cook for dinner tonight?",
    "Why is the sky blue?",
    "Can you suggest a name for my new puppy?",
)
TARGETS = {
    "first_token_ms": 200.0,
    "tokens_per_s": 60.0,
    "cold_start_s": 10.0,
    "skill_turn_ms": 20.0,
    "resident_mib": 1536.0,
}
SKILL_REQUESTS = (  # text in -> a skill's text out; each needs no outside service
    "what time is it",
    "set a timer for ten minutes",
    "add milk to my shopping list",
    "what is on my shopping list",
    "what is 12 times 7",
    "convert 5 miles to kilometers",
    "my name is Ana",
    "tell me a joke",
)


@dataclass(frozen=True)
class Row:
    """One measured number, with its target (when the issue sets one) and whether it is met."""

    part: str
    metric: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class DialogBenchOptions:
    dtypes: tuple[str, ...] = ()  # empty: the configured dtype
    runs: int = 2  # passes over PROMPTS (medians are taken)
    max_new_tokens: int = 64
    cold_start: bool = True
    prompts: tuple[str, ...] = PROMPTS
    samples: dict[str, Any] = field(default_factory=dict)  # filled with example replies (for the JSON)


BenchPart = Callable[[Settings, DialogBenchOptions], list[Row]]


def parts() -> list[tuple[str, BenchPart]]:
    """The benchmark parts, in order. Areas add theirs here (imports local, so each can fail alone)."""
    return [("generator", generator_part), ("skills", skill_part), ("all defaults", defaults_part)]


def run_parts(settings: Settings, options: DialogBenchOptions) -> list[Row]:
    rows: list[Row] = []
    for name, part in parts():
        try:
            rows.extend(part(settings, options))
        except Exception as exc:  # one part failing must not sink the report
            rows.append(Row(name, "error", None, "", note=f"{type(exc).__name__}: {exc}"))
    return rows


def report(settings: Settings, options: DialogBenchOptions, rows: list[Row]) -> dict[str, Any]:
    from assistant.bench.asr import machine_info

    machine = machine_info()
    machine["torch_threads"] = _torch_threads()
    return {
        "machine": machine,
        "generator": {"backend": settings.generator.backend, "model": settings.generator.model},
        "options": {k: v for k, v in asdict(options).items() if k != "samples"},
        "rows": [asdict(row) for row in rows],
        "samples": options.samples,
    }


# --- the generator part ------------------------------------------------------------------------------------


def generator_part(settings: Settings, options: DialogBenchOptions) -> list[Row]:
    rows: list[Row] = []
    for dtype in options.dtypes or (settings.generator.dtype,):
        config = settings.generator.model_copy(
            update={"dtype": dtype, "max_new_tokens": options.max_new_tokens}
        )
        rows.extend(_bench_generator(settings.model_copy(update={"generator": config}), options))
    return rows


def _bench_generator(settings: Settings, options: DialogBenchOptions) -> list[Row]:
    from assistant.dialog.generators import create_generator
    from assistant.dialog.types import Message

    config = settings.generator
    rss_before = _rss()
    start = time.perf_counter()
    generator = create_generator(settings)  # also converts the GGUF on the very first run
    load_s = time.perf_counter() - start
    rss_loaded = _rss()
    resolved = getattr(generator, "dtype", config.dtype)
    part = (
        f"generator {config.backend} ({resolved})"
        if resolved == config.dtype
        else (f"generator {config.backend} ({config.dtype} = {resolved})")
    )
    system = Message("system", "You are a friendly voice assistant. Answer in one or two short sentences.")
    "".join(generator.stream([system, Message("user", "Hi!")]))  # warm-up: first-call costs are not speed

    first_tokens: list[float] = []
    first_text: list[float] = []
    rates: list[float] = []
    samples: list[dict[str, str]] = []
    for run in range(options.runs):
        for prompt in options.prompts:
            began = time.perf_counter()
            pieces: list[str] = []
            for piece in generator.stream([system, Message("user", prompt)]):
                if not pieces:
                    first_text.append(time.perf_counter() - began)
                pieces.append(piece)
            elapsed = time.perf_counter() - began
            stats = getattr(generator, "last_stats", None)
            if stats is not None and hasattr(stats, "tokens_per_s"):
                if stats.first_token_s is not None:
                    first_tokens.append(stats.first_token_s)
                if stats.tokens_per_s:
                    rates.append(stats.tokens_per_s)
            elif pieces and elapsed > first_text[-1]:  # remote backends: pieces, not tokens
                rates.append((len(pieces) - 1) / (elapsed - first_text[-1]))
            if run == 0:
                samples.append({"prompt": prompt, "reply": "".join(pieces).strip()})
    options.samples[part] = samples
    follow_ups = _follow_up_first_tokens(generator, options)
    ttft_ms = 1000 * statistics.median(first_tokens or first_text) if (first_tokens or first_text) else None
    text_ms = 1000 * statistics.median(first_text) if first_text else None
    rate = statistics.median(rates) if rates else None
    rows = [
        _target_row(part, "time to first token", ttft_ms, "ms", "first_token_ms", upper=True),
        Row(part, "time to first word (streamed text)", _round(text_ms), "ms"),
        _target_row(
            part,
            "time to first token, follow-up turn",
            follow_ups,
            "ms",
            "first_token_ms",
            upper=True,
            note="a conversation with facts and history; the shared prompt prefix is reused",
        ),
        _target_row(part, "tokens/s (decode, median)", rate, "tok/s", "tokens_per_s", upper=False),
        Row(part, "load in this process", _round(load_s, 2), "s"),
        Row(part, "resident memory added by the model", _round((rss_loaded - rss_before) / 2**20), "MiB"),
    ]
    if options.cold_start:
        cold = cold_start(settings)
        rows.append(_target_row(part, "cold start to ready (new process)", cold["ready_s"], "s", "cold_start_s",
                                upper=True, note="import + load + first token"))  # fmt: skip
        rows.append(Row(part, "resident memory, new process with it", _round(cold["rss"] / 2**20), "MiB"))
    del generator
    return rows


# --- the skill turn and the whole assistant ---------------------------------------------------------------


def skill_part(settings: Settings, options: DialogBenchOptions) -> list[Row]:
    """Text in -> text out through the real pipeline (NLU, dialog manager, skill, memory), no speech."""
    from assistant.events import SkillEvent, TurnDoneEvent, TurnRequest
    from assistant.pipeline import Pipeline

    with tempfile.TemporaryDirectory(prefix="bench-dialog-") as data_dir:
        url = f"sqlite:///{data_dir}/assistant.db"
        pipeline = Pipeline(settings.model_copy(update={"data_dir": data_dir, "database_url": url}))
        pipeline.runtime.warm_up(speech=False)
        times: list[float] = []
        skills: list[str] = []
        conversation: int | None = None
        for run in range(options.runs + 1):  # the first pass is a warm-up
            for text in SKILL_REQUESTS:
                began = time.perf_counter()
                events = list(
                    pipeline.run(TurnRequest(user="bench", text=text, conversation_id=conversation))
                )
                elapsed = (time.perf_counter() - began) * 1000
                done = next(e for e in events if isinstance(e, TurnDoneEvent))
                conversation = done.conversation_id
                if run > 0 and any(isinstance(e, SkillEvent) for e in events):
                    times.append(elapsed)
                    skills.append(done.answered_by)
    if not times:
        raise RuntimeError("no request was answered by a skill")
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    note = f"{len(times)} turns answered by skills ({', '.join(sorted(set(skills)))})"
    return [
        _target_row(
            "skill turn",
            "text in -> text out, median",
            statistics.median(times),
            "ms",
            "skill_turn_ms",
            upper=True,
            note=note,
        ),  # fmt: skip
        Row("skill turn", "text in -> text out, p95", _round(p95), "ms"),
    ]


DEFAULTS_CHILD = """
import json, sys, tempfile
from assistant.config import load_settings
from assistant.events import TurnRequest
from assistant.pipeline import Pipeline
settings = load_settings(json.loads(sys.argv[1]))
with tempfile.TemporaryDirectory() as data_dir:
    pipeline = Pipeline(settings.model_copy(update={"data_dir": data_dir,
                                                    "database_url": f"sqlite:///{data_dir}/a.db"}))
    pipeline.runtime.warm_up()
    for _ in pipeline.run(TurnRequest(user="bench", text="Tell me about the moon.", speak=True)):
        pass
    import psutil
    print(json.dumps({"rss": psutil.Process().memory_info().rss}), flush=True)
"""


def defaults_part(settings: Settings, options: DialogBenchOptions) -> list[Row]:
    """A new process that loads every default model (ASR, NLU, generator, TTS) and answers one turn."""
    if not options.cold_start:
        return []
    overrides = {"device": settings.device, "cache_dir": str(settings.cache_dir)}
    result = _child(DEFAULTS_CHILD, overrides)
    return [
        _target_row(
            "all defaults",
            "resident memory after a spoken turn",
            result["rss"] / 2**20,
            "MiB",
            "resident_mib",
            upper=True,
            note="ASR + NLU + generator + TTS in one process",
        ),
        _target_row(
            "all defaults",
            "cold start to the first answer",
            result["line_s"],
            "s",
            "cold_start_s",
            upper=True,
            note="imports + every model + one generated, spoken reply",
        ),
    ]


def _child(code: str, overrides: dict[str, Any]) -> dict[str, float]:
    """Run `code` in a fresh Python process; it prints one JSON line (`line_s`: seconds until it did)."""
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: a full pipe would stall the child
        start = time.perf_counter()
        with subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(overrides)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        ) as child:
            line = child.stdout.readline() if child.stdout else ""
            line_s = time.perf_counter() - start
            child.wait(timeout=300)
        errors.seek(0)
        err = errors.read()
    if not line.strip():
        raise RuntimeError(f"the benchmark process failed: {err.strip()[-500:]}")
    return {**json.loads(line), "line_s": line_s}


def _follow_up_first_tokens(generator: Any, options: DialogBenchOptions) -> float | None:
    """Median ms to the first token over the 2nd and later turns of one conversation (with history)."""
    from assistant.dialog.prompt import build_messages

    history: list[tuple[str, str]] = []
    times: list[float] = []
    for turn, prompt in enumerate(options.prompts):
        messages = build_messages(prompt, facts={"name": "Ana", "city": "Lyon"}, history=history)
        began = time.perf_counter()
        pieces: list[str] = []
        first: float | None = None
        for piece in generator.stream(messages):
            if first is None:
                first = time.perf_counter() - began
            pieces.append(piece)
        stats = getattr(generator, "last_stats", None)
        first = getattr(stats, "first_token_s", None) or first  # the model's own clock when it has one
        if turn > 0 and first is not None:
            times.append(first)
        history.append((prompt, "".join(pieces).strip()))
    return 1000 * statistics.median(times) if times else None


COLD_START_CHILD = """
import json, sys, time
from assistant.config import load_settings
from assistant.dialog.generators import create_generator
from assistant.dialog.types import Message
settings = load_settings(json.loads(sys.argv[1]))
generator = create_generator(settings)
for _ in generator.stream([Message("user", "Hi!")]):
    break
import psutil
print(json.dumps({"rss": psutil.Process().memory_info().rss}), flush=True)
"""


def cold_start(settings: Settings) -> dict[str, float]:
    """Seconds from starting a fresh Python process to the generator's first token, and its RSS then."""
    overrides = {
        "device": settings.device,
        "cache_dir": str(settings.cache_dir),
        "generator": {**settings.generator.model_dump(mode="json"), "api_key": _secret(settings)},
    }
    result = _child(COLD_START_CHILD, overrides)
    return {"ready_s": result["line_s"], "rss": float(result["rss"])}


def _secret(settings: Settings) -> str | None:
    key = settings.generator.api_key
    return key.get_secret_value() if key else None


def _target_row(
    part: str, metric: str, value: float | None, unit: str, key: str, upper: bool, note: str = ""
) -> Row:
    target = TARGETS[key]
    ok = None if value is None else (value <= target if upper else value >= target)
    return Row(part, metric, _round(value, 2 if unit == "s" else 1), unit, f"{'≤' if upper else '≥'} {target:g}",
               ok, note)  # fmt: skip


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _torch_threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:
        return None


def print_table(rows: list[Row]) -> None:
    from rich.table import Table

    from assistant.console import console

    cpus = len(os.sched_getaffinity(0))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = Table(title=f"Dialog benchmark ({cpus} CPUs, load average {load})")
    for column in ("part", "metric", "value", "target", ""):
        table.add_column(column, justify="right" if column in ("value", "target") else "left")
    for row in rows:
        value = "-" if row.value is None else f"{row.value:g} {row.unit}"
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: ""}[row.ok]
        metric = row.metric if not row.note or row.metric != "error" else f"[red]{row.note}[/]"
        table.add_row(row.part, metric, value, row.target, mark)
    console.print(table)
