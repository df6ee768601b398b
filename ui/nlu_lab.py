"""The NLU lab tab: one utterance through several intent models side by side, the latest comparison
report, and training a model from the page.

The shipped models are ready on first start, and so is their report (nlu/shipped/REPORT.md) until a
comparison of your own replaces it. The fine-tuned MiniLM is trained once by a command the picker names;
picking it before that says so instead of training (loading never trains).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.text import understood_text
from nlu.types import Intent
from ui.claims_lab import ClaimsLab
from ui.errors import friendly, user_message
from ui.render import comparison_table

log = logging.getLogger("assistant.ui")

DATASETS = ("hwu64", "clinc150", "snips", "atis", "banking77")
MAX_PER_INTENT = 10_000  # more than any dataset has; the form refuses anything beyond (e.g. 1e308)
TRAIN_CONCURRENCY = 1  # training is CPU-heavy: one at a time for the whole server


@dataclass(frozen=True)
class NLUComparison:
    intent: Intent | None
    latency_ms: float
    error: str | None = None


def compare_models(runtime: Runtime, text: str, names: list[str]) -> dict[str, NLUComparison]:
    """The same utterance, read as a turn reads it, through several NLU models; one broken model shows its
    error without hiding the others. Each name is checked as a turn's is (`Runtime.nlu_model`): the page's
    choices are product names and folders the lab saved, and a name sent twice is read once."""
    cleaned = understood_text(text)
    results: dict[str, NLUComparison] = {}
    for name in dict.fromkeys(names):
        try:
            model = runtime.nlu_model(name)
            start = time.perf_counter()
            intent = model.predict([cleaned])[0]
            results[name] = NLUComparison(intent, (time.perf_counter() - start) * 1000)
        except Exception as exc:
            results[name] = NLUComparison(None, 0.0, f"{type(exc).__name__}: {exc}")
    return results


def trained_names(settings: Settings, names: list[str]) -> list[str]:
    """Product models that are ready to load: shipped, or trained once on this machine."""
    from nlu.shipped import is_ready

    return [n for n in names if is_ready(n, settings.cache_dir)]


def not_ready_note(settings: Settings, names: list[str]) -> str:
    from nlu.shipped import CATALOG

    ready = set(trained_names(settings, names))
    missing = [n for n in names if n not in ready and n in CATALOG]
    return " ".join(
        f"`{n}` ({CATALOG[n].description}): train it once with `assistant nlu train --product {n}`."
        for n in missing
    )


def registry_names() -> list[str]:
    from nlu.registry import models

    return models.names()


def web_models_dir(settings: Settings) -> Path:
    """Where models trained from the page are saved (never over the assistant's own cached models)."""
    return Path(settings.cache_dir).expanduser() / "nlu" / "web"


def saved_models(settings: Settings) -> list[Path]:
    folder = web_models_dir(settings)
    return sorted(p for p in folder.iterdir() if (p / "config.json").is_file()) if folder.is_dir() else []


def latest_report(folder: Path) -> tuple[str, list[str]]:
    """The Markdown of the latest `assistant nlu compare` report and its plot files; before any, the
    report measured on the shipped models."""
    from nlu.ship import REPORT_MD

    md = folder / "results.md"
    if not md.is_file():
        shipped = REPORT_MD.read_text(encoding="utf-8") if REPORT_MD.is_file() else ""
        return (
            f"{shipped}\n\n*No comparison of your own yet in `{folder}`: `assistant nlu compare` "
            "trains and measures models on the five benchmark sets (a quick one: "
            "`assistant nlu compare --seeds 1 --per-intent 20`).*",
            [],
        )
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(md.stat().st_mtime))
    text = f"*Report `{md}` from {stamp}*\n\n" + md.read_text(encoding="utf-8", errors="replace")
    plots = sorted(str(p) for p in folder.glob("*.png"))
    return text, plots


