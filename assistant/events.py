"""What a turn through the pipeline yields, as it happens. The CLI, web UI and benchmarks consume these.

Every event is a frozen dataclass with a `kind` string so consumers can dispatch without isinstance
chains and serialise with `event_to_dict` (used by `assistant chat --once --json`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from assistant.cancel import CancelToken
from assistant.speech.ahead import HeardAhead
from assistant.speech.types import AudioChunk, Transcript
from nlu.types import Intent


@dataclass(frozen=True)
class TurnRequest:
    """One user turn: typed text or recorded audio (bytes of any format, or 16 kHz float32 samples).

    The *_override fields swap a stage for this turn only (the NLU lab and UI dropdowns use them).
    """

    user: str = ""  # the user's name, looked up (or created) for the turn, unless `user_id` is given
    text: str | None = None
    audio: bytes | np.ndarray | None = None
    sample_rate: int | None = None  # only for raw sample arrays not at 16 kHz
    conversation_id: int | None = None  # None: the user's latest conversation, or a new one
    user_id: int | None = None  # identity already resolved by the caller (the web app): no lookup by name
    speak: bool = False  # synthesise the reply
    nlu_override: str | None = None
    generator_override: str | None = None
    voice_override: str | None = None
    heard_ahead: HeardAhead[Transcript] | None = (
        None  # a `HeardAhead` started by `Listening.hear_ahead` at a pause in this audio
    )
    cancel: CancelToken | None = None  # barge-in: cancelled, the turn stops and is stored as interrupted
    # already heard: the transcript of exactly this audio (hands-free takes the wake word off its front),
    # and what making it took; the turn does not transcribe again
    transcript: Transcript | None = None
    transcript_ms: float | None = None


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"


@dataclass(frozen=True)
class WakeWordEvent(Event):
    """Hands-free listening heard its wake word and takes the request that follows (before the turn)."""

    kind: ClassVar[str] = "wake"
    name: str  # the wake-word model, e.g. "alexa"
    score: float  # the model's score when it fired (its cut-off is below this)
    at_s: float  # seconds into the audio stream


@dataclass(frozen=True)
class TranscriptEvent(Event):
    kind: ClassVar[str] = "transcript"
    transcript: Transcript


@dataclass(frozen=True)
class IntentEvent(Event):
    kind: ClassVar[str] = "intent"
    intent: Intent
    routed_to: str  # "skill:<name>" or "generator"
    threshold: float


@dataclass(frozen=True)
class SkillEvent(Event):
    """A skill acted; `data` holds the facts it owns (times, list items) for the UI and the generator."""

    kind: ClassVar[str] = "skill"
    skill: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextEvent(Event):
    """A piece of the reply text; concatenate the pieces for the whole reply."""

    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class AudioEvent(Event):
    kind: ClassVar[str] = "audio"
    chunk: AudioChunk


@dataclass(frozen=True)
class TimingEvent(Event):
    kind: ClassVar[str] = "timing"
    stage: str  # vad, asr, nlu, skill, generator_first_token, generator, tts_first_audio, tts, total
    ms: float


@dataclass(frozen=True)
class NoticeEvent(Event):
    """Something the user should know that did not stop the turn (a stage degraded, input trimmed)."""

    kind: ClassVar[str] = "notice"
    message: str
    level: str = "warning"


@dataclass(frozen=True)
class ErrorEvent(Event):
    """The turn could not be answered (bad audio, empty text); the message is meant for the user."""

    kind: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True)
class InterruptedEvent(Event):
    """The user cut the reply off (`TurnRequest.cancel`): generation and speech stopped at `stage`; the
    turn is stored with what was made so far, marked interrupted."""

    kind: ClassVar[str] = "interrupted"
    stage: str  # "generator" or "tts": what was still working when the cancel was seen
    reply: str  # the reply text made before it stopped


@dataclass(frozen=True)
class TurnDoneEvent(Event):
    """The turn is stored; ids let a caller resume the conversation."""

    kind: ClassVar[str] = "done"
    conversation_id: int
    turn_id: int
    reply: str
    answered_by: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False  # stored as interrupted (barge-in while it was still being made)


def event_to_dict(event: Event) -> dict[str, Any]:
    """JSON-ready dict: audio becomes its duration and sample rate, never raw samples."""
    out: dict[str, Any] = {"kind": event.kind}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, AudioChunk):
            value = {
                "index": value.index,
                "text": value.text,
                "sample_rate": value.sample_rate,
                "seconds": round(len(value.samples) / value.sample_rate, 3),
                "final": value.final,
            }
        elif dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        out[f.name] = value
    return out
