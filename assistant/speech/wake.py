"""Wake-word detection: hands-free listening sleeps until it hears its name ("Alexa, ...").

One small interface, as for the other stages: a `WakeWordDetector` takes 16 kHz float32 chunks of any size
and returns a `WakeEvent` when its word has been said; `wake_detectors` maps backend names to factories,
chosen by `settings.wake`.

* `micro` (default): microWakeWord models from `pymicro-wakeword` (Apache-2.0), shipped inside the package
  (alexa, hey_jarvis, hey_mycroft, okay_nabu: a .tflite each, with its probability cut-off in a .json
  beside it), or a user's own microWakeWord .json/.tflite pair named by path. Nothing is downloaded.
* `openwakeword` (optional): openWakeWord models through `pyopen-wakeword`. Those models are licensed
  CC BY-NC-SA 4.0 (non-commercial use only), so the package is not installed by default.

A detector keeps streaming state, so each audio stream needs its own; the models are tiny (55-80 kB,
under a millisecond to load), so nothing is shared between streams.

`WakeGate` is the hands-free state around one detector: asleep, only the wake word is listened for (the
end-pointer and the recogniser cost nothing); awake, the audio goes on to the end-pointer, from a little
before the word was recognised, so a request said in the same breath ("Alexa, set a timer") is heard whole.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.config import WakeSettings
from assistant.offline import ModelNotAvailableError
from assistant.speech.types import SAMPLE_RATE
from nlu.plugins import Registry

FEATURE_STEP = 160  # microWakeWord: one feature every 10 ms of 16 kHz audio, over a 30 ms window
FEATURE_LAG = 2  # the k-th feature covers audio up to (k + 2) * 10 ms
REARM_S = 0.5  # after a wake, the score must fall below the cut-off and this much time pass before the next
# A fresh model's gain control has not settled: speech in its first second can score high (one Picovoice
# order woke "alexa" 0.7 s after a reset). Scores that early only disarm.
WARMUP_S = 1.0
TFLITE_MAGIC = b"TFL3"  # bytes 4..8 of a TensorFlow Lite flatbuffer
# A floor of noise under the input (-80 dBFS, ~3 LSB of 16-bit audio): a microphone always has one, but a
# file or a gated stream can hold digital zeros, around which the model's gain control misjudges the word
# (espeak's "Alexa, what time is it?" scores 0.54 after digital silence, 0.92 with this floor).
DITHER_RMS = 1e-4


@dataclass(frozen=True)
class WakeEvent:
    """The wake word was heard: which model, its score when it fired, and when (seconds of audio fed to
    the detector since it was made or reset: about 0.2 s after the word ends, as the model averages its
    last five scores; `WakeGate` gives it on the caller's clock)."""

    name: str
    score: float
    at_s: float


@runtime_checkable
class WakeWordDetector(Protocol):
    name: str  # the model's name, e.g. "alexa"
    phrase: str  # what the user says, e.g. "Alexa" (stripped from the front of the request's transcript)
    threshold: float

    def process(self, chunk: np.ndarray) -> list[WakeEvent]: ...

    def reset(self) -> None: ...


wake_detectors: Registry[WakeWordDetector] = Registry("wake")


def load_wake_detector(wake: WakeSettings) -> WakeWordDetector:
    """A fresh detector for one audio stream, as `settings.wake` names it."""
    return wake_detectors.create(wake.backend, wake)


def _pcm16(chunk: np.ndarray, dither: np.random.Generator) -> bytes:
    samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
    samples = samples + dither.normal(0.0, DITHER_RMS, len(samples)).astype(np.float32)
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class Crossings:
    """One event per rise of the score above the cut-off (a long word must not wake twice), none in the
    first `WARMUP_S` after a reset."""

    def __init__(self, name: str, threshold: float) -> None:
        self.name, self.threshold = name, threshold
        self.reset()

    def reset(self) -> None:
        self._armed, self._last = True, -REARM_S

    def step(self, score: float, at_s: float) -> WakeEvent | None:
        if score <= self.threshold:
            self._armed = True
            return None
        if at_s < WARMUP_S:
            self._armed = False
            return None
        if not self._armed or at_s - self._last < REARM_S:
            return None
        self._armed, self._last = False, at_s
        return WakeEvent(self.name, round(float(score), 4), round(at_s, 3))


# --- microWakeWord (default) ------------------------------------------------------------------------------


def micro_models_dir() -> Path:
    from assistant.offline import package_dir

    return package_dir("pymicro_wakeword", "pymicro-wakeword") / "models"


def builtin_micro_models() -> list[str]:
    """The microWakeWord models inside the installed package (alexa, hey_jarvis, hey_mycroft, okay_nabu)."""
    return sorted(p.stem for p in micro_models_dir().glob("*.json"))


def micro_model_config(model: str) -> Path:
    """The .json of a built-in model name or of a user's microWakeWord model (the .json or its .tflite),
    checked so that the C runtime is never handed a missing or foreign file."""
    builtin = builtin_micro_models()
    fix = (
        f"Set wake.model to one of {', '.join(builtin)} or to a microWakeWord .json file with its .tflite "
        "beside it."
    )
    if model in builtin:
        path = micro_models_dir() / f"{model}.json"
    else:
        path = Path(model).expanduser()
        if path.suffix == ".tflite":
            path = path.with_suffix(".json")
        if path.suffix != ".json" or not path.is_file():
            raise ModelNotAvailableError(
                f"Wake-word model {model!r} is not a built-in model or a file. {fix}"
            )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        cutoff = float(config["micro"]["probability_cutoff"])
        int(config["micro"]["sliding_window_size"])
        tflite = path.parent / str(config["model"])
        str(config["wake_word"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelNotAvailableError(
            f"{path} is not a microWakeWord model config (it needs wake_word, model and "
            f"micro.probability_cutoff / sliding_window_size; {type(exc).__name__}: {exc}). {fix}"
        ) from None
    if not 0.0 < cutoff < 1.0:
        raise ModelNotAvailableError(f"{path}: probability_cutoff {cutoff} is not between 0 and 1. {fix}")
    try:
        with tflite.open("rb") as handle:
            magic = handle.read(8)[4:8]
    except OSError:
        raise ModelNotAvailableError(f"{path} names {tflite.name}, which is not beside it. {fix}") from None
    if magic != TFLITE_MAGIC:
        raise ModelNotAvailableError(f"{tflite} is not a TensorFlow Lite model. {fix}")
    return path


@wake_detectors.register(
    "micro", "microWakeWord (pymicro-wakeword, Apache-2.0): alexa, hey_jarvis, hey_mycroft, okay_nabu offline"
)
class MicroWakeWordDetector:
    """A microWakeWord streaming model: 10 ms features, a tflite step every 30 ms, the mean of the last few
    probabilities against the cut-off from the model's .json (or `wake.threshold`)."""

    def __init__(self, wake: WakeSettings) -> None:
        config = micro_model_config(wake.model)
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

            self._model = MicroWakeWord.from_config(config)
        except (ImportError, OSError, ValueError) as exc:  # the wheel's tflite runtime cannot load here
            raise ModelNotAvailableError(
                f"pymicro-wakeword cannot run on this machine ({type(exc).__name__}: {exc}). "
                "Reinstall it (`pip install pymicro-wakeword`) or set wake.enabled=false."
            ) from None
        self._features = MicroWakeWordFeatures()
        self.name = str(self._model.id)
        self.phrase = str(self._model.wake_word)
        self.threshold = float(wake.threshold or self._model.probability_cutoff)
        self._crossings = Crossings(self.name, self.threshold)
        self._steps = 0
        self._dither = np.random.default_rng(0)

    def process(self, chunk: np.ndarray) -> list[WakeEvent]:
        found = (self._crossings.step(score, at_s) for at_s, score in self.scores(chunk))
        return [event for event in found if event is not None]

    def scores(self, chunk: np.ndarray) -> list[tuple[float, float]]:
        """(at_s, score) for each step of the model in this chunk (one per 30 ms); `process` compares
        them with the cut-off, `assistant bench wake` keeps them to try other cut-offs."""
        out: list[tuple[float, float]] = []
        stride = self._model.stride
        for features in self._features.process_streaming(_pcm16(chunk, self._dither)):
            self._steps += 1
            score = self._model.process_streaming_prob(features)
            if score is None or self._steps % stride:  # the model runs on every `stride`-th feature only
                continue
            out.append(((self._steps + FEATURE_LAG) * FEATURE_STEP / SAMPLE_RATE, float(score)))
        return out

    def reset(self) -> None:
        self._model.reset()  # reloads the interpreter: the model's streaming state lives in it (~0.2 ms)
        self._features.reset()
        self._crossings.reset()
        self._steps = 0
        self._dither = np.random.default_rng(0)  # the same audio gives the same scores after a reset


# --- openWakeWord (optional) ------------------------------------------------------------------------------

OPENWAKEWORD_MISSING = (
    "The openwakeword backend needs pyopen-wakeword, which is not installed: `pip install pyopen-wakeword`. "
    "Its bundled openWakeWord models are licensed CC BY-NC-SA 4.0 (non-commercial use only), which is why "
    "it is an optional extra. Or use the default backend: wake.backend=micro."
)


@wake_detectors.register(
    "openwakeword", "openWakeWord (optional: pip install pyopen-wakeword; models CC BY-NC-SA 4.0)"
)
class OpenWakeWordDetector:
    """openWakeWord through pyopen-wakeword: a built-in model name or a .tflite path; cut-off 0.5 unless
    `wake.threshold` says otherwise. Scores come every 80 ms."""

    def __init__(self, wake: WakeSettings) -> None:
        try:
            from pyopen_wakeword import Model, OpenWakeWord, OpenWakeWordFeatures
        except ImportError:
            raise ModelNotAvailableError(OPENWAKEWORD_MISSING) from None
        builtin = [m.value for m in Model]
        if wake.model in builtin:
            self._model = OpenWakeWord.from_builtin(Model(wake.model))
        else:
            path = Path(wake.model).expanduser()
            if path.suffix != ".tflite" or not path.is_file():
                raise ModelNotAvailableError(
                    f"openWakeWord model {wake.model!r} is not one of {', '.join(builtin)} or a .tflite file."
                )
            self._model = OpenWakeWord.from_model(path)
        self._features = OpenWakeWordFeatures.from_builtin()
        self.name = str(self._model.id)
        self.phrase = re.sub(r"_v\d.*$", "", self.name).replace("_", " ")
        self.threshold = float(wake.threshold or 0.5)
        self._crossings = Crossings(self.name, self.threshold)
        self._samples = 0
        self._dither = np.random.default_rng(0)

    def process(self, chunk: np.ndarray) -> list[WakeEvent]:
        self._samples += len(chunk)
        at_s = self._samples / SAMPLE_RATE  # the end of this chunk: scores are not placed more finely
        found: list[WakeEvent] = []
        for embeddings in self._features.process_streaming(_pcm16(chunk, self._dither)):
            for score in self._model.process_streaming(embeddings):
                event = self._crossings.step(score, at_s)
                if event is not None:
                    found.append(event)
        return found

    def reset(self) -> None:
        self._model.reset()
        self._features.reset()
        self._crossings.reset()
        self._samples = 0


# --- the hands-free gate ----------------------------------------------------------------------------------

_WORD = re.compile(r"[\w']+")


def strip_wake_phrase(text: str, phrase: str) -> str:
    """The request without the wake word in front ("Alexa, what time is it?" -> "what time is it?"):
    the audio handed on after a wake starts a little before the word was recognised, and people say the
    name again in a follow-up."""
    words = [w.lower() for w in _WORD.findall(phrase)]
    if not words:
        return text.strip()
    pattern = r"^\W*" + r"\W+".join(re.escape(w) for w in words) + r"\b[\s,.!?;:-]*"
    return re.sub(pattern, "", text.strip(), flags=re.IGNORECASE).strip()


def wake_gate(wake: WakeSettings) -> WakeGate | None:
    """The gate for one audio stream as `settings.wake` sets it up, or None when the wake word is off."""
    if not wake.enabled:
        return None
    return WakeGate(load_wake_detector(wake), request_s=wake.request_s, follow_up_s=wake.follow_up_s)


class WakeGate:
    """Asleep, chunks go to the wake-word detector only; on the wake word the gate opens and hands on the
    audio from `lookback_s` before the detection onwards, then every chunk, until it closes.

    The detector hears every chunk, awake or asleep (it costs well under 1% of a core), so it is never
    cold when the gate falls asleep; its wakes while the gate is open are not acted on, except while the
    assistant is speaking (`feed(..., speaking=True)`): then the word is a barge-in, reported as a wake
    with the audio from just before it, so the request said after it is heard whole.

    It closes when `close_if_idle` is called after its window (`request_s` after the wake word, or
    `follow_up_s` after `keep_open`, called when a reply has finished) has passed, and the caller says
    nothing is in progress (no speech being collected, no reply playing).
    """

    def __init__(
        self,
        detector: WakeWordDetector,
        request_s: float = 8.0,
        follow_up_s: float = 5.0,
        lookback_s: float = 0.2,
    ) -> None:
        self.detector = detector
        detector.reset()  # its clock (`WakeEvent.at_s`) starts with the gate's
        self.request_s = request_s
        self.follow_up_s = follow_up_s
        self.lookback = round(lookback_s * SAMPLE_RATE)
        self.open_until: float | None = None
        self._recent: deque[np.ndarray] = deque()  # the last chunks, at least `lookback` samples
        self._recent_samples = 0
        self._fed = 0  # samples the detector has heard since it was made

    @property
    def awake(self) -> bool:
        return self.open_until is not None

    def feed(
        self, chunk: np.ndarray, now: float, speaking: bool = False
    ) -> tuple[WakeEvent | None, np.ndarray | None]:
        """(the wake event if the word was recognised in this chunk, its `at_s` on the caller's clock, whose
        time at the end of `chunk` is `now`; the audio to hand on, None while asleep).

        `speaking`: a reply is playing, so a wake while awake counts too (barge-in)."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        events = self.detector.process(chunk)
        self._fed += len(chunk)
        self._remember(chunk)
        if self.awake and not (speaking and events):
            return None, chunk
        if not events:
            return None, None
        event = events[0]
        after = self._fed - min(self._fed, round(event.at_s * SAMPLE_RATE))  # samples past the detection
        recent = np.concatenate(self._recent)
        handed = recent[-min(len(recent), after + self.lookback) :]
        self.open_until = now + self.request_s
        self._forget()
        return replace(event, at_s=round(now - after / SAMPLE_RATE, 3)), handed

    def keep_open(self, now: float) -> None:
        """A reply has finished: listen without the wake word for `follow_up_s` (continued conversation)."""
        self.open_until = now + self.follow_up_s

    def await_request(self, now: float) -> None:
        """The name was said again while awake (and nothing after it yet): wait `request_s` for the request."""
        if self.open_until is not None:
            self.open_until = max(self.open_until, now + self.request_s)

    def close_if_idle(self, now: float, busy: bool) -> bool:
        """Go back to sleep if the window has passed and nothing is in progress; True when it closed."""
        if self.open_until is None or busy or now < self.open_until:
            return False
        self.sleep()
        return True

    def sleep(self) -> None:
        self.open_until = None
        self._forget()

    def _remember(self, chunk: np.ndarray) -> None:
        self._recent.append(chunk)
        self._recent_samples += len(chunk)
        keep = self.lookback + len(chunk) + 4 * FEATURE_STEP  # a detection lags its audio by < 40 ms
        while self._recent_samples - len(self._recent[0]) >= keep:
            self._recent_samples -= len(self._recent.popleft())

    def _forget(self) -> None:
        self._recent.clear()
        self._recent_samples = 0