class NLULabTab:
    def __init__(self, pipeline: Any, settings: Settings, nlu_names: list[str]) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.names = nlu_names

    def build(self) -> None:
        ready = trained_names(self.settings, self.names)
        default = [n for n in ready] or [self.settings.nlu.model]
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.utterance = gr.Textbox(
                    label="Utterance",
                    placeholder="wake me up at seven tomorrow",
                    elem_id="lab-utterance",
                )
                self.mic = gr.Audio(
                    sources=["microphone"], type="filepath", label="…or say it", elem_id="lab-mic", buttons=[]
                )
            with gr.Column(scale=2):
                self.models = gr.CheckboxGroup(
                    self.names + [str(p) for p in saved_models(self.settings)],
                    value=default,
                    label="Models to compare",
                    info="Ready: "
                    + (", ".join(ready) or "none")
                    + ". "
                    + not_ready_note(self.settings, self.names),
                    elem_id="lab-models",
                )
                self.compare = gr.Button("Compare", variant="primary", elem_id="lab-compare")
        self.results = gr.HTML(elem_id="lab-results")
        with gr.Accordion("NLU comparison report", open=False):
            self.refresh = gr.Button("Reload report", size="sm")
            self.report = gr.Markdown(elem_id="lab-report")
            self.plots = gr.Gallery(label="Plots", columns=2, height="auto", elem_id="lab-plots")
        self.claims = ClaimsLab(self.pipeline.runtime, self.settings, self.heard)
        self.claims.build()
        with gr.Accordion("Train a model", open=False):
            with gr.Row():
                self.train_model = gr.Dropdown(registry_names(), value=registry_names()[0], label="Model")
                self.train_data = gr.Dropdown(list(DATASETS), value="hwu64", label="Dataset")
                self.train_per_intent = gr.Number(
                    None,
                    label="At most N examples per intent (blank = all)",
                    precision=0,
                    minimum=1,
                    maximum=MAX_PER_INTENT,
                )
            self.train_button = gr.Button("Train", elem_id="lab-train")
            self.train_result = gr.Markdown(elem_id="lab-train-result")
        self._wire()

    def _wire(self) -> None:
        for trigger in (self.compare.click, self.utterance.submit):
            trigger(
                self.on_compare,
                [self.utterance, self.models],
                [self.results],
                concurrency_limit=2,
                concurrency_id="nlu-compare",
                api_visibility="private",
            )
        self.mic.stop_recording(
            self.on_speak,
            [self.mic, self.models],
            [self.utterance, self.results, self.mic],
            concurrency_limit=2,
            concurrency_id="nlu-compare",
            api_visibility="private",
        )
        self.refresh.click(self.on_report, None, [self.report, self.plots], api_visibility="private")
        self.claims.wire()
        self.train_button.click(
            self.on_train,
            [self.train_model, self.train_data, self.train_per_intent],
            [self.train_result, self.models],
            concurrency_limit=TRAIN_CONCURRENCY,
            concurrency_id="nlu-train",
            api_visibility="private",
        )

    def on_report(self) -> tuple[str, list[str]]:
        return latest_report(self.settings.nlu.reports_dir)

    @friendly
    def on_compare(self, text: str, names: list[str]) -> str:
        text = (text or "").strip()
        if not text:
            raise gr.Error("Type or say an utterance first.")
        if not names:
            raise gr.Error("Pick at least one model to compare.")
        if len(text) > 2000:
            gr.Warning("Long utterance: the models read the first 2,000 characters.")
        return comparison_table(compare_models(self.pipeline.runtime, text, list(names)))

    @friendly
    def on_speak(self, recording: str | None, names: list[str]) -> tuple[Any, Any, Any]:
        if not recording:
            return gr.skip(), gr.skip(), gr.skip()
        text = self.heard(recording)
        return text, self.on_compare(text, names), None

    def heard(self, recording: str) -> str:
        """The words of a recording from the page (the claims probe hears the same way)."""
        from assistant.audio import load_audio

        samples = load_audio(Path(recording), self.settings.audio, name="recording")
        text = self.pipeline.runtime.recognizer().transcribe(samples).text.strip()
        if not text:
            raise gr.Error("I heard sound but no words. Please try again.")
        return text

    @friendly
    def on_train(
        self, model: str, data: str, per_intent: float | None, progress: gr.Progress = gr.Progress()
    ) -> tuple[str, Any]:
        """Train in a worker thread; the page shows which phase it is in and for how long."""
        if not model or model not in registry_names():
            raise gr.Error(f"Pick a model to train: one of {', '.join(registry_names())}.")
        if data and data not in DATASETS:
            raise gr.Error(f"Pick a dataset: one of {', '.join(DATASETS)}.")
        if per_intent is not None and not (
            isinstance(per_intent, int | float)
            and math.isfinite(per_intent)
            and 1 <= per_intent <= MAX_PER_INTENT
        ):
            raise gr.Error(
                f"Examples per intent must be a whole number from 1 to {MAX_PER_INTENT:,} (or blank)."
            )
        job = _TrainingJob(self.settings, model, data or "hwu64", int(per_intent) if per_intent else None)
        job.start()
        while job.is_alive():
            elapsed = time.perf_counter() - job.started
            progress(job.fraction, desc=f"{job.phase}{job.detail} ({elapsed:.0f} s)")
            job.join(timeout=0.5)
        if job.error is not None:
            raise gr.Error(user_message(job.error))
        progress(1.0, desc="done")
        choices = self.names + [str(p) for p in saved_models(self.settings)]
        return job.summary, gr.update(choices=choices)


