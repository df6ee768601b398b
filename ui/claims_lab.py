"""The NLU lab's "Transformer vs LSTM" section: the latest claims report (verdicts, plots, the whole text)
and a live probe that puts a request after growing filler and shows each model's reading and latency.

The logic lives in ui.claims_report and ui.claims_probe (callable without a browser); this module only lays
the section out and wires its events.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.runtime import Runtime
from ui.claims_probe import DEFAULT_REQUEST, ProbeInputError, probe, probe_table
from ui.claims_report import claims_view
from ui.errors import friendly


def _images(plots: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """The plots as images, not paths: the server may only send files from its own folders, and the
    shipped report lives inside the installed package."""
    from PIL import Image

    shown = []
    for path, caption in plots:
        with Image.open(path) as image:
            shown.append((image.copy(), caption))
    return shown


class ClaimsLab:
    """Built inside the NLU lab tab; `hear` turns a recording into text (the lab's own transcription)."""

    def __init__(self, runtime: Runtime, settings: Settings, hear: Callable[[str], str]) -> None:
        self.runtime = runtime
        self.settings = settings
        self.hear = hear

    def build(self) -> None:
        with gr.Accordion(
            "Transformer vs LSTM: the article's claims", open=False, elem_id="lab-claims"
        ) as self.section:
            self.reload = gr.Button("Reload report", size="sm")
            self.summary = gr.Markdown(elem_id="lab-claims-summary")
            self.plots = gr.Gallery(
                label="Plots", columns=2, height="auto", format="png", elem_id="lab-claims-plots"
            )
            with gr.Accordion("The whole report", open=False):
                self.details = gr.Markdown(elem_id="lab-claims-details")
            gr.Markdown("#### Live probe: one request after more and more filler")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    self.request = gr.Textbox(
                        DEFAULT_REQUEST, label="Request", max_lines=3, elem_id="lab-claims-request"
                    )
                    self.mic = gr.Audio(
                        sources=["microphone"],
                        type="filepath",
                        label="…or say it",
                        elem_id="lab-claims-mic",
                        buttons=[],
                    )
                with gr.Column(scale=1):
                    self.probe_button = gr.Button("Probe", variant="primary", elem_id="lab-claims-probe")
            self.probe_result = gr.Markdown(elem_id="lab-claims-result")

    def wire(self) -> None:
        report = [self.summary, self.plots, self.details]
        self.section.expand(self.on_report, None, report, api_visibility="private")
        self.reload.click(self.on_report, None, report, api_visibility="private")
        for trigger in (self.probe_button.click, self.request.submit):
            trigger(
                self.on_probe,
                [self.request],
                [self.probe_result],
                concurrency_limit=2,
                concurrency_id="nlu-compare",
                api_visibility="private",
            )
        self.mic.stop_recording(
            self.on_speak,
            [self.mic],
            [self.request, self.probe_result, self.mic],
            concurrency_limit=2,
            concurrency_id="nlu-compare",
            api_visibility="private",
        )

    @friendly
    def on_report(self) -> tuple[str, list[tuple[Any, str]], str]:
        view = claims_view(self.settings.nlu.reports_dir)
        return view.markdown, _images(view.plots), view.details

    @friendly
    def on_probe(self, text: str) -> str:
        try:
            rows = probe(self.runtime, text, max_chars=self.settings.web.max_text_chars)
        except ProbeInputError as exc:  # the person's input, not a bug: no traceback in the log
            raise gr.Error(html.escape(str(exc)), print_exception=False) from None
        return probe_table(rows)

    @friendly
    def on_speak(self, recording: str | None) -> tuple[Any, Any, Any]:
        if not recording:
            return gr.skip(), gr.skip(), gr.skip()
        text = self.hear(recording)
        return text, self.on_probe(text), None
