"""The Conversation tab: typed chat, push-to-talk, hands-free listening, per-turn latency, alarms, skill state.

All three input paths end in `_run_turn`, which streams one `Pipeline.run` into the chat. Typed turns
stream text as it is generated; spoken turns are also spoken back sentence by sentence as the pipeline
synthesises them (the page's own player, see ui/voice.py), and the whole reply lands in a player to replay.
Hands-free listening uses the page's own recorder too: a timer collects its audio for the pipeline's
end-pointer (which starts recognition at the speaker's pause), and a finished utterance starts a turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from assistant.accounts.doors import web_owner
from assistant.cancel import CancelToken
from assistant.config import Settings
from assistant.events import AudioEvent, TurnRequest
from assistant.text import without_lone_surrogates
from ui.conversation_layout import build_conversation_layout
from ui.errors import friendly
from ui.hands_free import TURN_OUTPUTS, HandsFree
from ui.render import chime, fired_panel, state_panel, waterfall_html
from ui.session import Inbox, WebSession, ensure_conversation, ensure_session
from ui.state import user_state
from ui.turns import TurnView
from ui.voice import JS_PLAY, JS_SIGNAL, JS_STOP, JS_TAKE, ReplyStream, js_start

log = logging.getLogger("assistant.ui")

UPDATE_EVERY_S = 0.05  # the chat's updates during a turn, at most this often (spoken clips go at once)
HANDS_FREE_LIMIT_S = 900  # one hands-free session listens for at most this long


def postprocessed(components: list[Any], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """What Gradio's postprocessing makes of a handler's outputs (for events wired `postprocess=False`):
    each value through its component's `postprocess`, serialised; updates such as `gr.skip()` untouched."""
    from gradio.data_classes import GradioModel, GradioRootModel

    out = []
    for component, value in zip(components, values, strict=True):
        if isinstance(value, dict) and value.get("__type__") == "update":
            out.append(value)
            continue
        value = component.postprocess(value)
        out.append(value.model_dump() if isinstance(value, (GradioModel, GradioRootModel)) else value)
    return tuple(out)


