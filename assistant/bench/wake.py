"""`assistant bench wake`: is the wake word heard when it is said, is it heard when it is not, and what does
listening for it cost while nothing is said.

* Detection: each shipped model's name said before a request ("Alexa, what time is it?", one carrier in
  one breath without a comma, one the name alone) by every voice on this machine: Piper joe at three
  speaking rates, deterministic and with its natural noise (those takes differ run to run), and espeak-ng
  voices when the program is installed. Each take is heard clean and under white noise and babble
  (six LJSpeech readers at once) at 20, 10 and 5 dB SNR; "clean" is a quiet room (a -60 dBFS floor: with
  digital silence around it the model's gain control misjudges a take, and no microphone gives that). A
  take counts as found when the model's score rises above its cut-off anywhere in it.
* False wakes: real speech that does not say any name (LJSpeech, the JFK line, the Picovoice coffee
  orders from ../shared/data/speech) in one shuffled stream with short gaps of room noise, every model
  listening to the same stream; and each recording alone after a second of room noise (a model's score
  depends on what it heard before, so the two presentations wake on different clips). The recordings hold ~31 minutes; a longer stream (`--minutes 60`) goes on
  with the same recordings sped up or slowed down by 8% (voice and tempo both change), said so in the
  report. Also counted: takes of the other names and near-miss phrases ("Alex", "Alexander", "a Lexus").
* Idle CPU: the talk loop's gate, asleep, on two minutes of digital silence and of room noise in 32 ms
  chunks: this thread's CPU time over the audio's duration (the model runs on the calling thread).

Scores are kept, so the same audio also tells detection and false wakes at stricter cut-offs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio import load_audio
from assistant.config import TTSSettings, WakeSettings
from assistant.speech.types import SAMPLE_RATE
from assistant.speech.wake import Crossings, MicroWakeWordDetector, WakeGate, load_wake_detector

MODELS = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")
NAMES = {"alexa": "Alexa", "hey_jarvis": "Hey Jarvis", "hey_mycroft": "Hey Mycroft", "okay_nabu": "Okay Nabu"}
CARRIERS = (
    "{name}, what time is it?",
    "{name}, set a timer for five minutes.",
    "{name}, turn on the kitchen lights.",
    "{name} what's the weather like today",  # one breath, no pause after the name
    "{name}.",
)
NEAR_MISSES = (
    "Alex, what time is it?",
    "Alexander, set a timer for five minutes.",
    "I parked the Lexus next to the election office.",
    "Alexis said she would relax a bit.",
    "Hey Travis, turn on the kitchen lights.",
    "Hey, my crofter friend is here.",
    "Okay, now boo is the cat's name.",
    "Jarvis Cocker sang in a band.",
    "My craft project is nearly done.",
    "Okay, nah, bring the blue one.",
)
PIPER_RATES = (0.8, 1.0, 1.25)  # length_scale: faster, default, slower
ESPEAK_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-029")
CONDITIONS: tuple[tuple[str, str | None, float | None], ...] = (  # w = white noise, b = babble, at SNR dB
    ("clean", None, None),
    ("w20", "white", 20.0),
    ("w10", "white", 10.0),
    ("w5", "white", 5.0),
    ("b20", "babble", 20.0),
    ("b10", "babble", 10.0),
    ("b5", "babble", 5.0),
)
SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)  # other cut-offs tried on the same scores
LEAD_S, TAIL_S = 1.0, 1.0  # the detector has been listening to the room before anyone speaks
ROOM_NOISE = 0.002  # white noise RMS in the gaps between real clips and for idle CPU (-54 dBFS)
QUIET_ROOM = 0.001  # the noise floor under every take (-60 dBFS)
CHUNK = 512  # 32 ms, as the talk loop's microphone blocks
TARGET_DETECTION, TARGET_FALSE_PER_HOUR, TARGET_IDLE_CPU = 0.95, 0.1, 5.0


class WakeBenchError(RuntimeError):
    """The benchmark cannot run (no speech data); the message says what is missing."""


@dataclass(frozen=True)
class Take:
    model: str
    voice: str
    text: str
    audio: np.ndarray  # 16 kHz, the phrase only


@dataclass(frozen=True)
class Options:
    models: tuple[str, ...] = MODELS
    minutes: float = 15.0
    natural_takes: int = 2
    espeak: bool = True
    seed: int = 0


# --- audio ------------------------------------------------------------------------------------------------


def _speakers(natural_takes: int, espeak: bool) -> list[tuple[str, Any, int]]:
    """(voice label, synthesizer, takes) for every voice used: Piper at each rate, espeak-ng voices."""
    from assistant.speech.tts import synthesizers

    speakers: list[tuple[str, Any, int]] = []
    for rate in PIPER_RATES:
        det = TTSSettings(length_scale=rate, deterministic=True)
        speakers.append((f"piper joe x{rate:g}", synthesizers.create("piper", det), 1))
        if natural_takes:
            natural = TTSSettings(length_scale=rate, deterministic=False)
            speakers.append(
                (f"piper joe x{rate:g} natural", synthesizers.create("piper", natural), natural_takes)
            )
    if espeak and shutil.which("espeak-ng"):
        for voice in ESPEAK_VOICES:
            speakers.append((f"espeak {voice}", synthesizers.create("espeak", TTSSettings(voice=voice)), 1))
    return speakers


def _say(synth: Any, text: str) -> np.ndarray:
    from assistant.audio import resample
    from assistant.speech.tts import synthesize

    return resample(synthesize(synth, text), synth.sample_rate, SAMPLE_RATE).astype(np.float32)


def synthesize_takes(options: Options) -> tuple[list[Take], list[Take], list[str]]:
    """(takes of each model's name, near-miss takes, the voices used)."""
    speakers = _speakers(options.natural_takes, options.espeak)
    takes, near = [], []
    for label, synth, repeats in speakers:
        for model in options.models:
            for carrier in CARRIERS:
                text = carrier.format(name=NAMES[model])
                takes.extend(Take(model, label, text, _say(synth, text)) for _ in range(repeats))
        near.extend(Take("", label, text, _say(synth, text)) for text in NEAR_MISSES)
    return takes, near, [label for label, _, _ in speakers]


def _speech_files(folder: Path) -> list[Path]:
    files = sorted((folder / "ljspeech_dev" / "wavs").glob("*.flac"))
    files += sorted((folder / "jfk").glob("*.flac"))
    files += sorted((folder / "picovoice_dev" / "clean").glob("*.flac"))
    if not files:
        raise WakeBenchError(
            f"No LJSpeech, JFK or Picovoice recordings under {folder}; pass --data or set ASSISTANT_SPEECH_DATA."
        )
    return files


def babble_track(
    folder: Path, rng: np.random.Generator, seconds: float = 30.0, talkers: int = 6
) -> np.ndarray:
    """Several LJSpeech readers at once, each looped from a random start: a crowd, not words to follow."""
    clips = [load_audio(f) for f in sorted((folder / "ljspeech_dev" / "wavs").glob("*.flac"))]
    if not clips:
        raise WakeBenchError(f"No LJSpeech recordings under {folder} to make babble from.")
    reader = np.concatenate(clips)
    n = int(seconds * SAMPLE_RATE)
    track = np.zeros(n, dtype=np.float32)
    for _ in range(talkers):
        start = int(rng.integers(0, len(reader)))
        track += np.resize(np.roll(reader, -start), n)
    return track / (np.sqrt(np.mean(track**2)) + 1e-9)


def _power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2)) + 1e-12


