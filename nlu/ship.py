"""`assistant nlu ship` (maintainers): rebuild the product's shipped intent models in `nlu/shipped/`.

Steps: the static word vectors of every word the models can meet (the product dataset's words and MiniLM's
general vocabulary), each shipped model trained on the product dataset, a small report measured on the
held-out sets, and the manifest: every file's SHA-256 plus the SHA-256 of `assistant nlu predict --json`
over `probe.txt` for each model, which a test compares on every machine.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nlu.calibrate import FALLBACK, route
from nlu.data import PRODUCT_DATASET, clinc_oos_test, load_dataset
from nlu.shipped import CATALOG, PROBE, SHIPPED_DIR, shipped_folder, write_manifest

if TYPE_CHECKING:
    from nlu.types import IntentModel

OPEN_QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "natural" / "open_questions.txt"
REPORT_MD = SHIPPED_DIR / "REPORT.md"
REPORT_JSON = SHIPPED_DIR / "report.json"


def prediction_lines(model: IntentModel, texts: list[str]) -> list[str]:
    """`assistant nlu predict --json` output, one JSON object per text (the checksummed format)."""
    lines = []
    for text, intent in zip(texts, model.predict(texts), strict=True):
        routed = route(intent, model.threshold)
        record = {
            "text": text,
            "intent": intent.label,
            "confidence": round(intent.confidence, 4),
            "slots": intent.slot_dict(),
            "routed": routed,
            "fallback": routed == FALLBACK,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def predictions_sha256(model: IntentModel, texts: list[str]) -> str:
    return hashlib.sha256(("\n".join(prediction_lines(model, texts)) + "\n").encode("utf-8")).hexdigest()


def probe_texts() -> list[str]:
    return [line for line in PROBE.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_lines(path: Path) -> list[str]:
    """Non-empty lines that are not `# ` comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


VECTOR_MODELS = {"lstm", "transformer"}  # registry models that read the shipped static vectors


def build_vectors(cache_dir: Path) -> int:
    """The shipped static vectors: every word the product models' tokenizer holds."""
    from nlu.embeddings import (
        STATIC_DIR,
        StaticVectors,
        distilled_vectors,
        general_vocabulary,
        shipped_vectors,
    )
    from nlu.tokenize import Tokenizer

    data = load_dataset(PRODUCT_DATASET)
    words = Tokenizer.build([ex.text for ex in data.train], extra=general_vocabulary()).vocab[2:]
    raw = distilled_vectors(words, cache_dir)
    import numpy as np

    StaticVectors.quantize(words, np.stack([raw[w] for w in words])).save(STATIC_DIR)
    write_manifest({})  # the vectors are verified against the manifest when the models train
    shipped_vectors.cache_clear()
    return len(words)


@dataclass(frozen=True)
class ShippedScore:
    """One shipped model measured on the sets a user cares about (percentages)."""

    name: str
    hwu64_accuracy: float  # HWU64 test, arg-max label ("oos" counts as wrong)
    open_to_generator: float | None  # our held-out open questions routed to the generator
    clinc_oos_to_generator: float | None  # CLINC150's oos test routed to the generator
    crossset_macro: float | None  # CLINC150 + SNIPS utterances of intents mapped to HWU64 (nlu.crossset)
    crossset_in_scope: float | None  # the same with `oos` set aside: the best of the 64 HWU64 labels
    parameters: int
    latency_p50_ms: float
    train_seconds: float


def fallback_rate(model: IntentModel, texts: list[str]) -> float:
    return 100.0 * sum(route(i, model.threshold) == FALLBACK for i in model.predict(texts)) / len(texts)


def score(name: str, model: IntentModel, train_seconds: float) -> ShippedScore:
    from nlu import crossset
    from nlu.evaluate import evaluate

    result = evaluate(model, load_dataset("hwu64"))
    cross = cross_in_scope = None
    if crossset.available():
        measured = crossset.evaluate_crossset(model, crossset.load_crossset("test"))
        cross, cross_in_scope = round(100 * measured.macro, 2), round(100 * measured.macro_in_scope, 2)
    open_questions = read_lines(OPEN_QUESTIONS) if OPEN_QUESTIONS.is_file() else []
    clinc_oos = clinc_oos_test()
    return ShippedScore(
        name,
        round(100 * result.accuracy, 2),
        round(fallback_rate(model, open_questions), 2) if open_questions else None,
        round(fallback_rate(model, clinc_oos), 2) if clinc_oos else None,
        cross,
        cross_in_scope,
        int(model.num_parameters()),
        round(result.latency_p50_ms, 2),
        round(train_seconds, 1),
    )


