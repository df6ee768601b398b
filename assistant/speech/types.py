"""Data that crosses the speech boundaries, and the recognizer / synthesizer interfaces."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 16_000  # what every recognizer receives: mono float32 in [-1, 1]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    confidence: float  # 0..1, from the mean token log-probability
    segments: tuple[Segment, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    audio_seconds: float = 0.0


@dataclass(frozen=True)
class AudioChunk:
    """Synthesised audio for one sentence; chunks stream in order, `final` marks the last."""

    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    text: str = ""
    index: int = 0
    final: bool = False


@runtime_checkable
class Recognizer(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray) -> Transcript: ...


@runtime_checkable
class Synthesizer(Protocol):
    name: str
    sample_rate: int

    def stream(self, text: str) -> Iterator[AudioChunk]: ...
