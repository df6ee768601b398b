"""Voice activity detection with Silero VAD (ONNX weights from the `silero-vad` package).

Two uses: `VoiceActivityDetector.trim` cuts leading/trailing silence before recognition (Whisper pads every
input to 30 s, but silence still costs decoding time and invites hallucinations), and `EndOfSpeechDetector`
turns a live stream of microphone chunks into utterances (the `talk` loop and the web UI use it).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from assistant.speech.types import SAMPLE_RATE

FRAME = 512  # samples per Silero step at 16 kHz (32 ms)
TAIL_FRAMES = round(0.2 * SAMPLE_RATE / FRAME)  # trailing silence an utterance keeps (~200 ms)
PAUSE_FRAMES = 3  # silence after which `pause()` offers the utterance so far (~100 ms)


def load_silero():
    """A fresh Silero ONNX model. Each has its own recurrent state, so each stream needs its own."""
    from silero_vad import load_silero_vad

    return load_silero_vad(onnx=True)


@dataclass(frozen=True)
class SpeechSpan:
    start: int  # sample index at 16 kHz
    end: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


class VoiceActivityDetector:
    """Finds speech in a whole clip. Thread-safe (one lock around the model's state)."""

    def __init__(self, threshold: float = 0.5, min_speech_ms: int = 120, pad_ms: int = 200) -> None:
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.pad_ms = pad_ms
        self._model = load_silero()
        self._lock = threading.Lock()

    def spans(self, audio: np.ndarray) -> list[SpeechSpan]:
        import torch
        from silero_vad import get_speech_timestamps

        with self._lock:
            stamps = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
                self._model,
                threshold=self.threshold,
                sampling_rate=SAMPLE_RATE,
                min_speech_duration_ms=self.min_speech_ms,
                speech_pad_ms=30,
            )
        return [SpeechSpan(int(s["start"]), int(s["end"])) for s in stamps]

    def has_speech(self, audio: np.ndarray) -> bool:
        return bool(self.spans(audio))

    def speech_bounds(self, audio: np.ndarray) -> tuple[int, int] | None:
        """(start, end) samples from the first to the last speech plus padding; None when there is none."""
        spans = self.spans(audio)
        if not spans:
            return None
        pad = self.pad_ms * SAMPLE_RATE // 1000
        return max(0, spans[0].start - pad), min(len(audio), spans[-1].end + pad)

    def trim(self, audio: np.ndarray) -> np.ndarray | None:
        """Audio from the first to the last speech (plus padding), or None when there is no speech."""
        bounds = self.speech_bounds(audio)
        return None if bounds is None else audio[bounds[0] : bounds[1]]


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech found in a stream, with a little audio before and after it."""

    audio: np.ndarray
    start: float  # seconds since the detector started (or was reset)
    end: float
    truncated: bool = False  # cut at max_seconds rather than ended by silence
    # set when the speaker paused and did not go on: `audio[:paused_samples]` was offered by `pause()`,
    # and the rest is the silence after it
    paused_samples: int | None = None


class EndOfSpeechDetector:
    """Streaming end-pointing: feed microphone chunks of any size, get an `Utterance` when the speaker stops.

    Speech starts after `start_ms` of frames above `threshold`; it ends after `end_silence_ms` of frames
    below `threshold - 0.15` (hysteresis, as Silero recommends). `preroll_ms` of audio before the start is
    kept so the first syllable is not clipped. An utterance longer than `max_seconds` is cut there.

    After `PAUSE_FRAMES` of silence (~100 ms) `pause()` offers the utterance so far, once: if the speaker
    does not go on, the utterance that ends later is that audio plus ~100 ms more silence, and says so
    (`Utterance.paused_samples`), so a caller can transcribe during the rest of the wait
    (see `assistant.speech.endpoint`).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        start_ms: int = 96,
        end_silence_ms: int = 500,
        preroll_ms: int = 300,
        max_seconds: float = 30.0,
        model=None,
    ) -> None:
        self.threshold = threshold
        self.neg_threshold = max(0.05, threshold - 0.15)
        self.start_frames = max(1, round(start_ms * SAMPLE_RATE / 1000 / FRAME))
        self.end_frames = max(1, round(end_silence_ms * SAMPLE_RATE / 1000 / FRAME))
        self.preroll_frames = max(0, round(preroll_ms * SAMPLE_RATE / 1000 / FRAME))
        self.max_frames = int(max_seconds * SAMPLE_RATE / FRAME)
        self._model = model or load_silero()
        self.reset()

    def reset(self) -> None:
        self._model.reset_states()
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll: deque[np.ndarray] = deque(maxlen=self.preroll_frames + self.start_frames)
        self._speech: list[np.ndarray] = []
        self._voiced_run = 0
        self._silent_run = 0
        self._frames_seen = 0
        self._start_frame = 0
        self._pause: np.ndarray | None = None
        self._paused_samples: int | None = None  # length of the audio offered in the current silence
        self.last_probability = 0.0

    @property
    def in_speech(self) -> bool:
        """True while an utterance is being collected (the UI shows 'listening…')."""
        return bool(self._speech)

    @property
    def silence_ms(self) -> float:
        """How long the speaker has been silent inside the current utterance (0 outside one)."""
        return self._silent_run * FRAME * 1000 / SAMPLE_RATE if self._speech else 0.0

    def end_now(self) -> Utterance | None:
        """End the current utterance at once, as the silence window would have (same audio); None when
        the speaker has not paused for `TAIL_FRAMES` yet (or is not speaking)."""
        if not self._speech or self._silent_run < TAIL_FRAMES:
            return None
        return self._end_after_silence()

    def pause(self) -> np.ndarray | None:
        """The utterance so far if the speaker paused in the chunks fed since the last call, else None."""
        audio, self._pause = self._pause, None
        return audio

    def feed(self, chunk: np.ndarray) -> list[Utterance]:
        """Add 16 kHz mono float32 samples; returns the utterances that ended inside this chunk."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        data = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        n_frames = len(data) // FRAME
        self._pending = data[n_frames * FRAME :].copy()
        done: list[Utterance] = []
        for i in range(n_frames):
            utterance = self._step(data[i * FRAME : (i + 1) * FRAME])
            if utterance is not None:
                done.append(utterance)
        return done

    def flush(self) -> Utterance | None:
        """End of stream: whatever speech is being collected becomes an utterance."""
        if not self._speech:
            return None
        if self._pending.size:
            self._speech.append(self._pending)
            self._pending = np.zeros(0, dtype=np.float32)
            self._paused_samples = None  # a part-frame the model has not heard: it may be speech
        return self._finish(truncated=False)

    def _step(self, frame: np.ndarray) -> Utterance | None:
        import torch

        prob = float(self._model(torch.from_numpy(frame.copy()), SAMPLE_RATE).item())
        self.last_probability = prob
        self._frames_seen += 1
        if not self._speech:
            self._preroll.append(frame)
            self._voiced_run = self._voiced_run + 1 if prob >= self.threshold else 0
            if self._voiced_run >= self.start_frames:
                self._speech = list(self._preroll)
                self._preroll.clear()
                self._start_frame = self._frames_seen - len(self._speech)
                self._silent_run = 0
            return None
        self._speech.append(frame)
        self._silent_run = self._silent_run + 1 if prob < self.neg_threshold else 0
        if self._silent_run == 0:
            self._paused_samples = None  # the speaker went on: the audio offered at the pause is not all
        elif self._silent_run == PAUSE_FRAMES < self.end_frames:
            self._pause = np.concatenate(self._speech).astype(np.float32)
            self._paused_samples = len(self._pause)
        if self._silent_run >= self.end_frames:
            return self._end_after_silence()
        if len(self._speech) >= self.max_frames:
            return self._finish(truncated=True)
        return None

    def _end_after_silence(self) -> Utterance:
        """Keep ~200 ms of the trailing silence, drop the rest, and end the utterance."""
        drop = max(0, self._silent_run - TAIL_FRAMES)
        if drop:
            del self._speech[-drop:]
        return self._finish(truncated=False)

    def _finish(self, truncated: bool) -> Utterance:
        audio = np.concatenate(self._speech).astype(np.float32)
        start = self._start_frame * FRAME / SAMPLE_RATE
        self._speech = []
        self._voiced_run = 0
        self._silent_run = 0
        paused, self._pause, self._paused_samples = self._paused_samples, None, None
        return Utterance(
            audio=audio,
            start=start,
            end=start + len(audio) / SAMPLE_RATE,
            truncated=truncated,
            paused_samples=None if truncated else paused,
        )


def split_utterances(audio: np.ndarray, chunk_ms: int = 32, **kwargs) -> list[Utterance]:
    """Run the streaming detector over a whole recording, as if it came from a microphone."""
    detector = EndOfSpeechDetector(**kwargs)
    step = chunk_ms * SAMPLE_RATE // 1000
    found: list[Utterance] = []
    for i in range(0, len(audio), step):
        found.extend(detector.feed(audio[i : i + step]))
    # a stream that ends mid-utterance still ends it; so does trailing silence shorter than end_silence_ms
    tail = detector.flush()
    if tail is not None:
        found.append(tail)
    return found