def write_report(scores: list[ShippedScore]) -> str:
    machine = f"{platform.processor() or platform.machine()}, {_cores()} cores"
    rows = [
        "| model | HWU64 test acc % | open questions → generator % | CLINC150 oos test → generator % "
        "| cross-set % | cross-set, oos set aside % | parameters | p50 ms / utterance | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        rows.append(
            f"| {s.name} | {s.hwu64_accuracy:.2f} | {_pct(s.open_to_generator)} | "
            f"{_pct(s.clinc_oos_to_generator)} | {_pct(s.crossset_macro)} | {_pct(s.crossset_in_scope)} | "
            f"{s.parameters:,} | "
            f"{s.latency_p50_ms:.2f} | "
            f"{s.train_seconds:.0f} |"
        )
    text = "\n".join(
        [
            "# Shipped NLU models",
            "",
            f"Measured by `assistant nlu ship` on {time.strftime('%Y-%m-%d')} ({machine}). Every model is "
            "trained on the product dataset (HWU64 + the `oos` class, nlu/data/oos). HWU64 test: arg-max "
            "label, `oos` counts as wrong. Open questions: tests/natural/open_questions.txt (held out, "
            "never trained on). Generator: the model says `oos` or is below its threshold (the model "
            "alone; `assistant bench routing` adds the dialog manager). Cross-set: CLINC150 and SNIPS test "
            "utterances whose intent maps to an HWU64 label, macro over the two (`assistant nlu crossset`; "
            '`oos` counts as wrong; "oos set aside": the best of the 64 HWU64 labels, the measure a model '
            "without an `oos` class gets). Latency is this machine's; compare models by ratio.",
            "",
            *rows,
            "",
        ]
    )
    REPORT_MD.write_text(text, encoding="utf-8")
    REPORT_JSON.write_text(json.dumps([asdict(s) for s in scores], indent=2) + "\n", encoding="utf-8")
    return text


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ship(
    names: list[str],
    *,
    cache_dir: Path,
    device: str = "cpu",
    data_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[ShippedScore]:
    """Rebuild the named shipped models (vectors first; none: only measure), the report and the manifest.

    `cache_dir` holds the distilled word vectors; `data_dir` the product dataset (None: the default)."""
    from nlu.registry import load_folder, train_product

    unknown = [n for n in names if n not in CATALOG or not CATALOG[n].shipped]
    if unknown:
        raise ValueError(
            f"Not shipped models: {unknown}; shipped: {[n for n, m in CATALOG.items() if m.shipped]}"
        )
    if any(CATALOG[n].model in VECTOR_MODELS for n in names):  # distilling differs in the last bits per CPU
        log(f"static word vectors: {build_vectors(Path(cache_dir).expanduser()):,} words")
    previous = {s["name"]: s for s in json.loads(REPORT_JSON.read_text())} if REPORT_JSON.is_file() else {}
    seconds = {name: float(s.get("train_seconds", 0.0)) for name, s in previous.items()}
    for name in names:
        started = time.perf_counter()
        train_product(name, cache_dir=cache_dir, device=device, data_dir=data_dir, out=shipped_folder(name))
        seconds[name] = time.perf_counter() - started
        log(f"trained {name} in {seconds[name]:.0f} s")
    write_manifest({})
    scores: dict[str, ShippedScore] = {}
    for name, entry in CATALOG.items():  # every shipped model is measured again by today's code
        if entry.shipped and (shipped_folder(name) / "config.json").is_file():
            scores[name] = score(name, load_folder(shipped_folder(name)), seconds.get(name, 0.0))
            log(f"{name}: {scores[name]}")
    ordered = list(scores.values())
    write_report(ordered)
    predictions = {n: predictions_sha256(load_folder(shipped_folder(n)), probe_texts()) for n in scores}
    write_manifest(predictions)
    return ordered
