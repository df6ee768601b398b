"""The Conversation tab's layout: its components, placed; `ui.conversation` wires them to the pipeline.

Elements the browser tests and the page's scripts (ui/voice.py) find by id carry an `elem_id`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from assistant.config import Settings
from ui.render import fired_panel, state_panel

HANDS_FREE_CHUNK_S = 0.25  # how often the server collects the page's microphone audio in hands-free mode
REPLYING_TICK_S = 0.1  # ... while a reply is made or spoken: a barge-in ("Alexa", "stop") is heard sooner
TICK_S = 1.0  # how often each page asks for fired alarms


@dataclass
class ConversationWidgets:
    """The tab's components (gradio objects), by role."""

    chatbot: gr.Chatbot
    textbox: gr.Textbox
    send: gr.Button
    mic: gr.Audio
    reply_audio: gr.Audio
    status: gr.Markdown
    listen_start: gr.Button
    listen_stop: gr.Button
    listen_status: gr.Markdown
    listen_payload: gr.Textbox
    reply_stream: gr.Textbox
    page_signal: gr.Textbox
    waterfall: gr.HTML
    nlu: gr.Dropdown
    generator: gr.Dropdown
    voice: gr.Dropdown
    speak_typed: gr.Checkbox
    side_panel: gr.HTML
    fired: gr.HTML
    alarm_audio: gr.Audio
    utterance_seq: gr.State
    tick: gr.Timer
    listen_timer: gr.Timer


def build_conversation_layout(settings: Settings, choices: dict[str, list[str]]) -> ConversationWidgets:
    """Place the tab's components inside the current gradio Blocks and return them."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                elem_id="chat",
                height=440,
                feedback_options=None,
                buttons=["copy"],
                placeholder="Type below or press the microphone and ask: “set a timer for 2 minutes”.",
            )
            with gr.Row():
                textbox = gr.Textbox(
                    placeholder="Type a message and press Enter",
                    show_label=False,
                    elem_id="message",
                    scale=5,
                    max_lines=6,
                    max_length=settings.web.max_text_chars,  # the server checks again (ConversationTab.on_text)
                )
                send = gr.Button("Send", variant="primary", elem_id="send", scale=1, min_width=80)
            with gr.Row():
                mic = gr.Audio(
                    sources=["microphone"],
                    type="filepath",
                    label="Push to talk: record, then stop; the reply is spoken",
                    elem_id="mic",
                    buttons=[],
                )
                reply_audio = gr.Audio(  # the page speaks each sentence as it comes; this replays it
                    label="Spoken reply",
                    autoplay=False,
                    interactive=False,
                    elem_id="reply-audio",
                    buttons=["download"],
                )
            status = gr.Markdown(elem_id="status")
            with gr.Group(elem_id="hands-free"):
                gr.Markdown("**Hands-free:** press start once, then just talk; I answer after each pause.")
                with gr.Row():
                    listen_start = gr.Button("🎙️ Start listening", elem_id="hands-free-start")
                    listen_stop = gr.Button("⏹ Stop listening", elem_id="hands-free-stop")
                listen_status = gr.Markdown("Not listening.", elem_id="listen-status")
            # Carriers between the page's recorder/player (ui/voice.py) and the server; never shown.
            listen_payload = gr.Textbox(visible="hidden", elem_id="listen-payload", max_lines=1)
            reply_stream = gr.Textbox(visible="hidden", elem_id="reply-stream", max_lines=1)
            page_signal = gr.Textbox(visible="hidden", elem_id="page-signal")  # barge-in, earcon (ui.voice)
            waterfall = gr.HTML(label="Latency of the last turn", elem_id="waterfall")
        with gr.Column(scale=1, min_width=260):
            nlu = _picker(choices["nlu"], settings.nlu.model, "NLU model", "pick-nlu", custom=True)
            generator = _picker(
                choices["generator"], settings.generator.backend, "Generator", "pick-generator", custom=True
            )
            voice = _picker(choices["voice"], settings.tts.backend, "Voice", "pick-voice")
            speak_typed = gr.Checkbox(False, label="Speak replies to typed messages too")
            side_panel = gr.HTML(state_panel(None), elem_id="side-panel")
            gr.Markdown("#### ⏰ Alarms")
            fired = gr.HTML(fired_panel([]), elem_id="fired")
            alarm_audio = gr.Audio(
                label="Alarm sound", autoplay=True, interactive=False, elem_id="alarm-audio", buttons=[]
            )
    utterance_seq = gr.State(0)
    tick = gr.Timer(TICK_S)
    listen_timer = gr.Timer(HANDS_FREE_CHUNK_S, active=False)
    return ConversationWidgets(
        chatbot=chatbot,
        textbox=textbox,
        send=send,
        mic=mic,
        reply_audio=reply_audio,
        status=status,
        listen_start=listen_start,
        listen_stop=listen_stop,
        listen_status=listen_status,
        listen_payload=listen_payload,
        reply_stream=reply_stream,
        page_signal=page_signal,
        waterfall=waterfall,
        nlu=nlu,
        generator=generator,
        voice=voice,
        speak_typed=speak_typed,
        side_panel=side_panel,
        fired=fired,
        alarm_audio=alarm_audio,
        utterance_seq=utterance_seq,
        tick=tick,
        listen_timer=listen_timer,
    )


def _picker(choices: list[str], value: str, what: str, elem_id: str, custom: bool = False) -> gr.Dropdown:
    """A per-turn model picker (a name typed in is allowed where `custom`: a saved folder, any GGUF...).
    What is typed is only a request: the runtime decides what it may load (for the NLU model,
    assistant.nlu_models.resolve_model_name: product names and models trained in the NLU lab)."""
    return gr.Dropdown(
        choices, value=value, label=f"{what} (from the next turn)", allow_custom_value=custom, elem_id=elem_id
    )
