"""Speech to text: `transcribe`, `audio-start`, `audio-chunk`..., `audio-stop` -> `transcript`.

The audio is collected as it arrives, bounded by audio.max_seconds (checked chunk by chunk, so a client
cannot make the server hold more), then decoded to 16 kHz mono by `assistant.audio` and transcribed by the
runtime's recognizer (loaded once, shared with every other front end). Silence or a clip too short to
hold a word gives an empty transcript, as the reference servers answer; other bad audio is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assistant.audio import AudioError, EmptyAudioError, SilenceOnlyError, TooShortError, to_speech_samples
from assistant.config import Settings
from assistant.wyoming.pcm import PcmError, PcmFormat, to_float
from assistant.wyoming.protocol import RequestError

NOTHING_SAID = (SilenceOnlyError, TooShortError, EmptyAudioError)


def check_language(language: object, supported: list[str]) -> None:
    """Home Assistant sends its pipeline's language ("en", sometimes "en-US"); refuse one we cannot hear."""
    if language is None:
        return
    if not isinstance(language, str) or language.split("-")[0].split("_")[0].lower() not in supported:
        raise RequestError(
            f"This server recognises {', '.join(supported)} only, not {language!r}.", "unsupported-language"
        )


@dataclass
class AudioCollector:
    """The PCM of one request, in one format, no longer than `max_seconds`."""

    max_seconds: float
    max_bytes: int  # audio.max_upload_mb: 60 s of 32-channel 384 kHz audio would be 2.9 GB
    fmt: PcmFormat | None = None
    parts: list[bytes] = field(default_factory=list)
    frames: int = 0

    @classmethod
    def for_settings(cls, settings: Settings) -> AudioCollector:
        return cls(settings.audio.max_seconds, int(settings.audio.max_upload_mb * 1024 * 1024))

    def start(self, rate: object, width: object, channels: object) -> None:
        self.fmt = _format(rate, width, channels)
        self.parts.clear()
        self.frames = 0

    def add(self, rate: object, width: object, channels: object, pcm: bytes) -> None:
        fmt = _format(rate, width, channels)
        if self.fmt is None:
            self.fmt = fmt  # no audio-start: the first chunk says the format
        elif fmt != self.fmt:
            raise RequestError(
                f"An audio chunk changed format mid-stream ({self.fmt} -> {fmt}); send one format per request.",
                "bad-audio",
            )
        if len(pcm) % fmt.frame_bytes:
            raise RequestError(
                f"An audio chunk is not whole frames of {fmt.frame_bytes} bytes ({len(pcm)} bytes).",
                "bad-audio",
            )
        self.frames += len(pcm) // fmt.frame_bytes
        if self.frames * fmt.frame_bytes > self.max_bytes:
            self.parts.clear()
            raise RequestError(
                f"The audio is larger than {self.max_bytes / 2**20:g} MB (setting audio.max_upload_mb).",
                "audio-too-long",
            )
        if self.frames / fmt.rate > self.max_seconds:
            self.parts.clear()
            raise RequestError(
                f"The audio is longer than the limit of {self.max_seconds:g} s (setting audio.max_seconds).",
                "audio-too-long",
            )
        self.parts.append(pcm)

    def samples(self) -> tuple[np.ndarray, int]:
        """(frames, channels) float32 and its rate; nothing collected -> an empty array at 16 kHz."""
        if self.fmt is None or not self.parts:
            return np.zeros((0, 1), dtype=np.float32), 16_000
        try:
            return to_float(b"".join(self.parts), self.fmt), self.fmt.rate
        except PcmError as exc:
            raise RequestError(str(exc), "bad-audio") from None


def _format(rate: object, width: object, channels: object) -> PcmFormat:
    try:
        return PcmFormat.checked(rate, width, channels)
    except PcmError as exc:
        raise RequestError(str(exc), "bad-audio") from None


def transcribe(settings: Settings, recognizer, samples: np.ndarray, rate: int) -> str:  # type: ignore[no-untyped-def]
    """The words in the audio ("" when nothing was said); runs in a worker thread."""
    try:
        speech = to_speech_samples(samples, rate, settings.audio, label="audio")
    except NOTHING_SAID:
        return ""
    except AudioError as exc:
        raise RequestError(str(exc), "bad-audio") from None
    try:
        return recognizer.transcribe(speech).text.strip()
    except NOTHING_SAID:
        return ""
    except AudioError as exc:
        raise RequestError(str(exc), "bad-audio") from None
