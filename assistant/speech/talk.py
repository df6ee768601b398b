"""The hands-free loop: (wait for the wake word,) listen, end-point with VAD, transcribe, answer, play, listen
again.

The loop is driven by audio chunks and a clock, so the same `TalkSession` runs on a live microphone
(`SoundDevicePlayer`, wall-clock time) and on a recording (`TimelinePlayer`, the recording's own time,
which writes what the speaker would have played into a file). What to answer is a plug-in:
`respond(text) -> Iterator[AudioChunk]`: `assistant talk` answers through the whole pipeline, the tests
also use `echo_responder`, which says the transcript back. Listening goes through an `Endpointer`, which
starts recognition at the speaker's first pause and can end a whole request early.

While a reply plays the microphone stays open, but without echo cancellation the assistant would hear
itself, so during playback only the wake word and a stop command ("stop", "cancel", "be quiet"...) are
acted on: either cuts the reply off (barge-in). Everything else heard while speaking is reported and
ignored. A barge-in cancels the reply's `CancelToken`: the turn's generator and synthesiser stop making
what has not been played, and the turn is stored as interrupted (see `assistant.cancel`). After the wake
word the request that follows it is taken, as after any wake.

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
from assistant.cancel import CancelToken
from assistant.speech.ahead import HeardAhead, use_or_transcribe
from assistant.speech.endpoint import Endpointer, Heard
from assistant.speech.types import SAMPLE_RATE, AudioChunk, Recognizer, Synthesizer, Transcript
from assistant.speech.vad import EndOfSpeechDetector
from assistant.speech.wake import WakeEvent, WakeGate, strip_wake_phrase

Responder = Callable[[str, CancelToken], Iterator[AudioChunk]]  # (request, its off switch) -> reply audio

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

    def respond(text: str, cancel: CancelToken | None = None) -> Iterator[AudioChunk]:
        chunks = synth.stream(f"You said: {text}")
        while cancel is None or not cancel.cancelled:  # nothing more is synthesised once cut off
            chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    return respond


EARCON_HZ = (659.25, 880.0)  # E5 then A5 (the web page makes the same tones itself: `ui.voice`)
EARCON_S = 0.16
EARCON_GAIN = 0.25


def earcon(sample_rate: int = 22_050, seconds: float = EARCON_S) -> AudioChunk:
    """The chime played when the wake word is heard: two soft rising tones (E5, A5), faded in and out."""
    half = int(seconds / 2 * sample_rate)
    t = np.arange(half) / sample_rate
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    tones = [EARCON_GAIN * fade * np.sin(2 * np.pi * hz * t) for hz in EARCON_HZ]
    return AudioChunk(np.concatenate(tones).astype(np.float32), sample_rate, "", 0, True)


TalkKind = Literal["wake", "heard", "reply", "stopped", "barge_in", "ignored", "error", "sleep"]
# how `assistant talk` shows each kind on the console: (rich style, label)
TALK_STYLE: dict[str, tuple[str, str]] = {
    "wake": ("bold magenta", "wake"),
    "heard": ("bold cyan", "you"),
    "reply": ("green", "assistant"),
    "stopped": ("yellow", "stop"),
    "barge_in": ("yellow", "barge-in"),
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
    detail: dict | None = None  # kind "barge_in": what cut the reply off and when (see `TalkSession`)


def talk_event_record(event: TalkEvent) -> dict:
    """One JSON object for `assistant talk --json`: the wake word as the pipeline's `wake` event
    (`assistant.events.WakeWordEvent`), the others as kind, text and time."""
    if event.wake is not None:
        from assistant.events import WakeWordEvent, event_to_dict

        wake = event.wake
        return {**event_to_dict(WakeWordEvent(wake.name, wake.score, wake.at_s)), "at": event.at}
    record: dict = {"kind": event.kind, "text": event.text, "at": event.at, **(event.detail or {})}
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
        self._reply: tuple[CancelToken, Iterator[AudioChunk]] | None = None  # the last reply, unfinished

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
        speaking = self.replying(now)
        wake, audio = gate.feed(chunk, now, speaking=speaking)
        if wake is not None:
            self.listener.reset()
            self._emit("wake", gate.detector.phrase, now, wake=wake)
            if speaking:  # barge-in: the reply stops now, and the request after the word is taken
                self.interrupt(now, "barge_in", gate.detector.phrase, {"by": "wake", "wake_at_s": wake.at_s})
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
                self.interrupt(now, "stopped", text, {"by": "stop"}, transcript)
            else:
                self._emit("stopped", text, now, transcript)
            return
        if speaking:
            self._emit("ignored", text, now, transcript)
            return
        self._emit("heard", text, now, transcript)
        self._finish_reply()
        self._chiming, self._reply_started = False, True
        token = CancelToken()
        self._reply = (token, self.respond(text, token))
        self.player.play(self._announce(self._reply, now), now)

    def interrupt(
        self, now: float, kind: TalkKind, text: str, detail: dict, transcript: Transcript | None = None
    ) -> None:
        """Barge-in: cancel the reply (its turn stops generating and synthesising, and is stored as
        interrupted), stop playback at `now`, and report it with the stop time (`stopped_at`)."""
        reply = self._reply
        if reply is not None:
            reply[0].cancel(str(detail.get("by", kind)))
        self.player.stop(now)
        self._finish_reply()
        self._reply_started = False
        self._emit(kind, text, now, transcript, detail={**detail, "stopped_at": round(now, 3)})

    def _finish_reply(self) -> None:
        """Run the last reply's turn to its end (after a cancel: no more audio is made, the turn is
        stored as interrupted); a live player's thread that is still on it finishes it instead."""
        reply, self._reply = self._reply, None
        if reply is None:
            return
        try:
            for _ in reply[1]:
                pass
        except ValueError:  # "generator already executing": the player's thread is still pulling it
            pass

    def _announce(self, reply: tuple[CancelToken, Iterator[AudioChunk]], now: float) -> Iterator[AudioChunk]:
        token, chunks = reply
        for chunk in chunks:
            if token.cancelled:
                return
            self._emit("reply", chunk.text, now)
            yield chunk

    def _emit(
        self,
        kind: TalkKind,
        text: str,
        now: float,
        transcript: Transcript | None = None,
        wake: WakeEvent | None = None,
        detail: dict | None = None,
    ) -> None:
        event = TalkEvent(kind, text, round(now, 3), transcript, wake, detail)
        self.events.append(event)
        self.on_event(event)


