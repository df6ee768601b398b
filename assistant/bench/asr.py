"""`assistant bench asr`: word error rate on real recordings, latency and real-time factor per configuration.

Data: ../shared/data/speech (LJSpeech read speech, the JFK clip, FSDD spoken digits), each with reference
transcripts, and the Picovoice coffee orders (real short commands, many speakers) scored as slot-word
recall with per-clip decode time (`assistant.bench.slots`). Latency is measured on short clips (1-3 s,
the voice-command case) and long ones (~10 s), after a warm-up, as the median of `repeats` runs. The tuning
variants change one decoding knob at a time from the default (beam search, segment timestamps, no VAD
trim) so their cost and benefit are visible.
"""

from __future__ import annotations

import csv
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio import load_audio
from assistant.bench import slots as slot_set
from assistant.bench.wer import corpus_wer, plain_normalize
from assistant.config import AudioSettings, Settings
from assistant.speech.types import SAMPLE_RATE, Recognizer

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech"
COMMANDS = [  # spoken by Piper for the "2 s command" latency case (latency only, never a WER figure)
    "Turn on the kitchen lights.",
    "What is the weather like tomorrow?",
    "Set a timer for ten minutes.",
    "Add milk to my shopping list.",
]


@dataclass(frozen=True)
class Clip:
    dataset: str
    name: str
    audio: np.ndarray
    reference: str

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class Variant:
    label: str
    overrides: dict[str, Any]
    wer_sets: tuple[str, ...] = ("ljspeech", "jfk", "fsdd")


def data_dir() -> Path:
    env = os.environ.get("ASSISTANT_SPEECH_DATA")
    return Path(env) if env else DEFAULT_DATA


