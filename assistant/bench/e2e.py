"""`assistant bench e2e`: voice-to-voice latency of whole turns, as a person at a microphone gets them.

Spoken requests (timers, lists, time, arithmetic, a fact about the user, open questions) are synthesised
once with espeak-ng, a different voice from the Piper reply voice, and cached; two real recordings
(LJSpeech) join them when ../shared/data/speech is there. Each is padded with room
silence and fed in 32 ms chunks through the pipeline's streaming `Endpointer`, as microphone audio would be.

Voice-to-voice latency = end-of-speech wait + processing, where
* the end-of-speech wait runs, on the wall clock, from the last voiced sample of the request to the moment
  the detector ends the utterance. From the first pause in speech on, chunks are fed no faster than a live
  microphone delivers them, so the wait is what a person waits;
* processing runs from handing the utterance to `Pipeline.run` to its first reply audio sample (streamed
  TTS), or to the end of synthesising the whole reply ("whole-reply" variant, the non-streaming baseline).

By default recognition starts at the first ~100 ms pause (`Listening.hear_ahead`) and runs during the rest
of the wait; at the same pause the end-of-turn model (Smart Turn, `audio.turn_model`) hears whether the turn
is over, and a finished turn whose words make a whole request ends after `audio.turn_end_ms` of silence
(see assistant/speech/endpoint.py). "no-turn-model" lets the words alone decide, as before the model: a
request whose words are already whole ends after `audio.early_end_ms`; "turn-model-ab" hears every request
with and without the model, one right after the other, so both see the same load on a shared machine.
"no-early-end" always waits `audio.end_silence_ms`; "asr-after-eos" also transcribes only after the wait.

Requests with a pause in the middle ("Set a timer for ... ten minutes", `PAUSED_REQUESTS`) check that an
early end does not cut the speaker off: the offline Piper voice says each sentence with a comma where the
speaker pauses (so the first part sounds unfinished, as a person's would), and the short gap Piper leaves
there is stretched to `pause_s` of room silence. A request is cut off when the listener ends the utterance
before its last voiced sample; cut-off requests are counted and not answered.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.bench.spoken import REQUESTS, VOICED_LEVEL, BenchError, with_room_silence
from assistant.config import Settings
from assistant.speech.types import SAMPLE_RATE

CHUNK_MS = 32


@dataclass(frozen=True)
class Variant:
    """One configuration; `overrides` are settings sections, `streamed` False = whole-reply TTS."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    streamed: bool = True
    needs: str | None = None  # a module that must be importable (optional extras)
    hear_ahead: bool = True  # transcribe from the first pause, during the end-of-speech wait
    early_end: bool = True  # end early when the turn model and the words heard ahead say the turn is over
    paired: bool = False  # also hear each request without the end-of-turn model (see bench_variant)


VARIANTS = {
    "default": Variant("default"),
    "openai-whisper": Variant("openai-whisper", {"asr": {"backend": "whisper"}}, needs="whisper"),
    "espeak-tts": Variant("espeak-tts", {"tts": {"backend": "espeak"}}),
    "minilm-nlu": Variant("minilm-nlu", {"nlu": {"model": "minilm"}}),
    "lstm-nlu": Variant("lstm-nlu", {"nlu": {"model": "lstm"}}),
    "whole-reply-tts": Variant("whole-reply-tts", streamed=False),
    "turn-model-ab": Variant("turn-model-ab", paired=True),
    "no-turn-model": Variant("no-turn-model", {"audio": {"turn_model": False}}),
    "no-turn-model-200": Variant("no-turn-model-200", {"audio": {"turn_model": False, "early_end_ms": 200}}),
    "no-early-end": Variant("no-early-end", early_end=False),
    "asr-after-eos": Variant("asr-after-eos", hear_ahead=False, early_end=False),
    "generator-float32": Variant(
        "generator-float32", {"generator": {"runtime": "transformers", "dtype": "float32"}}
    ),
}
DEFAULT_VARIANTS = (
    "default",
    "turn-model-ab",
    "openai-whisper",
    "espeak-tts",
    "minilm-nlu",
    "whole-reply-tts",
    "no-early-end",
    "asr-after-eos",
    "generator-float32",
)


@dataclass(frozen=True)
class PausedRequest:
    """A skill request said with a pause in the middle: the comma in `text` marks where."""

    id: str
    text: str
    pause_s: float
    kind: str = "paused"


