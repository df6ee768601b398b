"""One turn, one path: audio or text in -> ASR -> NLU -> skill or generator -> TTS, events out.

The CLI, the web app and the benchmarks all call `Pipeline.run` and only consume its events. What turns
share (models loaded once, the dialog manager, the scheduler) lives in `assistant.runtime.Runtime`; each
stage can be swapped for one request (the NLU lab and the UI dropdowns do that) without touching the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from assistant.config import Settings
from assistant.events import (
    ErrorEvent,
    Event,
    IntentEvent,
    InterruptedEvent,
    NoticeEvent,
    SkillEvent,
    TextEvent,
    TimingEvent,
    TranscriptEvent,
    TurnDoneEvent,
    TurnRequest,
)
from assistant.memory import Memory, MemoryInputError, NewTurn, TurnContext
from assistant.runtime import Runtime
from assistant.speech.speaker import SentenceSpeaker
from assistant.speech.types import Synthesizer
from assistant.text import MAX_STORED_CHARS, MAX_UNDERSTOOD_CHARS, clean_text, without_fillers
from assistant.timing import Stopwatch


class InputError(ValueError):
    """The request cannot be understood (empty, too long, no speech); the message is for the user."""


class Pipeline:
    """The turn. Thread-safe: the web app calls `run` from many threads at once."""

    def __init__(
        self, settings: Settings, memory: Memory | None = None, runtime: Runtime | None = None
    ) -> None:
        self.runtime = runtime or Runtime(settings, memory)
        self.settings = settings
        self.memory = self.runtime.memory

    # --- the turn -----------------------------------------------------------------------------------

    def run(self, request: TurnRequest) -> Iterator[Event]:
        """Yield the turn's events as they happen; bad input ends in one ErrorEvent, never an exception."""
        watch = Stopwatch()
        try:
            user_id, conversation_id, context = self._identify(request)
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
            model, intent = self.runtime.understand(understood, request.nlu_override)
        except (LookupError, ValueError) as exc:  # an unknown or untrained name: the message names it (cut)
            yield ErrorEvent(str(exc))
            return
        except Exception as exc:
            yield ErrorEvent(f"The NLU model failed: {str(exc)[:300]}")
            return
        yield watch.lap("nlu", start)
        threshold = model.threshold  # settings.nlu.threshold, when set, was applied at load

        # Dialog manager: a skill, or the generator
        start = time.perf_counter()
        decision = self.runtime.manager.decide(understood, intent, user_id, conversation_id, threshold)
        skill_result = decision.result
        yield IntentEvent(intent, decision.routed_to, threshold)

        synth = self._synth_or_notice(request) if request.speak else None
        if isinstance(synth, NoticeEvent):
            yield synth
            synth = None
        speaker = SentenceSpeaker(synth, watch, request.cancel) if synth is not None else None

        vector, backfill = None, []  # recall: this request's vector, and vectors made for earlier turns
        if skill_result is not None:
            yield watch.lap("skill", start)
            if self.runtime.manager.schedules(decision.skill):  # a timer set for 2 s need not wait a poll
                self.runtime.wake_scheduler()
            yield SkillEvent(decision.skill, skill_result.text, dict(skill_result.data))
            reply = skill_result.text
            answered_by = decision.skill or "skill"
            yield TextEvent(reply)
            if speaker:
                yield from speaker.feed(reply, final=True)
        else:
            vector = yield from self._encode_for_recall(understood, watch)
            recalled, backfill = yield from self._recall(user_id, vector, context, watch)
            reply, answered_by = yield from self._generate(
                request, understood, context, watch, speaker, recalled
            )

        # Barge-in: cancelled while the reply was being made (the generator and the speaker stopped).
        interrupted = request.cancel is not None and request.cancel.cancelled
        if interrupted:
            yield InterruptedEvent("tts" if skill_result is not None else "generator", reply)
        timings = dict(watch.timings)
        timings["total"] = watch.total_ms()
        try:
            stored = self.memory.append_turn(
                user_id,
                conversation_id,
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
                    interrupted=interrupted,
                ),
                vector=vector,
                backfill=backfill,
            )
        except MemoryInputError as exc:
            yield ErrorEvent(f"I answered, but could not save this turn: {exc}")
            return
        if request.cancel is not None and not interrupted:  # cut off later, while its end still plays
            memory, turn_id = self.memory, stored.id
            request.cancel.on_cancel(lambda: memory.mark_interrupted(user_id, turn_id))
        yield TimingEvent("total", timings["total"])
        yield TurnDoneEvent(conversation_id, stored.id, reply, answered_by, timings, interrupted)

    def _identify(self, request: TurnRequest) -> tuple[int, int, TurnContext]:
        """The user, the conversation and what the reply needs from the memory: one read when the caller
        resolved the user (the web app), one write more to look a name up, one more for a first turn."""
        from assistant.dialog.prompt import history_window

        user_id = request.user_id if request.user_id is not None else self.memory.user(request.user).id
        size = self.settings.generator.history_turns
        context = self.memory.turn_context(
            user_id, request.conversation_id, lambda n: history_window(n, size)
        )
        if context.conversation is None:
            return user_id, self.memory.start_conversation(user_id).id, context
        return user_id, context.conversation.id, context

    def _hear(self, request: TurnRequest, watch: Stopwatch) -> Iterator[Event]:
        """Decode, check and transcribe; returns (text, confidence) as the generator's value."""
        from assistant.audio import AudioError, load_audio, to_speech_samples

        start = time.perf_counter()
        try:
            if isinstance(request.audio, np.ndarray):
                samples = to_speech_samples(request.audio, request.sample_rate or 16_000, self.settings.audio)
            else:
                samples = load_audio(bytes(request.audio or b""), self.settings.audio, name="recording")
        except AudioError as exc:
            raise InputError(str(exc)) from exc
        yield watch.lap("decode", start)

        from assistant.speech.ahead import use_or_transcribe

        start = time.perf_counter()
        ahead = request.heard_ahead if request.sample_rate in (None, 16_000) else None
        early_ms = request.transcript_ms if request.transcript is not None else None
        try:
            if request.transcript is not None:
                transcript = request.transcript
            else:
                transcript, was_ahead = use_or_transcribe(
                    ahead, request.audio, lambda: self.runtime.recognizer().transcribe(samples)
                )
                early_ms = ahead.compute_ms if was_ahead and ahead is not None else None
        except AudioError as exc:
            raise InputError(str(exc)) from exc
        yield watch.lap("asr", start)  # with a transcript heard ahead: only what was left to wait
        if early_ms is not None:
            watch.timings["asr_heard_ahead"] = round(early_ms, 2)
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
            return self.runtime.synthesizer(request.voice_override)
        except Exception as exc:
            return NoticeEvent(f"Speech output is unavailable ({exc}); replying in text only.")

    def _encode_for_recall(self, text: str, watch: Stopwatch) -> Iterator[Event]:
        """The request's sentence vector (stored with the turn, and the recall's query), or None when recall
        is off or the encoder cannot load: recall adds to a turn, it never fails one."""
        if not self.settings.generator.recall:
            return None
        from assistant.dialog.recall import sentence_encoder

        start = time.perf_counter()
        try:
            vector = sentence_encoder().encode(text)
        except Exception as exc:
            yield NoticeEvent(f"Recalling earlier conversations is unavailable ({str(exc)[:200]}).")
            return None
        yield watch.lap("recall_encode", start)
        return vector

    def _recall(
        self, user_id: int, vector: np.ndarray | None, context: TurnContext, watch: Stopwatch
    ) -> Iterator[Event]:
        """(The prompt's block of the user's earlier turns (any conversation) nearest to this request,
        leaving out the recent window the prompt has anyway, or None; the vectors made meanwhile for turns
        stored without one, to store with this turn). One read."""
        from assistant.dialog.recall import recalled_block, sentence_encoder

        settings = self.settings.generator
        if vector is None or context.conversation is None or settings.recall_turns <= 0:
            return None, []  # no conversation yet: no earlier turns
        start = time.perf_counter()
        found = self.memory.recall(
            user_id,
            vector,
            k=settings.recall_turns,
            exclude={turn.id for turn in context.history},
            min_score=settings.recall_min_score,
            encode=sentence_encoder().encode_many,
        )
        yield watch.lap("recall", start)
        return recalled_block(found.turns, settings.recall_tokens), found.fresh

    def _generate(
        self,
        request: TurnRequest,
        text: str,
        context: TurnContext,
        watch: Stopwatch,
        speaker: SentenceSpeaker | None,
        recalled: str | None = None,
    ) -> Iterator[Event]:  # returns (reply, answered_by)
        from assistant.dialog.prompt import build_messages

        start = time.perf_counter()
        pieces: list[str] = []
        try:
            generator = self.runtime.generator(request.generator_override)
            messages = build_messages(
                user_text=text,
                facts=context.facts,
                history=[(turn.user_text, turn.reply_text) for turn in context.history],
                recalled=recalled,
            )
            stream = generator.stream(messages)
            try:
                for piece in stream:
                    if request.cancel is not None and request.cancel.cancelled:
                        break  # barge-in: closing the stream stops the generation (see generators/)
                    if not pieces:
                        yield watch.lap("generator_first_token", start)
                    pieces.append(piece)
                    yield TextEvent(piece)
                    if speaker:
                        yield from speaker.feed(piece)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
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
        if not reply and not (request.cancel is not None and request.cancel.cancelled):
            reply = "Sorry, I don't have an answer for that."
            yield TextEvent(reply)
        if speaker:
            yield from speaker.feed("", final=True)
        return reply, answered_by
