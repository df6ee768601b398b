"""The live probe of the claims section: one request followed by more and more filler words (its distance
from the end grows, as claim 2 measures), through the shipped LSTM and Transformer, with each model's
reading and latency.

The filler is the first lines of the packaged out-of-scope data (nlu/data/oos), in order: real sentences,
the same on every machine, and labelled `oos`, so a model that reads only filler should say `oos`. The
models were trained on single requests; this shows how each architecture copes with input it never saw.
Each model reads a message as a turn does (`understood_text`, then the first `MAX_WORDS` words), so the
request, coming first, is always read, and the filler only up to that cap; the table says how much. Beside each reading is
the probability the model still gives the intent it reads in the request alone: how much of the request
survives the filler.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.runtime import Runtime
from assistant.text import understood_text
from nlu.data import PACKAGED
from nlu.tokenize import MAX_WORDS, words

OOS_DIR = PACKAGED / "oos"
PROBE_MODELS = ("lstm", "transformer")
FILLER_LENGTHS = (0, 16, 64, 256)
RUNS = 3  # latency is the median of this many calls
DEFAULT_REQUEST = "set an alarm for seven tomorrow morning"
_ALL = 10**9  # no word cap: count every word


class ProbeInputError(ValueError):
    """A request the probe cannot use (empty, too long); the message says what to do."""


@dataclass(frozen=True)
class ProbeRow:
    model: str
    filler_words: int
    words_read: int  # of the whole input, after the model's word cap
    request_read: int  # how many of the request's words are among those read
    request_words: int
    label: str | None = None
    confidence: float = 0.0
    latency_ms: float = 0.0  # median of RUNS calls
    bare_label: str | None = None  # the model's intent for the request alone
    bare_p: float = 0.0  # the probability this input still gives that intent
    error: str | None = None


def _oos_lines(folder: Path) -> Iterator[str]:
    """Every `seq.in` line under `folder`, split folders in name order (train before valid), file order."""
    for path in sorted(folder.rglob("seq.in")):
        with path.open(encoding="utf-8") as lines:
            yield from (line.strip() for line in lines if line.strip())


@lru_cache(maxsize=8)
def filler(n: int, folder: Path = OOS_DIR) -> str:
    """The first `n` words of the out-of-scope sentences, joined in order (deterministic, no randomness)."""
    taken: list[str] = []
    for line in _oos_lines(folder):
        if len(taken) >= n:
            break
        taken += line.split()
    if len(taken) < n:
        raise ProbeInputError(f"{folder} holds {len(taken)} filler words; the probe needs {n}.")
    return " ".join(taken[:n])


def checked_request(text: str | None, max_chars: int) -> str:
    """The request stripped; a clear message for nothing to read or too much."""
    text = (text or "").strip()
    if not text or not understood_text(text).strip():
        raise ProbeInputError("Type or say a request to probe first.")
    if len(text) > max_chars:
        raise ProbeInputError(
            f"That request is {len(text):,} characters; the probe takes at most {max_chars:,}."
        )
    return text


def _timed(model, text: str, runs: int):
    times, intent = [], None
    for _ in range(runs):
        start = time.perf_counter()
        intent = model.predict([text])[0]
        times.append((time.perf_counter() - start) * 1000)
    return intent, statistics.median(times)


def probe(
    runtime: Runtime,
    text: str,
    *,
    max_chars: int,
    models: Sequence[str] = PROBE_MODELS,
    lengths: Sequence[int] = FILLER_LENGTHS,
    runs: int = RUNS,
) -> list[ProbeRow]:
    """One row per model and filler length; a model that fails shows its error without hiding the other."""
    request = checked_request(text, max_chars)
    request_words = len(words(understood_text(request), _ALL))
    inputs = []
    for n in lengths:
        read = understood_text(f"{request} {filler(n)}" if n else request)
        seen = min(len(words(read, _ALL)), MAX_WORDS)
        inputs.append((n, read, seen, min(request_words, seen)))
    rows: list[ProbeRow] = []
    for name in dict.fromkeys(models):
        try:
            model = runtime.nlu_model(name)
            # the request alone; also the warm-up: the first call after loading pays one-off costs
            bare = model.predict([request])[0]
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            rows += [ProbeRow(name, n, seen, got, request_words, error=error) for n, _, seen, got in inputs]
            continue
        for n, read, seen, got in inputs:
            intent, ms = _timed(model, read, runs)
            p = intent.distribution.get(bare.label, 1.0 if intent.label == bare.label else 0.0)
            rows.append(
                ProbeRow(
                    name, n, seen, got, request_words, intent.label, intent.confidence, ms, bare.label, p
                )
            )
    return rows


def probe_table(rows: list[ProbeRow]) -> str:
    """Markdown: the caption that says what the probe shows, then one row per model and filler length."""
    caption = (
        f"The request, then N words of filler after it (the first lines of nlu/data/oos, open questions "
        f"labelled `oos`), so the request's distance from the end grows. The models were trained on single "
        f"requests, so this shows how each architecture copes with input it never saw. Each reads the first "
        f"{MAX_WORDS} words of a message. Latency: median of {RUNS} calls on this server, right now."
    )
    lines = [
        caption,
        "",
        "| model | filler words | words read (of the request) | intent | confidence "
        "| p(the request's own intent) | latency ms |",
        "|---|---:|---|---|---:|---|---:|",
    ]
    for r in rows:
        read = f"{r.words_read} ({r.request_read} of {r.request_words})"
        if r.error is not None:
            message = " ".join(r.error.split()).replace("|", "\\|")[:300]
            lines.append(f"| {r.model} | {r.filler_words} | {read} | error: {message} | – | – | – |")
            continue
        label = f"`{r.label}`" + (" (changed)" if r.label != r.bare_label else "")
        lines.append(
            f"| {r.model} | {r.filler_words} | {read} | {label} | {r.confidence:.2f} "
            f"| {r.bare_p:.2f} (`{r.bare_label}`) | {r.latency_ms:.2f} |"
        )
    return "\n".join(lines)