class ConversationTab(HandsFree):
    """Builds the tab's components and wires their events to the shared pipeline."""

    def __init__(
        self, pipeline: Any, settings: Settings, inbox: Inbox, choices: dict[str, list[str]]
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.inbox = inbox
        self.choices = choices

    def build(self, session: gr.State) -> None:
        self.session = session
        self.ui = build_conversation_layout(self.settings, self.choices)
        self._wire()

    def _wire(self) -> None:
        turn_outputs = [
            self.ui.textbox,
            self.ui.chatbot,
            self.ui.reply_audio,
            self.ui.waterfall,
            self.ui.side_panel,
            self.ui.status,
            self.ui.reply_stream,
        ]
        pickers = [self.ui.nlu, self.ui.generator, self.ui.voice]
        limit = (
            self.settings.web.turn_concurrency
        )  # turns at once across all tabs; the rest wait in the queue
        common = {"concurrency_limit": limit, "concurrency_id": "turn", "show_progress": "hidden"}
        self.turn_outputs = turn_outputs
        for trigger in (self.ui.textbox.submit, self.ui.send.click):
            trigger(
                self.on_text_event,
                [self.ui.textbox, self.session, *pickers, self.ui.speak_typed],
                turn_outputs,
                api_visibility="private",
                preprocess=False,  # its inputs are plain text, a checkbox and names: nothing to convert
                postprocess=False,  # `on_text_event` converts its outputs itself (see there)
                **common,
            )
        self.ui.mic.stop_recording(
            self.on_voice,
            [self.ui.mic, self.session, *pickers],
            [*turn_outputs, self.ui.mic],
            api_visibility="private",
            **common,
        )
        self.ui.reply_stream.change(None, [self.ui.reply_stream], None, js=JS_PLAY, api_visibility="private")
        self.ui.page_signal.change(None, [self.ui.page_signal], None, js=JS_SIGNAL, api_visibility="private")
        quiet = {"show_progress": "hidden", "api_visibility": "private"}
        self.ui.listen_start.click(
            self.on_listen_start,
            [self.ui.listen_payload, self.session],
            [self.session, self.ui.listen_timer, self.ui.listen_status],
            js=js_start(HANDS_FREE_LIMIT_S),
            **quiet,
        )
        self.ui.listen_stop.click(
            self.on_listen_stop,
            [self.session],
            [self.ui.listen_timer, self.ui.listen_status],
            js=JS_STOP,
            **quiet,
        )
        self.ui.listen_timer.tick(
            self.on_listen_tick,
            [self.ui.listen_payload, self.session, self.ui.utterance_seq],
            [self.ui.utterance_seq, self.ui.listen_status, self.ui.listen_timer, self.ui.page_signal],
            js=JS_TAKE,  # the page's buffered microphone audio since the last tick becomes the payload
            concurrency_limit=None,  # cheap (VAD only); the turn itself runs in the "turn" group
            **quiet,
        )
        self.ui.utterance_seq.change(
            self.on_utterance, [self.session, *pickers], turn_outputs, api_visibility="private", **common
        )
        self.ui.chatbot.clear(self.on_clear, [self.session], [self.ui.status], api_visibility="private")
        self.ui.tick.tick(
            self.on_tick,
            [self.session],
            [self.ui.fired, self.ui.alarm_audio, self.ui.side_panel],
            concurrency_limit=None,
            show_progress="hidden",
            api_visibility="private",
        )

    # --- handlers -----------------------------------------------------------------------------------

    def on_load(self, session: WebSession) -> tuple[Any, ...]:
        """Fill the tab for a fresh page (called from the app's load event)."""
        return (
            [],
            state_panel(user_state(self.pipeline.memory, session.user_id)),
            fired_panel(session.fired),
        )

    @friendly
    def on_text(
        self,
        text: str,
        session: WebSession | None,
        nlu: str | None,
        generator: str | None,
        voice: str | None,
        speak: bool,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        text = without_lone_surrogates(text or "")
        if not text.strip():
            gr.Warning("Type something first.")
            yield (gr.skip(),) * TURN_OUTPUTS
            return
        limit = self.settings.web.max_text_chars
        if len(text) > limit:
            gr.Warning(f"That message is too long ({len(text):,} characters); keep it under {limit:,}.")
            yield (gr.skip(),) * TURN_OUTPUTS
            return
        session = ensure_session(session, request, self.pipeline.memory, web_owner(self.settings))
        yield from self._run_turn(session, text, None, nlu, generator, voice, bool(speak))

    @friendly
    def on_text_event(
        self,
        text: str,
        session: WebSession | None,
        nlu: str | None,
        generator: str | None,
        voice: str | None,
        speak: bool,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        """`on_text` for the page's Send button and Enter key, with each output converted for the page here
        (`postprocessed`). Gradio would convert each input and output in a thread of its pool, one hop per
        component: a dozen hand-offs of the interpreter lock per typed turn, which under load cost more
        than the skill turn itself."""
        for update in self.on_text(text, session, nlu, generator, voice, speak, request):
            yield postprocessed(self.turn_outputs, update)

    def on_voice(
        self,
        recording: str | None,
        session: WebSession | None,
        nlu: str | None,
        generator: str | None,
        voice: str | None,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        if not recording:
            yield (gr.skip(),) * (TURN_OUTPUTS + 1)
            return
        path = Path(recording)
        limit = self.settings.audio.max_upload_mb * 1024 * 1024
        if path.stat().st_size > limit:
            raise gr.Error(f"That recording is larger than {self.settings.audio.max_upload_mb:g} MB.")
        audio = path.read_bytes()
        path.unlink(missing_ok=True)  # the recording is in memory now; uploads never pile up on disk
        session = ensure_session(session, request, self.pipeline.memory, web_owner(self.settings))
        for update in self._run_turn(session, None, audio, nlu, generator, voice, True):
            yield (*update, gr.skip())
        yield (*(gr.skip(),) * TURN_OUTPUTS, None)  # clear the recorder for the next question

    def on_clear(self, session: WebSession | None) -> str:
        """The chat's clear button starts a new conversation (the old one stays in History)."""
        if session is not None:
            session.messages = []
            session.conversation_id = None
        return ""

    def on_tick(self, session: WebSession | None) -> tuple[Any, Any, Any]:
        """Every second: show and sound alarms that fired for this user; refresh the countdowns."""
        if session is None or session.user_id is None:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            fired = self.inbox.pop(session.user_id)
            state = user_state(self.pipeline.memory, session.user_id)
        except Exception:
            log.exception("alarm poll failed")
            return gr.skip(), gr.skip(), gr.skip()
        panel = state_panel(state) if (state.get("timers") or state.get("reminders") or fired) else gr.skip()
        if not fired:
            return gr.skip(), gr.skip(), panel
        session.fired.extend(fired)
        for _, message in fired:
            gr.Info(message, title="⏰ Alarm", duration=15)
        return fired_panel(session.fired), self._alarm_sound(" ".join(m for _, m in fired)), panel

    # --- the turn -----------------------------------------------------------------------------------

    def _run_turn(
        self,
        session: WebSession,
        text: str | None,
        audio: bytes | np.ndarray | None,
        nlu: str | None,
        generator: str | None,
        voice: str | None,
        speak: bool,
        heard_ahead: Any = None,
        said: Any = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one turn: (textbox, chat, reply audio, waterfall, side panel, status, reply stream).

        Each synthesised sentence goes to the page's player at once (`ReplyStream`); the whole reply
        goes to the replay player at the end.
        """
        memory = self.pipeline.memory
        conversation_id = ensure_conversation(session, memory)
        view = TurnView.start(self._history(session), text)
        spoken = ReplyStream()
        cancel = CancelToken()  # barge-in: the wake word while the page speaks this reply (ui/hands_free.py)
        if speak:
            session.reply = (spoken.turn, cancel)
        session.busy = True
        started = shown_at = time.perf_counter()
        shown = False  # the page got this turn's first update (typed text cleared, the new reply stream)
        try:
            if audio is not None:  # recognition takes a while: show at once that the turn started
                yield "", view.messages, None, gr.skip(), gr.skip(), "", spoken.text if speak else gr.skip()
                shown = True
            request = TurnRequest(
                user=session.user_name,
                user_id=session.user_id,
                text=text if audio is None else None,
                audio=audio,
                conversation_id=conversation_id,
                speak=speak,
                nlu_override=self._override(nlu, self.settings.nlu.model),
                generator_override=self._override(generator, self.settings.generator.backend),
                voice_override=self._override(voice, self.settings.tts.backend),
                heard_ahead=heard_ahead,
                cancel=cancel,
                transcript=said.transcript if said is not None else None,
                transcript_ms=said.compute_ms if said is not None else None,
            )
            for event in self.pipeline.run(request):
                changed = view.apply(event)
                clip = None
                if isinstance(event, AudioEvent) and view.audio and view.sample_rate:
                    clip = spoken.add(view.audio[-1], view.sample_rate)
                # Every update re-sends the chat to the page: a skill turn made six in 10 ms, which cost
                # the web app more than the turn. Text shows at most every UPDATE_EVERY_S (a streamed
                # reply still grows smoothly); each spoken clip goes out at once; the end comes below.
                # A typed turn's first update waits as long: a skill turn (~10 ms) is shown once, whole.
                now = time.perf_counter()
                if not shown and (clip is not None or now - started >= UPDATE_EVERY_S):
                    shown, shown_at = True, now
                    # a new stream id also stops whatever the page is still saying from the previous turn
                    stream = spoken.text if speak else gr.skip()
                    yield "", view.messages, None, gr.skip(), gr.skip(), view.status(), stream
                elif shown and (clip is not None or (changed and now - shown_at >= UPDATE_EVERY_S)):
                    shown_at = now
                    stream = clip if clip is not None else gr.skip()
                    yield gr.skip(), view.messages, gr.skip(), gr.skip(), gr.skip(), view.status(), stream
        finally:
            session.busy = False
        if view.done is not None:
            session.conversation_id = view.done.conversation_id
        session.messages = kept_messages(view.messages, self.settings.web)  # the rest is in History
        chart = waterfall_html(view.spans(), view.total_ms) if view.arrivals else None
        yield (
            "" if not shown else gr.skip(),
            view.messages,
            view.reply_audio(),
            chart if chart is not None else gr.skip(),
            state_panel(user_state(self.pipeline.memory, session.user_id)),
            view.status(),
            spoken.text if speak and not shown else gr.skip(),  # the new stream id stops the last reply
        )

    @staticmethod
    def _history(session: WebSession) -> list[dict[str, Any]]:
        return list(session.messages)

    @staticmethod
    def _override(picked: str | None, default: str) -> str | None:
        picked = (picked or "").strip()
        return picked if picked and picked != default else None

    def _alarm_sound(self, message: str) -> tuple[int, np.ndarray]:
        """The chime, followed by the message spoken in the default voice when speech output works."""
        try:
            synth = self.pipeline.runtime.synthesizer()
            rate, ding = chime(synth.sample_rate)
            spoken = [np.asarray(c.samples, dtype=np.float32).reshape(-1) for c in synth.stream(message)]
            samples = np.concatenate([ding, np.zeros(rate // 4, dtype=np.float32), *spoken])
        except Exception:
            log.warning("alarm speech unavailable; chime only", exc_info=True)
            rate, samples = chime()
        return rate, (np.clip(samples, -1, 1) * 32767).astype(np.int16)


def kept_messages(messages: list[dict[str, Any]], web: Any) -> list[dict[str, Any]]:
    """The newest chat messages within the tab's budget (`web.chat_messages_kept` messages and
    `web.chat_chars_kept` characters), so a tab's memory stays bounded however long it talks."""
    kept: list[dict[str, Any]] = []
    chars = 0
    for message in reversed(messages[-web.chat_messages_kept :]):
        chars += len(str(message.get("content", "")))
        if kept and chars > web.chat_chars_kept:
            break
        kept.append(message)
    return kept[::-1]
