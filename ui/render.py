"""Pure functions that turn pipeline data into what the page shows: HTML snippets and chat messages.

Kept apart from the Gradio wiring so they can be unit-tested without a server or a browser. Every piece
of user or model text that lands in HTML goes through `html.escape` first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nlu.types import Intent

# Stages drawn in the latency waterfall, in pipeline order, with the label shown on the chart.
WATERFALL_STAGES: tuple[tuple[str, str], ...] = (
    ("decode", "decode audio"),
    ("asr", "ASR"),
    ("nlu", "NLU"),
    ("skill", "skill"),
    ("generator_first_token", "generator 1st token"),
    ("generator", "generator"),
    ("tts_first_audio", "TTS first audio"),
)


@dataclass(frozen=True)
class StageSpan:
    """One bar of the waterfall: when the stage started and how long it took, ms from the turn start."""

    stage: str
    start_ms: float
    ms: float


def spans_from_arrivals(arrivals: Sequence[tuple[str, float, float]]) -> list[StageSpan]:
    """(stage, duration ms, ms since turn start when its timing event arrived) -> bars.

    A stage ends when its timing event arrives, so it started `duration` earlier. Stages the chart
    does not draw (sub-timings, totals) are dropped.
    """
    wanted = {name for name, _ in WATERFALL_STAGES}
    spans = [
        StageSpan(stage, max(0.0, arrived - ms), ms) for stage, ms, arrived in arrivals if stage in wanted
    ]
    order = {name: i for i, (name, _) in enumerate(WATERFALL_STAGES)}
    return sorted(spans, key=lambda s: (s.start_ms, order[s.stage]))


WATERFALL_COLORS = {
    "decode": "#94a3b8",
    "asr": "#0ea5e9",
    "nlu": "#8b5cf6",
    "skill": "#10b981",
    "generator_first_token": "#fbbf24",
    "generator": "#f59e0b",
    "tts_first_audio": "#ef4444",
}


def waterfall_html(spans: Sequence[StageSpan], total_ms: float | None = None, title: str = "") -> str:
    """The turn's stages as horizontal bars in plain HTML and CSS (`.waterfall` in ui/app.py).

    A matplotlib chart cost 100-160 ms a turn to draw and encode on 2 cores, more than the turn itself;
    bars positioned in percent of the longest time cost well under a millisecond and scale with the page.
    """
    labels = dict(WATERFALL_STAGES)
    end = max([s.start_ms + s.ms for s in spans] + [total_ms or 0.0, 1.0]) * 1.18  # room for the ms text
    heading = title or (f"Turn latency: {total_ms:,.0f} ms total" if total_ms else "Turn latency")
    total = (
        f'<span class="waterfall-total" style="left:{100 * total_ms / end:.2f}%"></span>' if total_ms else ""
    )
    rows = []
    for span in spans:
        left, width = 100 * span.start_ms / end, max(0.4, 100 * span.ms / end)
        color = WATERFALL_COLORS.get(span.stage, "#64748b")
        rows.append(
            f'<div class="waterfall-row"><span class="waterfall-label">'
            f"{html.escape(labels.get(span.stage, span.stage))}</span>"
            f'<span class="waterfall-track">{total}<span class="waterfall-bar" style="left:{left:.2f}%;'
            f'width:{width:.2f}%;background:{color}"></span><span class="waterfall-ms" '
            f'style="left:{min(left + width, 88):.2f}%">{span.ms:,.0f} ms</span></span></div>'
        )
    return (
        f'<div class="waterfall"><div class="waterfall-title">{html.escape(heading)}</div>'
        f'<div class="waterfall-rows">{"".join(rows)}</div>'
        '<div class="waterfall-axis">ms since the turn started</div></div>'
    )


def intent_line(
    intent: Intent,
    routed_to: str,
    threshold: float,
    transcript: str | None = None,
    asr_confidence: float | None = None,
) -> str:
    """The small line shown under a user turn: what was heard, the intent and its confidence, the route."""
    parts: list[str] = []
    if transcript is not None:
        parts.append(f"heard “{html.escape(transcript)}”")
    if asr_confidence is not None:
        parts.append(f"ASR confidence {asr_confidence:.2f}")
    below = " below threshold" if intent.confidence < threshold else ""
    parts.append(
        f'intent <b class="intent-label">{html.escape(intent.label)}</b> '
        f'<span class="intent-confidence">{intent.confidence:.2f}</span>{below}'
    )
    parts.append(f"→ {html.escape(routed_to)}")
    slots = intent.slot_dict()
    if slots:
        parts.append(
            "slots " + ", ".join(f"{html.escape(k)}={html.escape(str(v))}" for k, v in slots.items())
        )
    return '<span class="turn-meta">' + " · ".join(parts) + "</span>"


_MARKDOWN_LINKS = re.compile(r"([\\\[\]()!])")


def as_plain_text(text: str) -> str:
    """Words shown in the chat (which renders markdown and HTML) exactly as written: HTML escaped and
    link/image syntax disarmed, so a reply that echoes `<div style=...>` or `![x](http://host/...)` shows
    those characters instead of covering the page or making the browser fetch another host."""
    return _MARKDOWN_LINKS.sub(r"\\\1", html.escape(text, quote=False))


def assistant_message(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": as_plain_text(text)}


def user_message(text: str, meta: str | None = None, voice: bool = False) -> dict[str, str]:
    """A user chat message; the meta line (intent, transcript) goes under the words."""
    content = ("🎤 " if voice else "") + as_plain_text(text)
    if meta:
        content += "\n\n" + meta
    return {"role": "user", "content": content}


def ago(then: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    seconds = (then - now).total_seconds()
    future = seconds >= 0
    seconds = abs(seconds)
    if seconds < 60:
        text = f"{seconds:.0f} s"
    elif seconds < 3600:
        text = f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    elif seconds < 86400:
        text = f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"
    else:
        text = f"{seconds // 86400:.0f} d"
    return f"in {text}" if future else f"{text} ago"


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def state_panel(state: Mapping[str, Any] | None, now: datetime | None = None) -> str:
    """The side panel: active timers (with countdowns), lists, reminders and remembered facts."""
    if state is None:
        return (
            '<div class="side-panel"><p class="muted">Nothing yet. Try “set a timer for 2 minutes”.</p></div>'
        )
    out = ['<div class="side-panel">']
    timers = state.get("timers") or []
    out.append("<h4>⏱ Timers and alarms</h4>")
    if timers:
        out.append("<ul class='timers'>")
        for timer in timers:
            due = _parse_time(timer.get("due_at"))
            label = html.escape(timer.get("label") or timer.get("kind") or "timer")
            when = ago(due, now) if due else ""
            out.append(f"<li><b>{label}</b> <span class='muted'>{html.escape(when)}</span></li>")
        out.append("</ul>")
    else:
        out.append("<p class='muted'>none</p>")
    lists = state.get("lists") or {}
    out.append("<h4>📝 Lists</h4>")
    if lists:
        for name, items in lists.items():
            out.append(f"<p><b>{html.escape(str(name))}</b></p>")
            if items:
                out.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>")
            else:
                out.append("<p class='muted'>empty</p>")
    else:
        out.append("<p class='muted'>none</p>")
    reminders = state.get("reminders") or []
    out.append("<h4>🔔 Reminders</h4>")
    if reminders:
        out.append("<ul>")
        for reminder in reminders:
            due = _parse_time(reminder.get("due_at"))
            when = f" <span class='muted'>{html.escape(ago(due, now))}</span>" if due else ""
            out.append(f"<li>{html.escape(str(reminder.get('text', '')))}{when}</li>")
        out.append("</ul>")
    else:
        out.append("<p class='muted'>none</p>")
    facts = state.get("facts") or {}
    if facts:
        out.append("<h4>💡 What I know about you</h4><ul>")
        out.extend(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in facts.items())
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def fired_panel(messages: Sequence[tuple[datetime, str]]) -> str:
    """Timers, alarms and reminders that fired in this session, newest first."""
    if not messages:
        return "<div class='fired-panel'><p class='muted'>No alarms yet.</p></div>"
    rows = "".join(
        f"<li class='fired'><span class='muted'>{when.astimezone().strftime('%H:%M:%S')}</span> "
        f"⏰ {html.escape(text)}</li>"
        for when, text in reversed(messages)
    )
    return f"<div class='fired-panel'><ul>{rows}</ul></div>"


def comparison_table(results: Mapping[str, Any], k: int = 3) -> str:
    """NLU lab: one column per model with its top-k intents (confidence bars), slots and latency.

    `results` maps a model name to an object with `intent` (Intent | None), `latency_ms` and `error`.
    """
    if not results:
        return "<p class='muted'>Pick at least one model.</p>"
    cells = []
    for name, result in results.items():
        error = getattr(result, "error", None)
        intent: Intent | None = getattr(result, "intent", None)
        body = [f"<h4>{html.escape(name)}</h4>"]
        if error or intent is None:
            body.append(f"<p class='error'>⚠ {html.escape(error or 'no prediction')}</p>")
        else:
            top = intent.top(k) or [(intent.label, intent.confidence)]
            body.append("<ol class='topk'>")
            for label, p in top:
                width = max(1, round(100 * float(p)))
                body.append(
                    f"<li><span class='label'>{html.escape(label)}</span> "
                    f"<span class='conf'>{float(p):.3f}</span>"
                    f"<div class='bar' style='width:{width}%'></div></li>"
                )
            body.append("</ol>")
            slots = intent.slot_dict()
            slot_text = (
                ", ".join(f"{html.escape(a)}=<i>{html.escape(str(b))}</i>" for a, b in slots.items())
                if slots
                else "<span class='muted'>none</span>"
            )
            body.append(f"<p>slots: {slot_text}</p>")
            body.append(f"<p class='latency'>{float(getattr(result, 'latency_ms', 0.0)):.1f} ms</p>")
        cells.append(f"<div class='nlu-model' data-model='{html.escape(name)}'>{''.join(body)}</div>")
    return f"<div class='nlu-compare'>{''.join(cells)}</div>"


def turns_table(turns: Sequence[Any]) -> str:
    """History search results or a conversation's turns as an HTML table."""
    if not turns:
        return "<p class='muted'>No turns found.</p>"
    rows = []
    for turn in turns:
        when = turn.created_at
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        intent = html.escape(turn.intent or "")
        conf = f" {turn.intent_confidence:.2f}" if turn.intent_confidence is not None else ""
        rows.append(
            "<tr>"
            f"<td>{when.astimezone().strftime('%Y-%m-%d %H:%M')}</td>"
            f"<td>#{turn.conversation_id}</td>"
            f"<td>{'🎤 ' if turn.input_kind == 'voice' else ''}{html.escape(turn.user_text)}</td>"
            f"<td>{html.escape(turn.reply_text)}</td>"
            f"<td>{intent}{conf}</td>"
            "</tr>"
        )
    head = "<tr><th>when</th><th>conv.</th><th>you said</th><th>reply</th><th>intent</th></tr>"
    return f"<table class='turns'>{head}{''.join(rows)}</table>"


def chime(sample_rate: int = 22050) -> tuple[int, np.ndarray]:
    """A short two-tone alarm chime (played in the page when a timer fires)."""
    t = np.arange(int(0.18 * sample_rate)) / sample_rate
    envelope = np.minimum(1.0, 20 * t) * np.exp(-6 * t)
    tones = [np.sin(2 * np.pi * f * t) * envelope for f in (880.0, 1320.0, 880.0, 1320.0)]
    gap = np.zeros(int(0.05 * sample_rate))
    samples = np.concatenate([x for tone in tones for x in (tone, gap)]) * 0.5
    return sample_rate, samples.astype(np.float32)
