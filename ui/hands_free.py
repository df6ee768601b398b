"""Hands-free listening in the Conversation tab: the page's microphone audio, collected on a timer, goes
to this page's end-pointer (`assistant.listening`), and a finished utterance starts a turn.

With the wake word on (`settings.wake.enabled`, the default) the audio first goes through this tab's
`WakeGate`, as in `assistant talk`: asleep, only the wake-word model hears it; the word opens the gate and
the request that follows (in the same breath or after a pause) is taken, with the name taken off the front
of what was heard; after the reply the gate stays open for `wake.follow_up_s` so a follow-up needs no name.
The gate's clock is the audio this tab has heard (`WebSession.heard_s`), so a late tick changes nothing and
the page's own voice does not use up the follow-up window (it starts when the page goes quiet).

Barge-in: the page keeps its microphone open while it speaks (echo cancellation keeps its own voice out)
and says so (`speaking`). While a reply is made or spoken nothing heard is a request: the gate listens for
the wake word, and the end-pointer for a spoken stop command ("stop", "cancel", "be quiet", as in
`assistant talk`; with the wake word off too). Either cancels the reply's turn (`assistant.cancel`:
generation and speech stop, the turn is stored or marked as interrupted) and tells the page to stop playing
it (a `page_signal`); the request said after the wake word is taken as after any wake. Meanwhile the page
sends its microphone audio every `REPLYING_TICK_S` instead of `HANDS_FREE_CHUNK_S`, so it stops sooner."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr
import numpy as np

from assistant.accounts.doors import web_owner
from assistant.listening import Listening
from assistant.speech.ahead import use_or_transcribe
from assistant.speech.types import SAMPLE_RATE, Transcript
from assistant.speech.wake import WakeGate, strip_wake_phrase
from ui.conversation_layout import HANDS_FREE_CHUNK_S, REPLYING_TICK_S
from ui.errors import friendly, user_message
from ui.session import WebSession, ensure_session
from ui.voice import PayloadError, decode_payload, stop_signal, wake_signal

log = logging.getLogger("assistant.ui")

TURN_OUTPUTS = 7  # textbox, chat, reply audio, waterfall, side panel, status, reply stream
STATUS_OUTPUT = 5  # the status line's place among them


def asleep_status(gate: WakeGate) -> str:
    """What the status line says while the tab waits for its wake word."""
    return f'Say "{gate.detector.phrase}" and your request…'


def without_wake_phrase(text: str, phrase: str) -> str:
    """`strip_wake_phrase` until no name is left in front: Whisper can hear a lone name twice ("Alexa.
    Alexa."), which must not become a request "Alexa."."""
    stripped = strip_wake_phrase(text, phrase)
    while stripped != text:
        text, stripped = stripped, strip_wake_phrase(stripped, phrase)
    return stripped


@dataclass(frozen=True)
class Said:
    """What the request after the wake word was heard as (the name taken off its front), and what hearing
    it took: the turn gets it as `TurnRequest.transcript` and does not transcribe again."""

    transcript: Transcript
    compute_ms: float | None


class HandsFree:
    """The hands-free handlers of `ConversationTab` (which provides `pipeline` and `_run_turn`)."""

    pipeline: Any
    settings: Any

    def _run_turn(self, *args: Any) -> Iterator[tuple[Any, ...]]:
        raise NotImplementedError

    def on_listen_start(
        self, opened: str | None, session: WebSession | None, request: gr.Request
    ) -> tuple[Any, Any, str]:
        """The page tried to open its microphone (`opened` is 'ok' or 'error: why'); start collecting."""
        if (opened or "").strip() != "ok":
            reason = (opened or "").removeprefix("error:").strip() or "the microphone did not start"
            return gr.skip(), gr.Timer(active=False), f"Not listening: {reason}."
        try:
            session = ensure_session(session, request, self.pipeline.memory, web_owner(self.settings))
            self._listener(session).reset()
            session.wake = None  # a fresh, sleeping gate (its model loads now, so a problem shows here)
            gate = self._gate(session)
        except Exception as exc:
            log.exception("hands-free start failed")
            return gr.skip(), gr.Timer(active=False), f"Not listening: {user_message(exc)}"
        session.pending_utterance = None
        return session, gr.Timer(active=True), asleep_status(gate) if gate is not None else "Listening…"

    def on_listen_stop(self, session: WebSession | None) -> tuple[Any, str]:
        stop_listening(session)
        return gr.Timer(active=False), "Not listening."

    def on_listen(self, payload: str | None, session: WebSession | None, seq: int) -> tuple[Any, Any, Any]:
        """Hands-free, every tick: the page's new microphone audio -> (the wake-word gate ->) the end-pointer.

        A finished utterance is parked on the session and bumps `seq`, whose change event runs the turn
        (in the turn queue, so this cheap handler keeps running meanwhile).
        """
        keep = gr.skip()
        if session is None or session.user_id is None:
            return gr.skip(), gr.skip(), keep
        try:
            mic = decode_payload(payload)
            if mic is None:
                return gr.skip(), gr.skip(), keep
            if not mic.on:
                stop_listening(session)
                message = f"Stopped listening: {mic.error}." if mic.error else "Not listening."
                return gr.skip(), message, gr.Timer(active=False)
            listener = self._listener(session)
            gate = self._gate(session)
            speaking = mic.speaking or mic.muted
            replying = session.busy or speaking
            from assistant.audio import resample

            samples = resample(mic.samples, mic.rate) if mic.samples.size else mic.samples
            timer = self._tick_for(session, replying)
            handed = None
            if replying and session.pending_utterance is None and not session.barged:
                # a reply is being made or spoken: only the wake word (barge-in) or "stop" is acted on
                handed = self._barge_in(session, gate, listener, samples) if gate is not None else None
                if handed is None:
                    return gr.skip(), self._while_replying(session, gate, listener, samples, speaking), timer
            elif session.pending_utterance is not None or (replying and not session.barged):
                listener.reset()  # one request at a time; what is said meanwhile is not a new request
                return gr.skip(), "Answering…", timer
            if (
                session.heard_replying
            ):  # the reply is over: what the end-pointer heard during it is no request
                session.heard_replying = False
                drop_stop_check(session)
                if handed is None:
                    listener.reset()
            if samples.size == 0:
                return gr.skip(), gr.skip(), timer
            if handed is not None:  # barge-in: from a little before the wake word, as after any wake
                samples = handed
            elif gate is not None:
                samples = self._through_gate(session, gate, listener, samples)
                if samples is None:
                    session.barged = False
                    return gr.skip(), asleep_status(gate), timer
            utterances = listener.feed(samples)
        except PayloadError as exc:
            stop_listening(session)
            return gr.skip(), f"Stopped listening: {exc}.", gr.Timer(active=False)
        except Exception as exc:
            log.exception("hands-free audio failed")
            stop_listening(session)
            return gr.skip(), f"Stopped listening: {user_message(exc)}", gr.Timer(active=False)
        if utterances:
            session.pending_utterance = utterances[-1]
            session.barged = False
            return (seq or 0) + 1, "Heard you, thinking…", timer
        return gr.skip(), "Listening… (hearing speech)" if listener.in_speech else "Listening…", timer

    def on_listen_tick(
        self, payload: str | None, session: WebSession | None, seq: int
    ) -> tuple[Any, Any, Any, Any]:
        """`on_listen`, and the signals for the page (`ui.voice`: stop a reply, play the earcon) when due."""
        seq_out, status, timer = self.on_listen(payload, session, seq)
        signal = gr.skip()
        if session is not None and session.page_signals:
            signal, session.page_signals = "\n".join(session.page_signals), []
        return seq_out, status, timer, signal

    @staticmethod
    def _tick_for(session: WebSession, replying: bool) -> Any:
        """The microphone tick: every `REPLYING_TICK_S` while a reply is made or spoken (a barge-in is
        heard that much sooner), every `HANDS_FREE_CHUNK_S` otherwise. An update only when it changes."""
        wanted = REPLYING_TICK_S if replying else HANDS_FREE_CHUNK_S
        if session.tick_s == wanted:
            return gr.skip()
        session.tick_s = wanted
        return gr.Timer(value=wanted, active=True)

    def _while_replying(
        self, session: WebSession, gate: WakeGate | None, listener: Any, samples: np.ndarray, speaking: bool
    ) -> str:
        """No wake word heard while a reply is made or spoken: listen for a spoken stop command, and keep
        the follow-up window from running out while the page speaks. The status line to show."""
        if not session.heard_replying:  # the reply starts: what was heard before it is no stop command
            session.heard_replying = True
            listener.reset()
        if self._heard_stop(session, listener, samples):
            return "Stopped. Listening…"
        if speaking and not session.busy and gate is not None and gate.awake:
            gate.keep_open(session.heard_s)  # the follow-up window starts when it goes quiet
        return "Answering…" if session.busy else "Speaking…"

    def _heard_stop(self, session: WebSession, listener: Any, samples: np.ndarray) -> bool:
        """ "Stop", "cancel", "be quiet"... said while a reply is made or spoken cuts it off, as in
        `assistant talk`; anything else said meanwhile (or the echo cancellation's leftovers) is no request.
        The end-pointer hears the words; their transcript (heard ahead at the pause, or started when the
        utterance ends) is read on a later tick once ready, so this handler never waits for recognition."""
        from assistant.speech.talk import is_stop_command

        for heard in listener.feed(samples) if samples.size else []:
            drop_stop_check(session)
            ahead = heard.heard_ahead
            if ahead is None or not ahead.matches(heard.utterance.audio):
                ahead = Listening(self.pipeline.runtime).hear_ahead(heard.utterance.audio)
            session.stop_check = ahead
        check = session.stop_check
        if check is None or not check.done():
            return False
        session.stop_check = None
        try:
            text = check.result(timeout=0).text
        except Exception:  # cancelled (the pool was full) or the audio held no speech: nothing to act on
            return False
        if not is_stop_command(text):
            log.info("heard while replying, not acted on: %r", text)
            return False
        reply, session.reply = session.reply, None
        if reply is None:
            return False
        turn, cancel = reply
        cancel.cancel("stop")
        session.page_signals.append(stop_signal(turn, session.heard_s))
        log.info("barge-in: %r", text)
        return True

    def _woken(self, session: WebSession, at_s: float) -> None:
        """The wake word was heard: the page plays the earcon (`wake.earcon`), as `assistant talk` does."""
        if self.pipeline.runtime.settings.wake.earcon:
            session.page_signals.append(wake_signal(at_s))

    def _barge_in(
        self, session: WebSession, gate: WakeGate, listener: Any, samples: np.ndarray
    ) -> np.ndarray | None:
        """While a reply is made or spoken: the wake word only (the gate's barge-in mode). Heard, the
        reply's turn is cancelled (its generator and synthesiser stop; it is stored, or marked, as
        interrupted), the page is told to stop playing it, and the audio from just before the word comes
        back for the end-pointer, so the request said after it is taken. None while no wake word."""
        if samples.size == 0:
            return None
        session.heard_s += len(samples) / SAMPLE_RATE
        wake, audio = gate.feed(samples, session.heard_s, speaking=True)
        if wake is None:
            return None
        reply, session.reply = session.reply, None
        if reply is not None:
            turn, cancel = reply
            cancel.cancel("wake")
            session.page_signals.append(stop_signal(turn, wake.at_s))
        session.barged = True
        self._woken(session, wake.at_s)
        drop_stop_check(session)
        listener.reset()
        log.info("barge-in: wake word %s (score %.2f) at %.2f s", wake.name, wake.score, wake.at_s)
        return audio if audio is not None else np.zeros(0, np.float32)

    def _listener(self, session: WebSession) -> Any:
        """This page's end-pointer: hears ahead at pauses and ends whole requests early."""
        if session.listening is None:
            session.listening = Listening(self.pipeline.runtime).endpointer()
        return session.listening

    def _gate(self, session: WebSession) -> WakeGate | None:
        """This page's wake-word gate, or None when the wake word is off (then every utterance is a request)."""
        if session.wake is None:
            session.wake = Listening(self.pipeline.runtime).wake_gate()
            session.heard_s = 0.0
        return session.wake

    def _through_gate(self, session: WebSession, gate: WakeGate, listener: Any, samples: np.ndarray) -> Any:
        """Asleep: only the wake word is listened for (None comes back). Awake: the audio to hand on, from
        a little before the word when it was just said."""
        session.heard_s += len(samples) / SAMPLE_RATE
        now = session.heard_s
        if gate.close_if_idle(now, busy=listener.in_speech):
            listener.reset()
        wake, audio = gate.feed(samples, now)
        if wake is not None:
            listener.reset()
            self._woken(session, wake.at_s)
            log.info("wake word %s (score %.2f) at %.2f s", wake.name, wake.score, wake.at_s)
        return audio

    @friendly
    def on_utterance(
        self,
        session: WebSession | None,
        nlu: str | None,
        generator: str | None,
        voice: str | None,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        if session is None or session.pending_utterance is None:
            yield (gr.skip(),) * TURN_OUTPUTS
            return
        heard, session.pending_utterance = session.pending_utterance, None
        session = ensure_session(session, request, self.pipeline.memory, web_owner(self.settings))
        gate, said = session.wake, None
        if gate is not None:
            said, status = self._wake_request(session, gate, heard)
            if said is None:  # the name alone, or nothing heard: no turn, the gate stays open
                outputs: list[Any] = [gr.skip()] * TURN_OUTPUTS
                outputs[STATUS_OUTPUT] = status
                yield tuple(outputs)
                return
        try:
            yield from self._run_turn(
                session, None, heard.utterance.audio, nlu, generator, voice, True, heard.heard_ahead, said
            )
        finally:
            if gate is not None and session.wake is gate:  # still listening with the same gate
                gate.keep_open(session.heard_s)  # continued conversation: a follow-up needs no name

    def _wake_request(self, session: WebSession, gate: WakeGate, heard: Any) -> tuple[Said | None, str]:
        """(the request's transcript without the wake word in front, or None and the
        status to show when no request was said), as `assistant talk` takes it."""
        from assistant.audio import AudioError, to_speech_samples

        audio = heard.utterance.audio
        runtime = self.pipeline.runtime

        def transcribe() -> Transcript:
            return runtime.recognizer().transcribe(
                to_speech_samples(audio, SAMPLE_RATE, runtime.settings.audio)
            )

        session.busy = True  # nothing new is heard while this utterance is transcribed
        start = time.perf_counter()
        try:
            transcript, was_ahead = use_or_transcribe(heard.heard_ahead, audio, transcribe)
        except AudioError as exc:  # e.g. a cough: the detector fired but no speech was found in it
            return None, f"Didn't catch that ({exc}). Listening…"
        finally:
            session.busy = False
        compute_ms = heard.heard_ahead.compute_ms if was_ahead else (time.perf_counter() - start) * 1000
        said = transcript.text.strip()
        text = without_wake_phrase(said, gate.detector.phrase)  # heard again, or from the gate's lookback
        if not re.search(r"\w", text):  # the name alone, or its tail: wait for the request
            if said != text:
                gate.await_request(session.heard_s)
            return None, "Listening…"
        return Said(replace(transcript, text=text), compute_ms), ""


def drop_stop_check(session: WebSession) -> None:
    """Forget the transcript awaited for a stop command (it is cancelled if it has not run)."""
    check, session.stop_check = session.stop_check, None
    if check is not None:
        check.cancel()


def stop_listening(session: WebSession | None) -> None:
    """The page stopped listening, or its session ended (fit for `gr.State(delete_callback=...)`): what
    this tab's end-pointer heard ahead is cancelled (a transcription not yet started never starts, a
    running one's result is dropped), its wake-word gate is dropped (the next start gets a fresh, sleeping
    one), and nothing new starts until the page sends audio again."""
    if session is None:
        return
    session.wake, session.heard_s = None, 0.0
    session.barged, session.page_signals = False, []
    session.heard_replying, session.tick_s = False, HANDS_FREE_CHUNK_S
    drop_stop_check(session)
    listener = session.listening
    if listener is None:
        return
    try:
        listener.reset()
    except Exception:  # stopping must not fail; the next start resets again
        log.exception("hands-free stop failed")
