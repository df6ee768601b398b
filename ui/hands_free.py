"""Hands-free listening in the Conversation tab: the page's microphone audio, collected on a timer, goes
to this page's end-pointer (`assistant.listening`), and a finished utterance starts a turn."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.listening import Listening
from ui.errors import friendly, user_message
from ui.session import WebSession, ensure_session
from ui.voice import PayloadError, decode_payload

log = logging.getLogger("assistant.ui")

TURN_OUTPUTS = 7  # textbox, chat, reply audio, waterfall, side panel, status, reply stream


class HandsFree:
    """The hands-free handlers of `ConversationTab` (which provides `pipeline` and `_run_turn`)."""

    pipeline: Any

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
            session = ensure_session(session, request, self.pipeline.memory)
            self._listener(session).reset()
        except Exception as exc:
            log.exception("hands-free start failed")
            return gr.skip(), gr.Timer(active=False), f"Not listening: {user_message(exc)}"
        session.pending_utterance = None
        return session, gr.Timer(active=True), "Listening…"

    def on_listen_stop(self, session: WebSession | None) -> tuple[Any, str]:
        stop_listening(session)
        return gr.Timer(active=False), "Not listening."

    def on_listen(self, payload: str | None, session: WebSession | None, seq: int) -> tuple[Any, Any, Any]:
        """Hands-free, every tick: the page's new microphone audio -> the end-pointer.

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
            if session.busy or session.pending_utterance is not None:
                listener.reset()  # one request at a time; what is said meanwhile is not a new request
                return gr.skip(), "Answering…", keep
            if mic.muted:
                listener.reset()  # the page was speaking: do not piece an utterance around its own voice
            if mic.samples.size == 0:
                return gr.skip(), "Speaking…" if mic.muted else gr.skip(), keep
            from assistant.audio import resample

            utterances = listener.feed(resample(mic.samples, mic.rate))
        except PayloadError as exc:
            stop_listening(session)
            return gr.skip(), f"Stopped listening: {exc}.", gr.Timer(active=False)
        except Exception as exc:
            log.exception("hands-free audio failed")
            stop_listening(session)
            return gr.skip(), f"Stopped listening: {user_message(exc)}", gr.Timer(active=False)
        if utterances:
            session.pending_utterance = utterances[-1]
            return (seq or 0) + 1, "Heard you, thinking…", keep
        return gr.skip(), "Listening… (hearing speech)" if listener.in_speech else "Listening…", keep

    def _listener(self, session: WebSession) -> Any:
        """This page's end-pointer: hears ahead at pauses and ends whole requests early."""
        if session.listening is None:
            session.listening = Listening(self.pipeline.runtime).endpointer()
        return session.listening

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
        session = ensure_session(session, request, self.pipeline.memory)
        yield from self._run_turn(
            session, None, heard.utterance.audio, nlu, generator, voice, True, heard.heard_ahead
        )


def stop_listening(session: WebSession | None) -> None:
    """The page stopped listening, or its session ended (fit for `gr.State(delete_callback=...)`): what
    this tab's end-pointer heard ahead is cancelled (a transcription not yet started never starts, a
    running one's result is dropped), and nothing new starts until the page sends audio again."""
    listener = session.listening if session is not None else None
    if listener is None:
        return
    try:
        listener.reset()
    except Exception:  # stopping must not fail; the next start resets again
        log.exception("hands-free stop failed")
