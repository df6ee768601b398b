"""One turn as the page sees it: pipeline events folded into chat messages, reply audio and timings.

`TurnView` is plain Python (no Gradio), so the event handling is unit-testable; the conversation tab
turns each state of it into component updates while the turn streams.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.events import (
    AudioEvent,
    ErrorEvent,
    Event,
    IntentEvent,
    NoticeEvent,
    TextEvent,
    TimingEvent,
    TranscriptEvent,
    TurnDoneEvent,
)
from ui.render import StageSpan, assistant_message, intent_line, spans_from_arrivals, user_message

LISTENING = "🎤 …"


@dataclass
class TurnView:
    """Accumulates one turn's events. `messages` is the whole chat, this turn's two messages last."""

    messages: list[dict[str, Any]]
    shown_text: str | None  # what the user typed; None for voice (the transcript replaces it)
    started: float = field(default_factory=time.perf_counter)
    transcript: str | None = None
    asr_confidence: float | None = None
    reply: str = ""
    arrivals: list[tuple[str, float, float]] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    sample_rate: int | None = None
    notices: list[str] = field(default_factory=list)
    error: str | None = None
    done: TurnDoneEvent | None = None
    intent_label: str | None = None

    @classmethod
    def start(cls, history: list[dict[str, Any]], text: str | None) -> TurnView:
        voice = text is None
        messages = list(history) + [
            user_message(LISTENING if voice else text or "", voice=False),
            {"role": "assistant", "content": ""},
        ]
        return cls(messages=messages, shown_text=text)

    @property
    def voice(self) -> bool:
        return self.shown_text is None

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when what the page shows changed."""
        if isinstance(event, TranscriptEvent):
            self.transcript = event.transcript.text.strip()
            self.asr_confidence = event.transcript.confidence
            self.messages[-2] = user_message(self.transcript or "(no words heard)", voice=True)
            return True
        if isinstance(event, IntentEvent):
            self.intent_label = event.intent.label
            meta = intent_line(
                event.intent,
                event.routed_to,
                event.threshold,
                transcript=None,
                asr_confidence=self.asr_confidence if self.voice else None,
            )
            text = self.transcript if self.voice else self.shown_text
            self.messages[-2] = user_message(text or "", meta, voice=self.voice)
            return True
        if isinstance(event, TextEvent):
            self.reply += event.text
            self.messages[-1] = assistant_message(self.reply)
            return True
        if isinstance(event, AudioEvent):
            chunk = event.chunk
            samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
            if self.sample_rate is not None and chunk.sample_rate != self.sample_rate:
                from assistant.audio import resample

                samples = resample(samples, chunk.sample_rate, self.sample_rate)
            self.sample_rate = self.sample_rate or chunk.sample_rate
            self.audio.append(samples)
            return False
        if isinstance(event, TimingEvent):
            self.arrivals.append((event.stage, float(event.ms), self.elapsed_ms()))
            return False
        if isinstance(event, NoticeEvent):
            self.notices.append(event.message)
            return True
        if isinstance(event, ErrorEvent):
            self.error = event.message
            if self.voice and self.messages[-2]["content"] == LISTENING:
                self.messages[-2] = user_message("(voice message)", voice=True)
            self.messages[-1] = assistant_message(f"⚠️ {event.message}")
            return True
        if isinstance(event, TurnDoneEvent):
            self.done = event
            if not self.reply and event.reply:
                self.reply = event.reply
                self.messages[-1] = assistant_message(self.reply)
            return True
        return False

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def spans(self) -> list[StageSpan]:
        return spans_from_arrivals(self.arrivals)

    @property
    def total_ms(self) -> float | None:
        if self.done is not None and "total" in self.done.timings_ms:
            return float(self.done.timings_ms["total"])
        totals = [ms for stage, ms, _ in self.arrivals if stage == "total"]
        return totals[-1] if totals else None

    def reply_audio(self) -> tuple[int, np.ndarray] | None:
        """The whole spoken reply as (rate, int16 samples), or None when nothing was spoken."""
        if not self.audio or self.sample_rate is None:
            return None
        samples = np.concatenate(self.audio)
        if samples.size == 0:
            return None
        return self.sample_rate, (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)

    def status(self) -> str:
        """Markdown under the chat: notices that did not stop the turn, or the error that did."""
        lines = [f"⚠️ {n}" for n in self.notices]
        if self.error:
            lines.append(f"❌ {self.error}")
        return "\n\n".join(lines)