def load_clips(folder: Path, fsdd_limit: int | None = None) -> dict[str, list[Clip]]:
    """Every dataset under `folder` that exists: {dataset: clips}, 16 kHz mono."""
    sets = {"ljspeech": "ljspeech_dev", "jfk": "jfk", "fsdd": "fsdd_dev"}
    clips: dict[str, list[Clip]] = {}
    for key, sub in sets.items():
        table = folder / sub / "transcripts.tsv"
        if not table.is_file():
            continue
        with table.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if key == "fsdd" and fsdd_limit:
            rows = rows[:: max(1, len(rows) // fsdd_limit)][:fsdd_limit]
        limits = AudioSettings(min_seconds=0.0)  # score every clip, however short
        clips[key] = [
            Clip(key, row["file"], load_audio(folder / sub / row["file"], limits), row["text"])
            for row in rows
        ]
    return clips


def latency_clips(clips: dict[str, list[Clip]], commands: list[Clip]) -> dict[str, list[Clip]]:
    """Short (1-3 s) and long (>= 8 s) real clips, plus 2 s synthesised commands."""
    real = [c for group in clips.values() for c in group]
    short = [c for c in real if 1.0 <= c.seconds <= 3.0]
    jfk = next((c for c in clips.get("jfk", [])), None)
    if jfk is not None:  # "And so my fellow Americans": a real 2.5 s clip
        short.append(Clip("jfk", "jfk[0:2.5s]", jfk.audio[: int(2.5 * SAMPLE_RATE)], ""))
    long = [c for c in real if c.seconds >= 8.0]
    return {"short": short, "command_2s": commands, "long": long}


def synth_commands(settings: Settings) -> list[Clip]:
    from assistant.audio import resample
    from assistant.speech.tts import load_synthesizer, synthesize

    synth = load_synthesizer(
        settings.model_copy(update={"tts": settings.tts.model_copy(update={"deterministic": True})})
    )
    return [
        Clip("piper", text, resample(synthesize(synth, text), synth.sample_rate, SAMPLE_RATE), text)
        for text in COMMANDS
    ]


def default_variants(whisper_installed: bool, tune: bool, base: bool) -> list[Variant]:
    variants = [Variant("faster-whisper tiny.en greedy (default)", {})]
    if tune:
        variants += [
            Variant("faster-whisper tiny.en beam 5", {"beam_size": 5}, ("ljspeech", "jfk")),
            Variant("faster-whisper tiny.en + timestamps", {"timestamps": True}, ("ljspeech", "jfk")),
            Variant("faster-whisper tiny.en no VAD trim", {"vad_trim": False}, ("ljspeech", "jfk")),
            Variant("faster-whisper tiny.en fixed 30 s window", {"fit_window": False}),
            Variant(
                "faster-whisper tiny.en 30 s window, beam 5",
                {"fit_window": False, "beam_size": 5},
                ("ljspeech", "jfk"),
            ),
        ]
    if base:
        variants.append(Variant("faster-whisper base greedy", {"model": "base"}))
        if tune:
            variants.append(
                Variant("faster-whisper base, 16 s window floor", {"model": "base", "min_window_s": 16})
            )
    if whisper_installed:
        variants.append(Variant("whisper (openai) tiny.en greedy", {"backend": "whisper"}))
    return variants


def _timed(recognizer: Recognizer, audio: np.ndarray) -> tuple[float, str]:
    """(ms, text); audio the recognizer finds no speech in scores as an empty transcript (all deletions)."""
    from assistant.audio import AudioError

    start = time.perf_counter()
    try:
        text = recognizer.transcribe(audio).text
    except AudioError:
        text = ""
    return (time.perf_counter() - start) * 1000, text


def bench_variant(
    settings: Settings,
    variant: Variant,
    clips: dict[str, list[Clip]],
    latency: dict[str, list[Clip]],
    repeats: int,
    normalizer: Callable[[str], str],
    advance: Callable[[], None] = lambda: None,
    slot_clips: list[slot_set.SlotClip] | None = None,
) -> dict[str, Any]:
    from assistant.speech.asr import recognizers

    asr = settings.asr.model_copy(update=variant.overrides)
    start = time.perf_counter()
    recognizer = recognizers.create(asr.backend, asr, settings.resolved_device(), settings.cache_dir)
    load_s = time.perf_counter() - start
    warm = [c.audio for group in (*latency.values(), *clips.values(), slot_clips or []) for c in group]
    if warm:
        _timed(recognizer, warm[0])  # warm-up
    result: dict[str, Any] = {
        "variant": variant.label,
        "settings": asr.model_dump(),
        "load_s": round(load_s, 2),
    }
    wer: dict[str, Any] = {}
    samples = []
    for name in variant.wer_sets:
        pairs, rtfs = [], []
        for clip in clips.get(name, []):
            ms, text = _timed(recognizer, clip.audio)
            pairs.append((clip.reference, text))
            rtfs.append(ms / 1000 / clip.seconds)
            samples.append(
                {"dataset": name, "clip": clip.name, "reference": clip.reference, "hypothesis": text}
            )
            advance()
        if pairs:
            whisper_wer, plain_wer = corpus_wer(pairs, normalizer), corpus_wer(pairs, plain_normalize)
            wer[name] = {
                "clips": len(pairs),
                "words": whisper_wer.words,
                "wer_whisper_norm": round(whisper_wer.rate, 4),
                "wer_plain": round(plain_wer.rate, 4),
                "median_rtf": round(statistics.median(rtfs), 3),
            }
    result["wer"] = wer
    timing: dict[str, Any] = {}
    for name, group in latency.items():
        runs = []
        for clip in group:
            ms = statistics.median(_timed(recognizer, clip.audio)[0] for _ in range(repeats))
            runs.append((clip.seconds, ms))
            advance()
        if runs:
            ms_values = [ms for _, ms in runs]
            timing[name] = {
                "clips": len(runs),
                "mean_audio_s": round(statistics.mean(s for s, _ in runs), 2),
                "median_ms": round(statistics.median(ms_values), 1),
                "max_ms": round(max(ms_values), 1),
                "median_rtf": round(statistics.median(ms / 1000 / s for s, ms in runs), 3),
            }
    result["latency"] = timing
    if slot_clips:
        result["slots"], result["slot_samples"] = bench_slots(recognizer, slot_clips, advance)
    result["samples"] = samples
    return result


def bench_slots(
    recognizer: Recognizer, clips: list[slot_set.SlotClip], advance: Callable[[], None] = lambda: None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Slot-word recall on the real spoken commands, and decode time per clip (one run each)."""
    pairs, times, samples = [], [], []
    for clip in clips:
        ms, text = _timed(recognizer, clip.audio)
        pairs.append((clip.slots, text))
        times.append(ms)
        samples.append({"clip": clip.name, "slots": clip.slots, "hypothesis": text, "ms": round(ms, 1)})
        advance()
    recall = slot_set.score(pairs)
    summary = {
        "clips": len(clips),
        "slot_values": recall.values,
        "slot_values_found": recall.values_found,
        "slot_recall": round(recall.rate, 4),
        "slot_words": recall.words,
        "slot_words_found": recall.words_found,
        "slot_word_recall": round(recall.word_rate, 4),
        "median_audio_s": round(statistics.median(c.seconds for c in clips), 2),
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(float(np.percentile(times, 90)), 1),
    }
    return summary, samples


def machine_info() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def work_units(
    variants: list[Variant], clips: dict[str, list[Clip]], latency: dict[str, list[Clip]], slot_clips: int = 0
) -> int:
    per_latency = sum(len(group) for group in latency.values()) + slot_clips
    return sum(sum(len(clips.get(n, [])) for n in v.wer_sets) + per_latency for v in variants)


def table_row(run: dict[str, Any]) -> list[str]:
    """One row of the printed table: WER cells are 'Whisper-normalised / plain'."""
    wer, lat = run["wer"], run["latency"]

    def w(name: str) -> str:
        return f"{wer[name]['wer_whisper_norm']:.1%} / {wer[name]['wer_plain']:.1%}" if name in wer else "-"

    def ms(name: str) -> str:
        return f"{lat[name]['median_ms']:.0f}" if name in lat else "-"

    long = f"{ms('long')} ({lat['long']['median_rtf']:.2f})" if "long" in lat else "-"
    slots = run.get("slots")
    return [
        run["variant"],
        w("ljspeech"),
        w("jfk"),
        w("fsdd"),
        f"{slots['slot_recall']:.1%} ({slots['slot_values_found']}/{slots['slot_values']})" if slots else "-",
        f"{slots['slot_word_recall']:.1%}" if slots else "-",
        f"{slots['p50_ms']:.0f}" if slots else "-",
        ms("short"),
        ms("command_2s"),
        long,
        f"{run['load_s']:.1f}",
    ]