class _TrainingJob(threading.Thread):
    """One training run: dataset, fit, test scores, save (same steps as `assistant nlu train`)."""

    PHASES = {"loading data": 0.05, "training": 0.15, "evaluating": 0.85, "saving": 0.95}

    def __init__(self, settings: Settings, model: str, data: str, per_intent: int | None) -> None:
        super().__init__(daemon=True, name=f"train-{model}")
        self.settings = settings
        self.model = model
        self.data = data
        self.per_intent = per_intent
        self.phase = "starting"
        self.detail = ""  # e.g. " · epoch 2 of up to 12" while training
        self.steps = (0, 0)  # optimiser steps done / planned
        self.started = time.perf_counter()
        self.error: BaseException | None = None
        self.summary = ""
        self.folder: Path | None = None

    @property
    def fraction(self) -> float:
        """Training fills its share of the bar step by step; the other phases are quick."""
        done, planned = self.steps
        if self.phase == "training" and planned:
            start, end = self.PHASES["training"], self.PHASES["evaluating"]
            return start + (end - start) * done / planned
        return self.PHASES.get(self.phase, 0.0)

    def _on_step(self, done: int, planned: int, status: str) -> None:
        self.steps = (done, planned)
        self.detail = f" · {status}"

    def run(self) -> None:
        try:
            self._train()
        except BaseException as exc:  # reported to the page by the handler
            log.exception("training %s failed", self.model)
            self.error = exc

    def _train(self) -> None:
        from nlu.data import load_dataset, subsample
        from nlu.evaluate import evaluate
        from nlu.registry import create

        self.phase = "loading data"
        dataset = load_dataset(self.data, self.settings.nlu.data_dir)
        if self.per_intent:
            dataset = subsample(dataset, self.per_intent, 0)
        net = create(
            self.model, device=self.settings.resolved_device(), cache_dir=self.settings.cache_dir, seed=0
        )
        net.on_step = self._on_step
        self.phase = "training"
        history = net.fit(dataset)
        self.phase, self.detail = "evaluating", ""
        result = evaluate(net, dataset) if dataset.test else None
        self.phase = "saving"
        folder = web_models_dir(self.settings) / (
            f"{self.model}-{Path(self.data).name}"
            + (f"-{self.per_intent}-per-intent" if self.per_intent else "")
        )
        net.save(folder)
        self.folder = folder
        lines = [
            f"**Trained `{self.model}` on {dataset.name}** in {history.get('train_seconds', 0):.1f} s "
            f"({len(dataset.train)} examples, {len(dataset.labels)} intents).",
            f"Saved to `{folder}`: it is now in the models to compare, and you can type that folder "
            "into the NLU box of the Conversation tab.",
        ]
        if result is not None:
            scores = result.to_dict()
            shown = {
                k: v for k, v in scores.items() if isinstance(v, float) and k in ("accuracy", "macro_f1")
            }
            lines.append(" · ".join(f"test {k.replace('_', ' ')} {v:.3f}" for k, v in shown.items()))
        self.summary = "\n\n".join(lines)