PAUSED_REQUESTS = [
    PausedRequest("paused-timer", "Set a timer for, ten minutes.", 0.4),
    PausedRequest("paused-list", "Add eggs and, bread to my shopping list.", 0.45),
    PausedRequest("paused-arithmetic", "What is twelve times, seven?", 0.35),
    PausedRequest("paused-fact", "Remember that my favourite colour is, green.", 0.5),
    PausedRequest("paused-list-read", "What is on my, shopping list?", 0.4),
]
MIN_GAP_S = 0.1  # Piper leaves ~0.2-0.3 s at a comma; a shorter quiet run is a consonant, not the pause


def with_pause(speech: np.ndarray, pause_s: float, level: float = VOICED_LEVEL) -> np.ndarray:
    """The speech with its longest quiet run between voiced audio (the comma's gap) stretched to `pause_s`
    of faint room noise. Found on 10 ms blocks whose peak stays under `level`."""
    block = SAMPLE_RATE // 100
    loud = np.flatnonzero(
        np.abs(speech[: len(speech) // block * block]).reshape(-1, block).max(axis=1) > level
    )
    if loud.size < 2 or (np.diff(loud).max() - 1) * block < MIN_GAP_S * SAMPLE_RATE:
        raise BenchError(f"No pause of {MIN_GAP_S * 1000:.0f} ms or more found inside the spoken request.")
    i = int(np.argmax(np.diff(loud)))
    start, end = (loud[i] + 1) * block, loud[i + 1] * block
    room = (np.random.default_rng(0).standard_normal(int(pause_s * SAMPLE_RATE)) * 1e-3).astype(np.float32)
    return np.concatenate([speech[:start], room, speech[end:]]).astype(np.float32)


def paused_requests_audio(settings: Settings) -> dict[str, np.ndarray]:
    """16 kHz audio of `PAUSED_REQUESTS` in the offline Piper voice (noise scales 0: the same every run)."""
    from assistant.audio import resample
    from assistant.speech.tts import load_synthesizer, synthesize

    tts = settings.tts.model_copy(update={"backend": "piper", "deterministic": True})
    synth = load_synthesizer(settings.model_copy(update={"tts": tts}))
    out = {}
    for request in PAUSED_REQUESTS:
        speech = resample(synthesize(synth, request.text), synth.sample_rate, SAMPLE_RATE)
        out[request.id] = with_pause(speech, request.pause_s)
    return out


# --- measuring --------------------------------------------------------------------------------------------


class PeakRSS:
    """Samples this process's resident memory every 20 ms; `peak` is the highest seen."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    @contextmanager
    def watching(self) -> Iterator[PeakRSS]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._process.memory_info().rss)


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class TurnMeasure:
    request: str
    kind: str
    heard: str = ""
    reply: str = ""
    answered_by: str = ""
    eos_wait_ms: float = 0.0
    ended_early: bool = False  # the model or the words said the turn was over: a shorter silence ended it
    cut_off: bool = False  # ended before the speaker's last word (not answered; counted as an error)
    turn_probability: float | None = None  # the end-of-turn model's verdict at the last pause
    turn_ms: float | None = None  # that call's time (features and model)
    processing_ms: float = 0.0
    voice_to_voice_ms: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)
    cpu_ms: float = 0.0
    error: str | None = None


@dataclass
class EndPoint:
    """What feeding one request to the listener gave: the utterance, the wait, and how it was heard."""

    audio: np.ndarray | None
    wait_ms: float  # last voiced sample -> utterance declared over (wall clock)
    vad_ms: float  # listener compute over all chunks
    heard_ahead: Any = None
    ended_early: bool = False
    cut_off: bool = False  # the utterance ended before the last voiced sample: the speaker was cut off
    turn_probability: float | None = None
    turn_ms: float | None = None


def end_point(listener: Any, audio: np.ndarray, last_voiced: int) -> EndPoint:
    """Feed 32 ms chunks to an `Endpointer` as a microphone would and time the end-of-speech wait.

    Chunks go in as fast as the listener takes them until the speaker's first silence or the chunk that
    holds the last voiced sample, whichever comes first; from there on each chunk is fed no earlier than a
    live microphone would deliver it. So a transcription started at a pause gets exactly the wall time it
    would get live, and the wait is measured on the wall clock. An utterance that ends before the last
    voiced sample has been fed cut the speaker off (its wait is NaN).
    """
    step = CHUNK_MS * SAMPLE_RATE // 1000
    listener.reset()
    compute = 0.0
    clock: tuple[float, int] | None = None  # (wall time, sample index) where real-time pacing began
    for start in range(0, len(audio), step):
        end = min(len(audio), start + step)
        if clock is None and end >= last_voiced:
            clock = (time.perf_counter(), end)
        if clock is not None:
            due = clock[0] + (end - clock[1]) / SAMPLE_RATE
            time.sleep(max(0.0, due - time.perf_counter()))
        begin = time.perf_counter()
        done = listener.feed(audio[start:end])
        compute += time.perf_counter() - begin
        if clock is None and listener.detector.silence_ms > 0:
            clock = (time.perf_counter(), end)
        if done:
            assert clock is not None  # an utterance cannot end before some silence
            spoken_at = clock[0] + (last_voiced - clock[1]) / SAMPLE_RATE
            wait_ms = (time.perf_counter() - spoken_at) * 1000
            heard = done[-1]
            cut_off = end < last_voiced
            return EndPoint(
                heard.utterance.audio,
                float("nan") if cut_off else wait_ms,
                compute * 1000,
                heard.heard_ahead,
                heard.ended_early,
                cut_off,
                heard.turn_probability,
                heard.turn_ms,
            )
    tail = listener.flush()
    return EndPoint(tail.utterance.audio if tail is not None else None, float("nan"), compute * 1000)


def run_turn(
    pipeline: Any,
    utterance: np.ndarray,
    user: str,
    conversation: int | None,
    streamed: bool,
    heard_ahead: Any = None,
) -> tuple[TurnMeasure, int | None]:
    """One spoken turn through the pipeline; processing time ends at the first reply audio sample."""
    from assistant.events import AudioEvent, ErrorEvent, TranscriptEvent, TurnDoneEvent, TurnRequest
    from assistant.speech.tts import synthesize

    measure = TurnMeasure(request="", kind="")
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    first_audio: float | None = None
    request = TurnRequest(
        user=user, audio=utterance, conversation_id=conversation, speak=streamed, heard_ahead=heard_ahead
    )
    for event in pipeline.run(request):
        if isinstance(event, AudioEvent) and first_audio is None:
            first_audio = time.perf_counter()
        elif isinstance(event, TranscriptEvent):
            measure.heard = event.transcript.text.strip()
        elif isinstance(event, ErrorEvent):
            measure.error = event.message
        elif isinstance(event, TurnDoneEvent):
            measure.reply, measure.answered_by = event.reply, event.answered_by
            measure.stages_ms = {k: round(v, 1) for k, v in event.timings_ms.items()}
            conversation = event.conversation_id
    if not streamed and measure.error is None:
        synth_start = time.perf_counter()
        synthesize(pipeline.runtime.synthesizer(), measure.reply)  # the baseline: the whole reply, then play
        first_audio = time.perf_counter()
        measure.stages_ms["tts_whole_reply"] = round((first_audio - synth_start) * 1000, 1)
    measure.cpu_ms = round((cpu_seconds() - cpu0) * 1000, 1)
    if first_audio is None and measure.error is None:
        measure.error = "no reply audio"
    measure.processing_ms = round(((first_audio or time.perf_counter()) - start) * 1000, 1)
    return measure, conversation


def hear_and_answer(
    pipeline: Any,
    listener: Any,
    request: Any,
    speech: np.ndarray,
    seed: int,
    user: str,
    conversation: int | None,
    streamed: bool,
) -> tuple[TurnMeasure, int | None, EndPoint, float]:
    """One spoken request through the listener and, unless it was cut off, the pipeline; also returns what
    the listener heard and the seconds of audio fed."""
    padded, last_voiced = with_room_silence(speech, seed=seed)
    heard = end_point(listener, padded, last_voiced)
    if heard.audio is None:
        measure = TurnMeasure(request.id, request.kind, error="no speech detected")
    elif heard.cut_off:
        measure = TurnMeasure(
            request.id,
            request.kind,
            ended_early=heard.ended_early,
            cut_off=True,
            turn_probability=heard.turn_probability,
            error=f"cut off: the listener ended the request after {len(heard.audio) / SAMPLE_RATE:.2f} s",
        )
    else:
        measure, conversation = run_turn(
            pipeline, heard.audio, user, conversation, streamed, heard.heard_ahead
        )
        measure.request, measure.kind = request.id, request.kind
        measure.eos_wait_ms = round(heard.wait_ms, 1)
        measure.ended_early = heard.ended_early
        measure.turn_probability = heard.turn_probability
        measure.turn_ms = None if heard.turn_ms is None else round(heard.turn_ms, 1)
        measure.voice_to_voice_ms = round(heard.wait_ms + measure.processing_ms, 1)
    return measure, conversation, heard, len(padded) / SAMPLE_RATE


def bench_variant(
    base: Settings, variant: Variant, audio: dict[str, np.ndarray], repeats: int, advance: Callable[[], None]
) -> dict[str, Any]:
    """All requests, `repeats` times, through a fresh pipeline with this variant's settings.

    A `paired` variant hears every request twice through the same pipeline, with and without the
    end-of-turn model, one right after the other (in alternating order): on a shared machine the load
    changes from minute to minute, and this way both arms see the same load. The run is the model's arm;
    `run["paired"]` is the other, and the table shows both ("with | without")."""
    import importlib.util

    from assistant.listening import Listening
    from assistant.pipeline import Pipeline

    if variant.needs and importlib.util.find_spec(variant.needs) is None:
        raise BenchError(f"{variant.needs} is not installed")
    audio = {**paused_requests_audio(base), **audio}
    updates = {
        section: getattr(base, section).model_copy(update=values)
        for section, values in variant.overrides.items()
    }
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as data_dir:
        url = f"sqlite:///{Path(data_dir) / 'assistant.db'}"  # a private database per variant
        settings = base.model_copy(update={**updates, "data_dir": Path(data_dir), "database_url": url})
        pipeline = Pipeline(settings)
        rss0 = PeakRSS()._process.memory_info().rss
        start = time.perf_counter()
        pipeline.runtime.warm_up()
        load_s = time.perf_counter() - start
        listeners = {
            variant.name: Listening(pipeline.runtime).endpointer(variant.hear_ahead, variant.early_end)
        }
        if variant.paired:
            without = Listening(pipeline.runtime).endpointer(variant.hear_ahead, variant.early_end)
            without.turn_model = None
            listeners[f"{variant.name} without the turn model"] = without
        if any(listener.turn_model is not None for listener in listeners.values()):
            from assistant.speech.turn import load_turn_detector

            load_turn_detector()  # loaded before the clock runs, as the pipeline's models are
        turns: dict[str, list[TurnMeasure]] = {name: [] for name in listeners}
        vad_compute_ms = 0.0
        audio_s = 0.0
        with PeakRSS().watching() as peak:
            for repeat in range(repeats):
                conversations: dict[str, int | None] = dict.fromkeys(listeners)
                requests: list[Any] = [*REQUESTS, *PAUSED_REQUESTS]
                for i, request in enumerate(r for r in requests if r.id in audio):
                    order = list(listeners) if (i + repeat) % 2 == 0 else list(reversed(listeners))
                    for name in order:
                        user = f"bench-{name}-{repeat}"
                        measure, conversations[name], heard, seconds = hear_and_answer(
                            pipeline,
                            listeners[name],
                            request,
                            audio[request.id],
                            i,
                            user,
                            conversations[name],
                            variant.streamed,
                        )
                        vad_compute_ms += heard.vad_ms
                        audio_s += seconds
                        turns[name].append(measure)
                    advance()
        pipeline.runtime.close()
    runs = [
        {
            "variant": name,
            "settings": {
                "asr": f"{settings.asr.backend}:{settings.asr.model}",
                "nlu": settings.nlu.model,
                "generator": f"{settings.generator.backend}:{settings.generator.dtype}",
                "tts": settings.tts.backend,
                "tts_streamed": variant.streamed,
                "turn_model": listeners[name].turn_model is not None,
                "early_end_ms": settings.audio.early_end_ms,
                "turn_end_ms": settings.audio.turn_end_ms,
            },
            "paused_requests": [vars(r) for r in PAUSED_REQUESTS if r.id in audio],
            "load_s": round(load_s, 2),
            "rss_before_load_mib": round(rss0 / 2**20, 1),
            "peak_rss_mib": round(peak.peak / 2**20, 1),
            "vad_rtf": round(vad_compute_ms / 1000 / audio_s, 4) if audio_s else None,
            "summary": summarise(turns[name]),
            "turns": [vars(t) for t in turns[name]],
        }
        for name in listeners
    ]
    if len(runs) > 1:
        runs[0]["paired"] = runs[1]
    return runs[0]


def percentile(values: list[float], q: float) -> float | None:
    clean = [v for v in values if v == v]  # drop NaN
    if not clean:
        return None
    return round(float(np.percentile(clean, q)), 1)


def summarise(turns: list[TurnMeasure]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "errors": sum(t.error is not None for t in turns),
        "turns": len(turns),
        "cut_off": sum(t.cut_off for t in turns),
        "turn_model_ms_p50": percentile([t.turn_ms for t in turns if t.turn_ms is not None], 50),
    }
    for kind in ("skill", "open", "paused"):
        ok = [t for t in turns if t.kind == kind and t.error is None]
        v2v = [t.voice_to_voice_ms for t in ok]
        out[kind] = {
            "n": len(ok),
            "voice_to_voice_p50_ms": percentile(v2v, 50),
            "voice_to_voice_p95_ms": percentile(v2v, 95),
            "processing_p50_ms": percentile([t.processing_ms for t in ok], 50),
            "processing_p95_ms": percentile([t.processing_ms for t in ok], 95),
            "eos_wait_p50_ms": percentile([t.eos_wait_ms for t in ok], 50),
            "ended_early": sum(t.ended_early for t in ok),
            "cut_off": sum(t.cut_off for t in turns if t.kind == kind),
            "cpu_ms_p50": percentile([t.cpu_ms for t in ok], 50),
            "stages_p50_ms": {
                stage: percentile([t.stages_ms[stage] for t in ok if stage in t.stages_ms], 50)
                for stage in sorted({s for t in ok for s in t.stages_ms})
            },
        }
    return out


def peak_rss_process_mib() -> float:
    """The whole process's high-water mark (Linux ru_maxrss is in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def median_or_none(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


TABLE_COLUMNS = (
    "variant", "skill v2v p50/p95 ms", "skill w/o eos p50", "eos wait p50", "ended early", "paused v2v p50",
    "cut off", "turn model p50", "open v2v p50/p95 ms", "open 1st token p50", "ASR p50", "NLU p50",
    "CPU ms/turn", "peak RSS MiB", "errors",
)  # fmt: skip


def table_row(run: dict[str, Any]) -> list[str]:
    """One row of the table; a paired run shows both arms in each cell, "with | without" the turn model."""
    if "paired" in run:
        ours, theirs = table_row({k: v for k, v in run.items() if k != "paired"}), table_row(run["paired"])
        return [f"{run['variant']} (with | without turn model)"] + [
            a if a == b else f"{a} | {b}" for a, b in zip(ours[1:], theirs[1:], strict=True)
        ]
    if "error" in run:
        return [run["variant"], f"[red]{run['error'][:100]}[/]", *[""] * (len(TABLE_COLUMNS) - 2)]
    s = run["summary"]
    skill, open_, paused = s["skill"], s["open"], s.get("paused", {})

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    return [
        run["variant"],
        f"{ms(skill['voice_to_voice_p50_ms'])} / {ms(skill['voice_to_voice_p95_ms'])}",
        ms(skill["processing_p50_ms"]),
        ms(skill["eos_wait_p50_ms"]),
        f"{skill['ended_early'] + open_['ended_early']}/{skill['n'] + open_['n']}",
        ms(paused.get("voice_to_voice_p50_ms")),
        f"{s.get('cut_off', 0)}/{s['turns']}",
        ms(s.get("turn_model_ms_p50")),
        f"{ms(open_['voice_to_voice_p50_ms'])} / {ms(open_['voice_to_voice_p95_ms'])}",
        ms(open_["stages_p50_ms"].get("generator_first_token")),
        ms(skill["stages_p50_ms"].get("asr")),
        ms(skill["stages_p50_ms"].get("nlu")),
        ms(skill["cpu_ms_p50"]),
        f"{run['peak_rss_mib']:.0f}",
        f"{s['errors']}/{s['turns']}",
    ]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("assistant", "torch", "faster-whisper", "openai-whisper", "piper-tts", "onnxruntime",
                    "transformers", "ctranslate2", "silero-vad", "gradio"):  # fmt: skip
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
