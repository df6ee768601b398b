"""One turn, one path: audio or text in -> ASR -> NLU -> skill or generator -> TTS, events out.

The CLI, the web app and the benchmarks all call `Pipeline.run` and only consume its events. Models
are loaded lazily, once per process, and shared by every conversation; each stage can be swapped for
one request (the NLU lab and the UI dropdowns do that) without touching the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.events import (
    AudioEvent,
    ErrorEvent,
    Event,
    IntentEvent,
    NoticeEvent,
    SkillEvent,
    TextEvent,
    TimingEvent,
    TranscriptEvent,
    TurnDoneEvent,
    TurnRequest,
)
from assistant.memory import Memory, MemoryInputError, NewTurn, open_memory
from assistant.speech.ahead import HeardAhead
from assistant.speech.endpoint import Endpointer
from assistant.speech.types import AudioChunk, Synthesizer, Transcript
from assistant.text import (
    MAX_STORED_CHARS,
    MAX_UNDERSTOOD_CHARS,
    clean_text,
    understood_text,
    without_fillers,
)
from nlu.types import Intent, IntentModel


class InputError(ValueError):
    """The request cannot be understood (empty, too long, no speech); the message is for the user."""


@dataclass(frozen=True)
class NLUComparison:
    intent: Intent | None
    latency_ms: float
    error: str | None = None


class _Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, stage: str, since: float) -> TimingEvent:
        ms = (time.perf_counter() - since) * 1000
        self.timings[stage] = round(ms, 2)
        return TimingEvent(stage, ms)


class Pipeline:
    """The assistant. Thread-safe: the web app calls `run` from many threads at once."""

    def __init__(self, settings: Settings, memory: Memory | None = None) -> None:
        self.settings = settings
        self.memory = memory or open_memory(settings)
        self._lock = threading.RLock()
        self._nlu: dict[str, IntentModel] = {}
        self._manager: Any = None
        self._scheduler: Any = None

    # --- model access (lazy, shared) ----------------------------------------------------------------

    def nlu_model(self, name: str | None = None) -> IntentModel:
        from nlu.registry import load_intent_model

        name = name or self.settings.nlu.model
        with self._lock:
            model = self._nlu.get(name)
            if model is None:
                model = self._nlu[name] = load_intent_model(name, self.settings)
            return model

    def recognizer(self):  # type: ignore[no-untyped-def]
        from assistant.speech.asr import load_recognizer

        return load_recognizer(self.settings)

    def synthesizer(self, backend: str | None = None) -> Synthesizer:
        from assistant.speech.tts import load_synthesizer

        settings = self.settings
        if backend and backend != settings.tts.backend:
            settings = settings.model_copy(
                update={"tts": settings.tts.model_copy(update={"backend": backend})}
            )
        return load_synthesizer(settings)

    def generator(self, backend: str | None = None):  # type: ignore[no-untyped-def]
        from assistant.dialog.generator import load_generator

        settings = self.settings
        if backend and backend != settings.generator.backend:
            update = {"generator": settings.generator.model_copy(update={"backend": backend})}
            settings = settings.model_copy(update=update)
        return load_generator(settings)

    @property
    def manager(self):  # type: ignore[no-untyped-def]
        from assistant.dialog.manager import DialogManager

        with self._lock:
            if self._manager is None:
                self._manager = DialogManager(self.memory, self.settings)
            return self._manager

    def hear_ahead(self, audio: np.ndarray) -> HeardAhead[Transcript]:
        """Start transcribing 16 kHz samples in the background (at a pause in speech, see
        `assistant.speech.ahead`); pass the handle as `TurnRequest.heard_ahead` with the final audio."""
        from assistant.audio import prepare

        recognizer = self.recognizer()
        return HeardAhead(
            audio, lambda samples: recognizer.transcribe(prepare(samples, 16_000, self.settings.audio))
        )

    def sounds_complete(self, text: str) -> bool:
        """Do these words make a whole request, so hands-free listening can stop early? They do when they
        do not trail off ("add milk and") and a skill claims them by rule or the default NLU model places
        them confidently."""
        from assistant.speech.endpoint import trails_off

        cleaned = understood_text(text)
        if trails_off(cleaned):
            return False
        model = self.nlu_model()
        return self.manager.understands(cleaned, model.predict([cleaned])[0], self._threshold(model))

    def _threshold(self, model: IntentModel) -> float:
        """Below this confidence a request goes to the generator (settings override the model's own)."""
        return self.settings.nlu.threshold if self.settings.nlu.threshold is not None else model.threshold

    def endpointer(self, hear_ahead: bool = True, early_end: bool = True) -> Endpointer:
        """End-of-speech detection for one audio stream, set up from `settings.audio`."""
        from assistant.speech.endpoint import Endpointer
        from assistant.speech.vad import EndOfSpeechDetector

        audio = self.settings.audio
        detector = EndOfSpeechDetector(end_silence_ms=audio.end_silence_ms, max_seconds=audio.max_seconds)
        return Endpointer(
            detector,
            self.hear_ahead if hear_ahead else None,
            self.sounds_complete if early_end else None,
            audio.early_end_ms,
        )

    def warm_up(self, speech: bool = True) -> None:
        """Load the default models now rather than on the first request."""
        self.nlu_model()
        self.generator()
        _ = self.manager
        if speech:
            self.recognizer()
            self.synthesizer()

    # --- names for pickers --------------------------------------------------------------------------

    def nlu_names(self) -> list[str]:
        from nlu.registry import product_names

        return product_names()

    def compare_nlu(self, text: str, names: list[str]) -> dict[str, NLUComparison]:
        """The same utterance through several NLU models (the NLU lab)."""
        cleaned = understood_text(text)
        results: dict[str, NLUComparison] = {}
        for name in names:
            try:
                model = self.nlu_model(name)
                start = time.perf_counter()
                intent = model.predict([cleaned])[0]
                results[name] = NLUComparison(intent, (time.perf_counter() - start) * 1000)
            except Exception as exc:  # one broken model must not hide the others
                results[name] = NLUComparison(None, 0.0, f"{type(exc).__name__}: {exc}")
        return results

    # --- notifications (timers and reminders that fire) -------------------------------------------------

    @property
    def scheduler(self):  # type: ignore[no-untyped-def]
        """Fires timers, alarms and reminders; started on first use, stopped by `close()`."""
        from assistant.dialog.manager import user_timezone
        from assistant.dialog.scheduler import Scheduler

        with self._lock:
            if self._scheduler is None:
                self._scheduler = Scheduler(self.memory, tz=user_timezone(self.settings)).start()
            return self._scheduler

    def on_notification(self, callback: Callable[[int, str], None], user_id: int | None = None):  # type: ignore[no-untyped-def]
        """Call `callback(user_id, message)` when a timer, alarm or reminder fires; returns unsubscribe."""
        return self.scheduler.subscribe(lambda alert: callback(alert.user_id, alert.text), user_id=user_id)

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()

    def user_state(self, user_id: int) -> dict[str, Any]:
        """Skill state for the side panel: lists, active timers and reminders, known facts."""
        return {
            "lists": {lst.name: [item.text for item in lst.items] for lst in self.memory.lists(user_id)},
            "timers": [
                {"id": t.id, "kind": t.kind, "label": t.label, "due_at": t.due_at.isoformat()}
                for t in self.memory.timers(user_id)
            ],
            "reminders": [
                {"id": r.id, "text": r.text, "due_at": r.due_at.isoformat() if r.due_at else None}
                for r in self.memory.reminders(user_id)
            ],
            "facts": self.memory.facts(user_id),
        }

    # --- the turn -----------------------------------------------------------------------------------

    def run(self, request: TurnRequest) -> Iterator[Event]:
        """Yield the turn's events as they happen; bad input ends in one ErrorEvent, never an exception."""
        watch = _Stopwatch()
        try:
            user = self.memory.user(request.user)
            conversation = self.memory.resume_conversation(user.id, request.conversation_id)
        except (MemoryInputError, ValueError) as exc:
            yield ErrorEvent(str(exc))
            return

        asr_confidence: float | None = None
        if request.audio is not None:
            try:
                text, asr_confidence = yield from self._hear(request, watch)
            except InputError as exc:
                yield ErrorEvent(str(exc))
                return
            input_kind = "voice"
        else:
            raw = request.text or ""
            if len(raw) > MAX_STORED_CHARS:
                yield ErrorEvent(
                    f"That message is too long ({len(raw):,} characters). Please keep it under "
                    f"{MAX_STORED_CHARS:,}."
                )
                return
            text = clean_text(raw)
            input_kind = "text"
        if not text:
            yield ErrorEvent("I didn't get any words. Please type or say something.")
            return
        understood = without_fillers(text[:MAX_UNDERSTOOD_CHARS])  # `text` is already clean
        if len(text) > MAX_UNDERSTOOD_CHARS:
            yield NoticeEvent(f"Your message is long; I read the first {MAX_UNDERSTOOD_CHARS:,} characters.")

        # NLU
        start = time.perf_counter()
        try:
            model = self.nlu_model(request.nlu_override)
            intent = model.predict([understood])[0]
        except Exception as exc:
            yield ErrorEvent(
                f"The NLU model {request.nlu_override or self.settings.nlu.model!r} failed: {exc}"
            )
            return
        yield watch.lap("nlu", start)
        threshold = self._threshold(model)

        # Dialog manager: a skill, or the generator
        start = time.perf_counter()
        decision = self.manager.decide(understood, intent, user.id, conversation.id, threshold)
        skill_result = decision.result
        yield IntentEvent(intent, decision.routed_to, threshold)

        synth = self._synth_or_notice(request) if request.speak else None
        if isinstance(synth, NoticeEvent):
            yield synth
            synth = None
        speaker = _SentenceSpeaker(synth, watch) if synth is not None else None

        if skill_result is not None:
            yield watch.lap("skill", start)
            if self._scheduler is not None:
                self._scheduler.wake()  # a timer set for 2 s should not wait for the next poll
            yield SkillEvent(decision.skill, skill_result.text, dict(skill_result.data))
            reply = skill_result.text
            answered_by = decision.skill or "skill"
            yield TextEvent(reply)
            if speaker:
                yield from speaker.feed(reply, final=True)
        else:
            reply, answered_by = yield from self._generate(
                request, understood, user.id, conversation.id, decision, watch, speaker
            )

        timings = dict(watch.timings)
        timings["total"] = round((time.perf_counter() - watch.start) * 1000, 2)
        try:
            stored = self.memory.append_turn(
                user.id,
                conversation.id,
                NewTurn(
                    user_text=text,
                    reply_text=reply,
                    input_kind=input_kind,
                    asr_confidence=asr_confidence,
                    intent=intent.label,
                    intent_confidence=float(intent.confidence),
                    nlu_model=intent.model or (request.nlu_override or self.settings.nlu.model),
                    slots=intent.slot_dict(),
                    answered_by=answered_by,
                    timings_ms=timings,
                ),
            )
        except MemoryInputError as exc:
            yield ErrorEvent(f"I answered, but could not save this turn: {exc}")
            return
        yield TimingEvent("total", timings["total"])
        yield TurnDoneEvent(conversation.id, stored.id, reply, answered_by, timings)

    def _hear(self, request: TurnRequest, watch: _Stopwatch) -> Iterator[Event]:
        """Decode, check and transcribe; returns (text, confidence) as the generator's value."""
        from assistant.audio import AudioError, load_audio, prepare

        start = time.perf_counter()
        try:
            if isinstance(request.audio, np.ndarray):
                samples = prepare(request.audio, request.sample_rate or 16_000, self.settings.audio)
            else:
                samples = load_audio(bytes(request.audio or b""), self.settings.audio, name="recording")
        except AudioError as exc:
            raise InputError(str(exc)) from exc
        yield watch.lap("decode", start)

        from assistant.speech.ahead import use_or_transcribe

        start = time.perf_counter()
        ahead = request.heard_ahead if request.sample_rate in (None, 16_000) else None
        try:
            transcript, was_ahead = use_or_transcribe(
                ahead, request.audio, lambda: self.recognizer().transcribe(samples)
            )
        except AudioError as exc:
            raise InputError(str(exc)) from exc
        yield watch.lap("asr", start)  # with a transcript heard ahead: only what was left to wait
        if was_ahead and ahead.compute_ms is not None:
            watch.timings["asr_heard_ahead"] = round(ahead.compute_ms, 2)
        for stage, ms in transcript.timings.items():
            if stage != "total":
                watch.timings[f"asr_{stage}"] = round(ms, 2)
        yield TranscriptEvent(transcript)
        text = clean_text(transcript.text)
        if not text:
            raise InputError("I heard sound but no words. Please try again, a little closer to the mic.")
        return text, transcript.confidence

    def _synth_or_notice(self, request: TurnRequest) -> Synthesizer | NoticeEvent:
        try:
            return self.synthesizer(request.voice_override)
        except Exception as exc:
            return NoticeEvent(f"Speech output is unavailable ({exc}); replying in text only.")

    def _generate(
        self,
        request: TurnRequest,
        text: str,
        user_id: int,
        conversation_id: int,
        decision: Any,
        watch: _Stopwatch,
        speaker: _SentenceSpeaker | None,
    ) -> Iterator[Event]:  # returns (reply, answered_by)
        from assistant.dialog.prompt import build_messages, history_window

        start = time.perf_counter()
        pieces: list[str] = []
        try:
            generator = self.generator(request.generator_override)
            window = history_window(
                self.memory.count_turns(user_id, conversation_id), self.settings.generator.history_turns
            )
            history = self.memory.recent_turns(user_id, conversation_id, window)
            messages = build_messages(
                user_text=text,
                facts=self.memory.facts(user_id),
                history=[(turn.user_text, turn.reply_text) for turn in history],
                skill_result=decision.result,
                max_turns=self.settings.generator.history_turns,
            )
            for piece in generator.stream(messages):
                if not pieces:
                    yield watch.lap("generator_first_token", start)
                pieces.append(piece)
                yield TextEvent(piece)
                if speaker:
                    yield from speaker.feed(piece)
            yield watch.lap("generator", start)
            answered_by = getattr(
                generator, "name", request.generator_override or self.settings.generator.backend
            )
        except Exception as exc:
            fallback = "" if pieces else "Sorry, I can't come up with an answer right now."
            yield NoticeEvent(f"The dialog generator failed ({exc}).")
            if fallback:
                pieces.append(fallback)
                yield TextEvent(fallback)
            answered_by = "fallback"
        reply = "".join(pieces).strip()
        if not reply:
            reply = "Sorry, I don't have an answer for that."
            yield TextEvent(reply)
        if speaker:
            yield from speaker.feed("", final=True)
        return reply, answered_by


class _SentenceSpeaker:
    """Synthesises reply text sentence by sentence as it streams in, so audio starts early."""

    def __init__(self, synth: Synthesizer, watch: _Stopwatch) -> None:
        self.synth = synth
        self.watch = watch
        self.buffer = ""
        self.index = 0
        self.start = time.perf_counter()
        self.failed = False

    def feed(self, text: str, final: bool = False) -> Iterator[Event]:
        from assistant.speech.tts import split_sentences

        if self.failed:
            return
        self.buffer += text
        sentences = split_sentences(self.buffer)
        if not final:
            # the last piece may be an unfinished sentence: keep it until more text or the end arrives
            if not sentences or not self.buffer.rstrip().endswith((".", "!", "?", ":", ";")):
                if len(sentences) <= 1:
                    return
                self.buffer = sentences.pop()
            else:
                self.buffer = ""
        else:
            self.buffer = ""
        for i, sentence in enumerate(sentences):
            yield from self._speak(sentence, last=final and i == len(sentences) - 1)

    def _speak(self, sentence: str, last: bool) -> Iterator[Event]:
        try:
            for chunk in self.synth.stream(sentence):
                if self.index == 0:
                    yield self.watch.lap("tts_first_audio", self.start)
                yield AudioEvent(
                    AudioChunk(
                        chunk.samples, chunk.sample_rate, chunk.text, self.index, final=last and chunk.final
                    )
                )
                self.index += 1
        except Exception as exc:
            self.failed = True
            yield NoticeEvent(f"Speech output failed ({exc}); the reply is in text only.")