def mix(
    speech: np.ndarray, kind: str | None, snr_db: float | None, babble: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The phrase between pauses in a quiet room (a -60 dBFS noise floor: a microphone never gives digital
    zeros, and the model's gain control needs a floor to settle on), with noise over the whole clip at
    `snr_db` below the phrase's power."""
    pad = [np.zeros(int(s * SAMPLE_RATE), np.float32) for s in (LEAD_S, TAIL_S)]
    clip = np.concatenate([pad[0], speech, pad[1]])
    clip += rng.normal(0.0, QUIET_ROOM, len(clip)).astype(np.float32)
    if kind is None or snr_db is None:
        return clip
    if kind == "white":
        noise = rng.normal(0.0, 1.0, len(clip)).astype(np.float32)
    else:
        start = int(rng.integers(0, len(babble) - len(clip))) if len(babble) > len(clip) else 0
        noise = np.resize(babble[start:], len(clip)).astype(np.float32)
    scale = np.sqrt(_power(speech) / (_power(noise) * 10 ** (snr_db / 10)))
    out = clip + scale * noise
    peak = float(np.max(np.abs(out)))
    return (out / peak * 0.99 if peak > 0.99 else out).astype(np.float32)


def _perturbed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Played `factor` times faster (voice and tempo change together, as a tape would)."""
    if factor == 1.0:
        return audio
    n = int(len(audio) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(audio)), audio).astype(np.float32)


def real_speech(
    folder: Path, minutes: float, rng: np.random.Generator
) -> Iterator[tuple[str, float, np.ndarray]]:
    """(name, speed factor, audio with a gap of room noise after it) until `minutes` of stream: the
    recordings shuffled, then again at 0.92x and 1.08x speed, and so on."""
    files = _speech_files(folder)
    left = minutes * 60 * SAMPLE_RATE
    for factor in (1.0, 0.92, 1.08, 0.96, 1.04) * 10:
        for i in rng.permutation(len(files)):
            if left <= 0:
                return
            audio = _perturbed(load_audio(files[i]), factor)
            gap = rng.normal(0.0, ROOM_NOISE, int(rng.uniform(0.2, 1.0) * SAMPLE_RATE)).astype(np.float32)
            audio = np.concatenate([audio, gap])[: int(left)]
            left -= len(audio)
            yield files[i].name, factor, audio


# --- scores -----------------------------------------------------------------------------------------------


def scores(detector: MicroWakeWordDetector, audio: np.ndarray) -> np.ndarray:
    """(n, 2) array of (at_s, score), the model's steps over `audio` fed in microphone-sized chunks."""
    out: list[tuple[float, float]] = []
    for i in range(0, len(audio), CHUNK):
        out.extend(detector.scores(audio[i : i + CHUNK]))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def wakes(trace: np.ndarray, name: str, threshold: float) -> list[float]:
    """When the detector would wake on this trace at `threshold` (the same rule as `process`)."""
    crossings = Crossings(name, threshold)
    return [at for at, score in trace if crossings.step(score, at) is not None]


def _micro(model: str) -> MicroWakeWordDetector:
    detector = load_wake_detector(WakeSettings(backend="micro", model=model))
    assert isinstance(detector, MicroWakeWordDetector)
    return detector


def idle_cpu(model: str, seconds: float = 120.0) -> dict[str, float]:
    """% of one core the sleeping gate costs on silence and on room noise (thread CPU / audio time)."""
    rng = np.random.default_rng(1)
    inputs = {
        "silence": np.zeros(int(seconds * SAMPLE_RATE), np.float32),
        "room noise": rng.normal(0.0, ROOM_NOISE, int(seconds * SAMPLE_RATE)).astype(np.float32),
    }
    out = {}
    for label, audio in inputs.items():
        gate = WakeGate(_micro(model))
        start = time.thread_time()
        for i in range(0, len(audio), CHUNK):
            gate.feed(audio[i : i + CHUNK], (i + CHUNK) / SAMPLE_RATE)
        out[label] = round(100 * (time.thread_time() - start) / seconds, 3)
    return out


# --- the run ----------------------------------------------------------------------------------------------


def run(folder: Path, options: Options, step: Callable[[str], None]) -> dict[str, Any]:
    """Every measurement, as the JSON report (see `print_report` for the table)."""
    rng = np.random.default_rng(options.seed)
    step("Synthesising the wake-word takes…")
    takes, near, voices = synthesize_takes(options)
    babble = babble_track(folder, rng)
    detectors = {model: _micro(model) for model in options.models}
    cutoffs = {model: detectors[model].threshold for model in options.models}

    step("Detection under noise…")
    peaks: dict[str, dict[str, list[float]]] = {m: {c[0]: [] for c in CONDITIONS} for m in options.models}
    by_voice: dict[str, dict[str, list[float]]] = {m: {} for m in options.models}
    by_phrase: dict[str, dict[str, list[float]]] = {m: {} for m in options.models}
    missed: dict[str, list[str]] = {m: [] for m in options.models}  # clean takes below the cut-off
    for take in takes:
        detector = detectors[take.model]
        for label, kind, snr in CONDITIONS:
            detector.reset()
            trace = scores(detector, mix(take.audio, kind, snr, babble, rng))
            peak = float(trace[:, 1].max()) if len(trace) else 0.0
            peaks[take.model][label].append(peak)
            by_voice[take.model].setdefault(take.voice, []).append(peak)
            carrier = next(c for c in CARRIERS if c.format(name=NAMES[take.model]) == take.text)
            by_phrase[take.model].setdefault(carrier, []).append(peak)
            if kind is None and peak <= cutoffs[take.model]:
                missed[take.model].append(f"{take.voice}: {take.text} ({peak:.2f})")

    step("Other names and near misses…")
    crossed: dict[str, list[str]] = {m: [] for m in options.models}
    checked = dict.fromkeys(options.models, 0)
    fixed = [t for t in takes if "natural" not in t.voice]  # one take per voice and phrase is enough here
    for take in fixed + near:
        clip = mix(take.audio, None, None, babble, rng)
        for model in options.models:
            if model == take.model:
                continue
            detectors[model].reset()
            checked[model] += 1
            if wakes(scores(detectors[model], clip), model, cutoffs[model]):
                crossed[model].append(f"{take.voice}: {take.text}")

    step(f"False wakes on {options.minutes:g} minutes of real speech…")
    for detector in detectors.values():
        detector.reset()
    traces: dict[str, list[np.ndarray]] = {m: [] for m in options.models}
    placed: list[tuple[float, str, float]] = []  # (stream start s, file, speed) to name where wakes fell
    composition: dict[str, float] = {}
    fed = 0
    for name, factor, audio in real_speech(folder, options.minutes, rng):
        placed.append((fed / SAMPLE_RATE, name, factor))
        composition[f"x{factor:g}"] = composition.get(f"x{factor:g}", 0.0) + len(audio) / SAMPLE_RATE / 60
        for model, detector in detectors.items():
            traces[model].append(scores(detector, audio))
        fed += len(audio)
    hours = fed / SAMPLE_RATE / 3600
    starts = np.array([p[0] for p in placed])

    step("Each real recording alone, after a second of room noise…")
    alone: dict[str, list[np.ndarray]] = {m: [] for m in options.models}
    alone_woke: dict[str, list[str]] = {m: [] for m in options.models}
    alone_seconds = 0.0
    for path in _speech_files(folder):
        audio = load_audio(path)
        alone_seconds += len(audio) / SAMPLE_RATE
        audio = np.concatenate([rng.normal(0.0, ROOM_NOISE, SAMPLE_RATE).astype(np.float32), audio])
        for model, detector in detectors.items():
            detector.reset()
            trace = scores(detector, audio)
            alone[model].append(trace)
            woke = wakes(trace, model, cutoffs[model])
            alone_woke[model].extend(f"{path.name} at {at - 1.0:.1f} s (alone)" for at in woke)
    alone_hours = alone_seconds / 3600

    def alone_rate(model: str, threshold: float) -> float:
        count = sum(len(wakes(trace, model, threshold)) for trace in alone[model])
        return round(count / alone_hours, 2)

    def where(at: float) -> str:
        start, name, factor = placed[int(np.searchsorted(starts, at, side="right")) - 1]
        return f"{name} at {at - start:.1f} s" + ("" if factor == 1.0 else f" (x{factor:g})")

    step("Idle CPU…")
    report: dict[str, Any] = {
        "voices": voices,
        "carriers": list(CARRIERS),
        "conditions": [c[0] for c in CONDITIONS],
        "real_speech": {
            "minutes": round(hours * 60, 2),
            "minutes_by_speed": {k: round(v, 2) for k, v in composition.items()},
            "sources": "LJSpeech dev (12), JFK (1), Picovoice dev clean (200)",
        },
        "targets": {
            "detection": TARGET_DETECTION,
            "false_wakes_per_hour": TARGET_FALSE_PER_HOUR,
            "idle_cpu_percent_of_one_core": TARGET_IDLE_CPU,
        },
        "models": [],
    }
    for model in options.models:
        trace = np.concatenate(traces[model]) if traces[model] else np.zeros((0, 2))
        cutoff = cutoffs[model]
        false = wakes(trace, model, cutoff)
        all_peaks = [p for values in peaks[model].values() for p in values]
        row: dict[str, Any] = {
            "model": model,
            "cutoff": cutoff,
            "takes": len(peaks[model]["clean"]),
            "detection": _rate(all_peaks, cutoff),
            "detection_by_condition": {c: _rate(v, cutoff) for c, v in peaks[model].items()},
            "detection_by_voice": {v: _rate(p, cutoff) for v, p in by_voice[model].items()},
            "detection_by_phrase": {c: _rate(p, cutoff) for c, p in by_phrase[model].items()},
            "false_wakes": len(false),
            "false_wakes_per_hour": round(len(false) / hours, 2) if hours else None,
            "false_wake_places": [where(at) for at in false[:20]],
            "false_wakes_each_recording_alone": {
                "minutes": round(alone_hours * 60, 2),
                "wakes": len(alone_woke[model]),
                "per_hour": alone_rate(model, cutoff),
                "places": alone_woke[model][:20],
            },
            "missed_clean_takes": missed[model],
            "real_speech_peak_score": round(float(trace[:, 1].max()), 4) if len(trace) else None,
            "other_names_and_near_misses": {"clips": checked[model], "woke_on": crossed[model]},
            "idle_cpu_percent": idle_cpu(model),
            "sweep": [
                {
                    "cutoff": t,
                    "detection": _rate(all_peaks, t),
                    "detection_clean": _rate(peaks[model]["clean"], t),
                    "false_wakes_per_hour": round(len(wakes(trace, model, t)) / hours, 2) if hours else None,
                    "false_wakes_per_hour_alone": alone_rate(model, t),
                }
                for t in sorted({*SWEEP, cutoff})
            ],
        }
        report["models"].append(row)
    return report


def _rate(peaks: list[float], threshold: float) -> float | None:
    return round(sum(p > threshold for p in peaks) / len(peaks), 4) if peaks else None


def print_report(report: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    from assistant.console import console

    machine = report["machine"]
    minutes = report["real_speech"]["minutes"]
    rows = report["models"]
    table = Table(
        title=f"Wake word ({machine['cpus_usable']} CPUs, load {machine['load_average'][0]:.1f}; "
        f"{len(report['voices'])} voices × {len(report['carriers'])} phrases; {minutes:g} min of real speech)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("")
    for row in rows:
        table.add_column(row["model"], justify="right", no_wrap=True)
    table.add_row("cut-off", *(f"{row['cutoff']:g}" for row in rows))
    table.add_row("found, all takes", *(f"{row['detection']:.1%}" for row in rows))
    for condition in report["conditions"]:
        table.add_row(f"  {condition}", *(f"{row['detection_by_condition'][condition]:.0%}" for row in rows))
    table.add_row(
        "false wakes/h, stream",
        *(f"{row['false_wakes_per_hour']:.1f} ({row['false_wakes']})" for row in rows),
    )
    table.add_row(
        "  each recording alone",
        *(
            f"{row['false_wakes_each_recording_alone']['per_hour']:.1f} "
            f"({row['false_wakes_each_recording_alone']['wakes']})"
            for row in rows
        ),
    )
    table.add_row("idle CPU, % of a core", *(f"{max(row['idle_cpu_percent'].values()):.2f}" for row in rows))
    console.print(table)
    sweep = Table(
        title="Other cut-offs on the same audio", box=box.SIMPLE_HEAD, pad_edge=False, show_lines=False
    )
    for column in ("model", "cut-off", "found (all)", "found (clean)", "false/h stream", "alone"):
        sweep.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for row in report["models"]:
        for cell in row["sweep"]:
            mark = " *" if cell["cutoff"] == row["cutoff"] else ""
            sweep.add_row(
                row["model"],
                f"{cell['cutoff']:g}{mark}",
                f"{cell['detection']:.1%}",
                f"{cell['detection_clean']:.1%}",
                f"{cell['false_wakes_per_hour']:.1f}",
                f"{cell['false_wakes_per_hour_alone']:.1f}",
            )
    console.print(sweep)
    targets = report["targets"]
    console.print(
        f"Targets (issue 19): ≥ {targets['detection']:.0%} found at ≤ {targets['false_wakes_per_hour']:g} false "
        f"wakes per hour; ≤ {targets['idle_cpu_percent_of_one_core']:g}% of one core idle (idle %: the worse of "
        "silence and room noise). w / b = white noise / babble of six LJSpeech readers at that SNR in dB; "
        "clean = a quiet room. * = the model's own cut-off."
    )
    for row in report["models"]:
        woke = row["other_names_and_near_misses"]
        places = row["false_wake_places"] + row["false_wakes_each_recording_alone"]["places"]
        if places:
            console.print(f"[yellow]{row['model']} woke on real speech:[/] " + "; ".join(places[:6]))
        if woke["woke_on"]:
            console.print(
                f"[yellow]{row['model']} woke on {len(woke['woke_on'])}/{woke['clips']} other names and near "
                "misses:[/] " + "; ".join(woke["woke_on"][:4])
            )
