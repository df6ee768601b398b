"""The hands-free loop: (wait for the wake word,) listen, end-point with VAD, transcribe, answer, play, listen
again.

The loop is driven by audio chunks and a clock, so the same `TalkSession` runs on a live microphone
(`SoundDevicePlayer`, wall-clock time) and on a recording (`TimelinePlayer`, the recording's own time,
which writes what the speaker would have played into a file). What to answer is a plug-in:
`respond(text) -> Iterator[AudioChunk]`: `assistant talk` answers through the whole pipeline, the tests
also use `echo_responder`, which says the transcript back. Listening goes through an `Endpointer`, which
starts recognition at the speaker's first pause and can end a whole request early.

While a reply plays the microphone stays open, but without echo cancellation the assistant would hear
itself, so during playback only a stop command ("stop", "cancel", "be quiet"...) is acted on: it cuts the
reply off. Everything else heard while speaking is reported and ignored.

With a `WakeGate` (settings.wake.enabled, the default for `assistant talk`) the session sleeps until the
wake word: only the wake-word model hears the audio, so idle listening costs well under 1% of a core. The
word opens the gate (a short earcon plays) and the request that follows is taken, whether said in the same
breath ("Alexa, set a timer for five minutes") or after a pause of up to `wake.request_s`; after a reply the
gate stays open for `wake.follow_up_s` so a follow-up needs no wake word (continued conversation). Without
a gate every utterance is a request, as before.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from assistant.audio import AudioError, resample
from assistant.speech.ahead import HeardAhead, use_or_transcribe
from assistant.speech.endpoint import Endpointer, Heard
from assistant.speech.types import SAMPLE_RATE, AudioChunk, Recognizer, Synthesizer, Transcript
from assistant.speech.vad import EndOfSpeechDetector
from assistant.speech.wake import WakeEvent, WakeGate, strip_wake_phrase

Responder = Callable[[str], Iterator[AudioChunk]]

_STOP = re.compile(
    r"^(?:(?:ok|okay|hey|please|alexa|assistant)\s+)*"
    r"(?:stop|cancel|be quiet|quiet|enough|shut up|silence)"
    r"(?:\s+(?:it|now|please|talking|that))*$"
)


def is_stop_command(text: str) -> bool:
    """True for short commands that mean 'stop talking', in whatever case or punctuation Whisper gives."""
    words = re.sub(r"[^a-z' ]+", " ", text.lower()).split()
    return bool(_STOP.match(" ".join(words)))


def echo_responder(synth: Synthesizer) -> Responder:
    """Stand-in for the dialog pipeline: repeat what was heard."""

    def respond(text: str) -> Iterator[AudioChunk]:
        return synth.stream(f"You said: {text}")

    return respond


def earcon(sample_rate: int = 22_050, seconds: float = 0.16) -> AudioChunk:
    """The chime played when the wake word is heard: two soft rising tones (E5, A5), faded in and out."""
    half = int(seconds / 2 * sample_rate)
    t = np.arange(half) / sample_rate
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    tones = [0.25 * fade * np.sin(2 * np.pi * hz * t) for hz in (659.25, 880.0)]
    return AudioChunk(np.concatenate(tones).astype(np.float32), sample_rate, "", 0, True)


TalkKind = Literal["wake", "heard", "reply", "stopped", "ignored", "error", "sleep"]
# how `assistant talk` shows each kind on the console: (rich style, label)
TALK_STYLE: dict[str, tuple[str, str]] = {
    "wake": ("bold magenta", "wake"),
    "heard": ("bold cyan", "you"),
    "reply": ("green", "assistant"),
    "stopped": ("yellow", "stop"),
    "ignored": ("dim", "(ignored)"),
    "error": ("red", "!"),
    "sleep": ("dim", "(asleep)"),
}


@dataclass(frozen=True)
class TalkEvent:
    kind: TalkKind
    text: str
    at: float  # seconds since the session started
    transcript: Transcript | None = None
    wake: WakeEvent | None = None  # kind "wake": the model, its score, and when (session seconds)


def talk_event_record(event: TalkEvent) -> dict:
    """One JSON object for `assistant talk --json`: the wake word as the pipeline's `wake` event
    (`assistant.events.WakeWordEvent`), the others as kind, text and time."""
    if event.wake is not None:
        from assistant.events import WakeWordEvent, event_to_dict

        wake = event.wake
        return {**event_to_dict(WakeWordEvent(wake.name, wake.score, wake.at_s)), "at": event.at}
    record: dict = {"kind": event.kind, "text": event.text, "at": event.at}
    if event.transcript is not None:
        record["confidence"] = round(event.transcript.confidence, 4)
    return record


class Player(Protocol):
    def play(self, chunks: Iterator[AudioChunk], now: float) -> None: ...
    def playing(self, now: float) -> bool: ...
    def stop(self, now: float) -> None: ...


class TalkSession:
    """Feeds audio to the end-pointer and acts on each utterance."""

    def __init__(
        self,
        recognizer: Recognizer,
        respond: Responder,
        player: Player,
        listener: Endpointer | None = None,
        on_event: Callable[[TalkEvent], None] = lambda event: None,
        gate: WakeGate | None = None,
        chime: AudioChunk | None = None,
    ) -> None:
        """`listener` is usually `Listening.endpointer()` (hears ahead, ends whole requests early); without
        one, a plain detector with hearing ahead through `recognizer`. `gate` (`Listening.wake_gate()`)
        makes the session wait for the wake word; `chime` (see `earcon`) plays when it is heard."""
        self.recognizer = recognizer
        self.respond = respond
        self.player = player
        self.listener = listener or Endpointer(EndOfSpeechDetector(), self.hear_ahead)
        self.on_event = on_event
        self.gate = gate
        self.chime = chime
        self.events: list[TalkEvent] = []
        self._reply_started = False  # a reply was played and its end has not been seen yet
        self._chiming = False  # what plays now (if anything) is the chime, not a reply

    def hear_ahead(self, audio: np.ndarray) -> HeardAhead[Transcript]:
        """Recognition started at a pause, used if the speaker does not go on (the listener calls it)."""
        return HeardAhead(audio, self.recognizer.transcribe)

    def replying(self, now: float) -> bool:
        """A reply (not the chime) is playing: its echo must not be taken for the user."""
        return self.player.playing(now) and not self._chiming

    def feed(self, chunk: np.ndarray, now: float) -> None:
        if self.gate is not None:
            passed = self._through_gate(self.gate, chunk, now)
            if passed is None:
                return
            chunk = passed
        for heard in self.listener.feed(chunk):
            self.handle(heard, now)

    def _through_gate(self, gate: WakeGate, chunk: np.ndarray, now: float) -> np.ndarray | None:
        """Asleep: only the wake word is listened for. Awake: the audio goes on to the listener."""
        if self._reply_started and not self.player.playing(now):
            self._reply_started = False
            gate.keep_open(now)  # continued conversation: a follow-up needs no wake word
        if gate.close_if_idle(now, busy=self.listener.in_speech or self._reply_started):
            self.listener.reset()
            self._emit("sleep", f"say {gate.detector.phrase!r} to wake me", now)
        wake, audio = gate.feed(chunk, now)
        if wake is not None:
            self.listener.reset()
            self._emit("wake", gate.detector.phrase, now, wake=wake)
            if self.chime is not None:
                self._chiming = True
                self.player.play(iter([self.chime]), now)
        return audio

    def finish(self, now: float) -> None:
        tail = self.listener.flush()
        if tail is not None:
            self.handle(tail, now)

    def handle(self, heard: Heard, now: float) -> None:
        try:
            audio = heard.utterance.audio
            transcript, _ = use_or_transcribe(
                heard.heard_ahead, audio, lambda: self.recognizer.transcribe(audio)
            )
        except AudioError as exc:  # e.g. a cough: VAD fired but Whisper-side trimming found no speech
            self._emit("error", str(exc), now)
            return
        text = transcript.text.strip()
        if self.gate is not None:
            said = text
            text = strip_wake_phrase(text, self.gate.detector.phrase)  # heard again, or from the lookback
            if not re.search(r"\w", text):  # the name alone, or its tail ("xa" heard as "."): no request yet
                if said != text:
                    self.gate.await_request(now)
                return
        if not text:
            return
        speaking = self.player.playing(now)
        if is_stop_command(text):
            if speaking:
                self.player.stop(now)
            self._emit("stopped", text, now, transcript)
            return
        if speaking:
            self._emit("ignored", text, now, transcript)
            return
        self._emit("heard", text, now, transcript)
        self._chiming, self._reply_started = False, True
        self.player.play(self._announce(self.respond(text), now), now)

    def _announce(self, chunks: Iterator[AudioChunk], now: float) -> Iterator[AudioChunk]:
        for chunk in chunks:
            self._emit("reply", chunk.text, now)
            yield chunk

    def _emit(
        self,
        kind: TalkKind,
        text: str,
        now: float,
        transcript: Transcript | None = None,
        wake: WakeEvent | None = None,
    ) -> None:
        event = TalkEvent(kind, text, round(now, 3), transcript, wake)
        self.events.append(event)
        self.on_event(event)


# --- running on a recording -------------------------------------------------------------------------------


class TimelinePlayer:
    """Plays into a track aligned with the input recording: what a speaker would have played, and when."""

    def __init__(self) -> None:
        self.sample_rate = 0
        self._clips: list[tuple[float, np.ndarray]] = []  # (start seconds, samples at sample_rate)

    def play(self, chunks: Iterator[AudioChunk], now: float) -> None:
        parts = []
        for chunk in chunks:
            self.sample_rate = self.sample_rate or chunk.sample_rate
            samples = chunk.samples
            if chunk.sample_rate != self.sample_rate:
                samples = resample(samples, chunk.sample_rate, self.sample_rate)
            parts.append(samples)
        if parts:
            self._clips.append((now, np.concatenate(parts)))

    def playing(self, now: float) -> bool:
        if not self._clips:
            return False
        start, samples = self._clips[-1]
        return start <= now < start + len(samples) / self.sample_rate

    def stop(self, now: float) -> None:
        if self.playing(now):
            start, samples = self._clips[-1]
            self._clips[-1] = (start, samples[: int((now - start) * self.sample_rate)])

    def render(self, min_seconds: float = 0.0) -> tuple[np.ndarray, int]:
        rate = self.sample_rate or SAMPLE_RATE
        end = max([min_seconds] + [s + len(x) / rate for s, x in self._clips])
        track = np.zeros(int(np.ceil(end * rate)), dtype=np.float32)
        for start, samples in self._clips:
            i = int(start * rate)
            track[i : i + len(samples)] = samples[: len(track) - i]
        return track, rate


def run_on_recording(session: TalkSession, audio: np.ndarray, chunk_ms: int = 32) -> None:
    """Feed a 16 kHz recording as if it came from the microphone; its own time is the clock."""
    step = chunk_ms * SAMPLE_RATE // 1000
    for i in range(0, len(audio), step):
        chunk = audio[i : i + step]
        session.feed(chunk, (i + len(chunk)) / SAMPLE_RATE)
    session.finish(len(audio) / SAMPLE_RATE)


# --- running on the sound card ----------------------------------------------------------------------------


class SoundDeviceUnavailable(RuntimeError):
    """No PortAudio library or no usable microphone/speaker; the message names the fix."""


def _sounddevice():
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio shared library missing
        raise SoundDeviceUnavailable(
            f"The sound card cannot be used ({exc}). Install PortAudio (`sudo apt-get install libportaudio2`) "
            "or use --input FILE / --output FILE."
        ) from None
    return sd


class SoundDevicePlayer:
    """Plays reply chunks on the default output in a thread, as they are synthesised; `stop` cuts off fast."""

    def __init__(self, block: int = 2048) -> None:
        self.block = block
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def play(self, chunks: Iterator[AudioChunk], now: float = 0.0) -> None:
        self.stop(now)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(chunks, self._stop), daemon=True)
        self._thread.start()

    def playing(self, now: float = 0.0) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, now: float = 0.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _run(self, chunks: Iterable[AudioChunk], stop: threading.Event) -> None:
        sd = _sounddevice()
        stream = None
        try:
            for chunk in chunks:
                if stop.is_set():
                    break
                if stream is None or stream.samplerate != chunk.sample_rate:
                    if stream is not None:
                        stream.close()
                    stream = sd.OutputStream(samplerate=chunk.sample_rate, channels=1, dtype="float32")
                    stream.start()
                samples = np.ascontiguousarray(chunk.samples, dtype=np.float32)
                for i in range(0, len(samples), self.block):
                    if stop.is_set():
                        break
                    stream.write(samples[i : i + self.block])
        finally:
            if stream is not None:
                if stop.is_set():
                    stream.abort()
                else:
                    stream.stop()
                stream.close()


def check_output_device() -> None:
    sd = _sounddevice()
    try:
        sd.query_devices(kind="output")
    except Exception as exc:
        raise SoundDeviceUnavailable(f"No speaker/output device found ({exc}); use --output FILE.") from None


def check_input_device() -> None:
    sd = _sounddevice()
    try:
        sd.query_devices(kind="input")
    except Exception as exc:
        raise SoundDeviceUnavailable(f"No microphone found ({exc}); use --input FILE.") from None


def microphone_chunks(stop: threading.Event, block: int = 512) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks from the default microphone until `stop` is set."""
    sd = _sounddevice()
    try:
        device = sd.query_devices(kind="input")
    except Exception as exc:
        raise SoundDeviceUnavailable(f"No microphone found ({exc}); use --input FILE.") from None
    blocks: queue.Queue[np.ndarray] = queue.Queue()

    def callback(indata, frames, time_info, status) -> None:
        blocks.put(indata[:, 0].copy())

    rate = SAMPLE_RATE
    try:
        stream = sd.InputStream(
            samplerate=rate, channels=1, dtype="float32", blocksize=block, callback=callback
        )
    except Exception:  # the device cannot do 16 kHz: record at its own rate and resample ~100 ms blocks
        rate = int(device["default_samplerate"])
        block = rate // 10
        stream = sd.InputStream(
            samplerate=rate, channels=1, dtype="float32", blocksize=block, callback=callback
        )
    with stream:
        while not stop.is_set():
            try:
                data = blocks.get(timeout=0.1)
            except queue.Empty:
                continue
            yield data if rate == SAMPLE_RATE else resample(data, rate, SAMPLE_RATE)


def run_on_microphone(session: TalkSession, stop: threading.Event) -> None:
    """Listen until `stop` is set (Ctrl+C in the CLI). After a reply ends, stale audio (echo) is dropped;
    after the wake word's chime it is not (the request is being said)."""
    started = time.monotonic()
    was_playing = False
    for chunk in microphone_chunks(stop):
        now = time.monotonic() - started
        playing = session.replying(now)
        if was_playing and not playing:
            session.listener.reset()
        was_playing = playing
        session.feed(chunk, now)
