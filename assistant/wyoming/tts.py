"""Text to speech: `synthesize` -> `audio-start`, `audio-chunk`..., `audio-stop`; and the streaming form
`synthesize-start`, `synthesize-chunk`..., (`synthesize`), `synthesize-stop` -> audio ... `synthesize-stopped`.

Each sentence is synthesised and sent as soon as it is complete (the runtime's synthesizer streams sentence
by sentence; in the streaming form `SentenceSpeaker` waits for a sentence to end in the incoming text), so
Home Assistant starts playing the first sentence while the rest is made. Audio goes out as 16-bit mono at
the voice's own rate, in chunks of `CHUNK_SAMPLES`, like wyoming-piper's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event

from assistant.speech.types import Synthesizer
from assistant.wyoming.pcm import to_pcm16
from assistant.wyoming.protocol import RequestError

CHUNK_SAMPLES = 1024  # samples per audio-chunk event (wyoming-piper's default)


def check_voice(voice: object, offered: str) -> None:
    """`voice` is the synthesize event's {"name", "speaker"} or {"language"}; we have one voice."""
    if not isinstance(voice, dict) or voice.get("name") in (None, offered):
        return
    raise RequestError(f"Unknown voice {voice.get('name')!r}; this server has {offered!r}.", "unknown-voice")


def check_text(text: object, max_chars: int) -> str:
    if not isinstance(text, str):
        raise RequestError("`text` must be a string.", "bad-text")
    if len(text) > max_chars:
        raise RequestError(
            f"The text is too long to synthesize ({len(text):,} characters; at most {max_chars:,}, "
            "setting wyoming.max_text_chars).",
            "text-too-long",
        )
    return text


def audio_events(samples: np.ndarray, rate: int) -> list[Event]:
    """One sentence's audio as audio-chunk events of CHUNK_SAMPLES each."""
    pcm = to_pcm16(samples)
    step = CHUNK_SAMPLES * 2
    return [
        AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i : i + step]).event()
        for i in range(0, len(pcm), step)
    ]


def start_event(rate: int) -> Event:
    return AudioStart(rate=rate, width=2, channels=1).event()


def stop_event() -> Event:
    return AudioStop().event()


def sentences(synth: Synthesizer, text: str) -> Iterator[tuple[np.ndarray, int]]:
    """(samples, rate) per sentence, each made only when asked for (the caller sends one, then asks)."""
    from assistant.speech.tts import SynthesisError

    try:
        for chunk in synth.stream(text):
            yield chunk.samples, chunk.sample_rate
    except SynthesisError as exc:
        raise RequestError(str(exc), "bad-text") from None


@dataclass
class TextStream:
    """A streaming request's text: whole sentences are spoken as they end, the rest at `synthesize-stop`."""

    synth: Synthesizer
    max_chars: int
    chars: int = 0
    started: bool = False  # audio-start sent
    speaker: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from assistant.speech.speaker import SentenceSpeaker
        from assistant.timing import Stopwatch

        self.speaker = SentenceSpeaker(self.synth, Stopwatch())

    def feed(self, text: str, final: bool = False) -> list[Event]:
        """The events for the sentences `text` completes (runs in a worker thread: it synthesises)."""
        from assistant.events import AudioEvent, NoticeEvent

        self.chars += len(text)
        if self.chars > self.max_chars:
            raise RequestError(
                f"The streamed text passed {self.max_chars:,} characters (setting wyoming.max_text_chars).",
                "text-too-long",
            )
        out: list[Event] = []
        for event in self.speaker.feed(text, final=final):  # type: ignore[attr-defined]
            if isinstance(event, NoticeEvent):
                raise RequestError(event.message, "synthesis-failed")
            if isinstance(event, AudioEvent):
                if not self.started:
                    out.append(start_event(event.chunk.sample_rate))
                    self.started = True
                out.extend(audio_events(event.chunk.samples, event.chunk.sample_rate))
        return out