# --- running on a recording -------------------------------------------------------------------------------


class TimelinePlayer:
    """Plays into a track aligned with the input recording: what a speaker would have played, and when.

    Chunks are pulled as the recording's clock reaches them, one ahead of the one playing (as a sound
    card's player asks for the next while the current one sounds), so a reply cut off at `stop` never
    makes the rest: its generator and synthesiser stop on the file's clock as they would live."""

    def __init__(self) -> None:
        self.sample_rate = 0
        self._clips: list[tuple[float, np.ndarray]] = []  # (start seconds, samples at sample_rate)
        self._pending: Iterator[AudioChunk] | None = None  # the last clip's chunks not pulled yet
        self._pull_at = 0.0  # when the next chunk is pulled: the start of the last one pulled

    def play(self, chunks: Iterator[AudioChunk], now: float) -> None:
        self._pull(float("inf"))  # a clip still being made is made whole, as before it played
        self._clips.append((now, np.zeros(0, dtype=np.float32)))
        self._pending, self._pull_at = iter(chunks), now
        self._pull(now)
        if not len(self._clips[-1][1]):
            self._clips.pop()

    def _pull(self, now: float) -> None:
        while self._pending is not None and now >= self._pull_at:
            chunk = next(self._pending, None)
            if chunk is None:
                self._pending = None
                break
            self.sample_rate = self.sample_rate or chunk.sample_rate
            samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
            if chunk.sample_rate != self.sample_rate:
                samples = resample(samples, chunk.sample_rate, self.sample_rate)
            start, played = self._clips[-1]
            self._pull_at = start + len(played) / self.sample_rate
            self._clips[-1] = (start, np.concatenate([played, samples]))

    def playing(self, now: float) -> bool:
        self._pull(now)
        if not self._clips:
            return False
        start, samples = self._clips[-1]
        return start <= now < start + len(samples) / (self.sample_rate or SAMPLE_RATE)

    def stop(self, now: float) -> None:
        if self.playing(now):
            start, samples = self._clips[-1]
            self._clips[-1] = (start, samples[: int((now - start) * self.sample_rate)])
        self._pending = None  # what was not pulled is never made (the caller finishes the reply's turn)

    def render(self, min_seconds: float = 0.0) -> tuple[np.ndarray, int]:
        self._pull(float("inf"))
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
