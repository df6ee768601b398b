"""`assistant bench routing`: where open questions go, through the real dialog manager.

An open question ("how does a rainbow form", "what is an LSTM") should reach the dialog generator, not a
skill that answers "I can't read the news". Each set is routed turn by turn through `DialogManager.decide`
with the configured NLU model, against a throwaway memory (skills may act: nothing touches the user's
data), and the share that reached the generator is reported with every miss.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from assistant.config import Settings
from assistant.text import understood_text
from nlu.data import clinc_oos_test
from nlu.ship import OPEN_QUESTIONS, read_lines

REPO = Path(__file__).resolve().parents[2]
# CLINC150's oos test is out of scope for CLINC's intents, not HWU64's: these lines are clear requests an
# HWU64 intent covers (today's headlines, a stock price...), annotated by hand; they are not open questions
CLINC_IN_SCOPE = REPO / "tests" / "natural" / "clinc_oos_test_in_scope.tsv"
NOW = datetime(2026, 3, 11, 10, 15, tzinfo=ZoneInfo("UTC"))  # a fixed Wednesday morning


@dataclass(frozen=True)
class Miss:
    text: str
    routed_to: str  # "skill:<name>"
    detail: str  # which rule or label sent it there


@dataclass(frozen=True)
class RoutingResult:
    name: str
    total: int
    to_generator: int
    misses: list[Miss] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return 100.0 * self.to_generator / self.total if self.total else 0.0


def clinc_in_scope_indices() -> set[int]:
    return {int(line.split("\t", 1)[0]) for line in read_lines(CLINC_IN_SCOPE)}


def default_sets(settings: Settings) -> dict[str, list[str]]:
    """Our held-out open questions; CLINC150's oos test without the lines HWU64 covers, and whole."""
    sets = {"open questions (ours, held out)": read_lines(OPEN_QUESTIONS)}
    clinc = clinc_oos_test(settings.nlu.data_dir)
    if clinc:
        covered = clinc_in_scope_indices()
        sets["CLINC150 oos test, open questions"] = [t for i, t in enumerate(clinc) if i not in covered]
        sets["CLINC150 oos test, all 1,000"] = clinc
    return sets


@dataclass(frozen=True)
class KeptResult:
    """HWU64 test requests the model labelled right and confidently, for an intent a skill serves: the share
    that still reaches a skill. What the dialog manager's own checks ("a clear request for the service")
    cost the requests they must not turn away."""

    total: int
    kept: int
    dropped: list[Miss] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return 100.0 * self.kept / self.total if self.total else 0.0


def route_sets(
    settings: Settings, sets: dict[str, list[str]], model: str | None = None, kept: bool = False
) -> tuple[list[RoutingResult], KeptResult | None]:
    """Route every text of every set through a fresh dialog manager; count what reached the generator.
    With `kept`, also route HWU64's test split (see KeptResult)."""
    from assistant.dialog.manager import DialogManager
    from assistant.memory import open_memory
    from assistant.memory.db import dispose_engine
    from assistant.nlu_models import load_intent_model

    nlu = load_intent_model(model or settings.nlu.model, settings)
    threshold = nlu.threshold  # settings.nlu.threshold, when set, was applied at load
    with tempfile.TemporaryDirectory(prefix="assistant-routing-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'routing.db'}"
        scratch = settings.model_copy(update={"data_dir": Path(tmp), "database_url": url, "timezone": "UTC"})
        memory = open_memory(scratch)
        try:
            manager = DialogManager(memory, scratch)
            user = memory.user("routing-bench")

            def decide(texts: list[str]) -> list:  # (text, intent, decision), each text standing alone
                conversation = memory.start_conversation(user.id)
                understood = [understood_text(text) for text in texts]  # as the pipeline reads them
                out = []
                for text, intent in zip(understood, nlu.predict(understood), strict=True):
                    out.append(
                        (
                            text,
                            intent,
                            manager.decide(text, intent, user.id, conversation.id, threshold, now=NOW),
                        )
                    )
                    manager.clear(user.id, conversation.id)
                return out

            results = []
            for name, texts in sets.items():
                misses = [Miss(t, d.routed_to, d.detail) for t, _, d in decide(texts) if d.result is not None]
                results.append(RoutingResult(name, len(texts), len(texts) - len(misses), misses))
            kept_result = _kept(decide, manager.skill_intents(), threshold, settings) if kept else None
        finally:
            dispose_engine(scratch.database_url)
    return results, kept_result


def _kept(decide, skill_intents: set[str], threshold: float, settings: Settings) -> KeptResult | None:  # type: ignore[no-untyped-def]
    from nlu.data import load_dataset

    try:
        test = load_dataset("hwu64", settings.nlu.data_dir).test
    except ValueError:  # nlu.data.DatasetError: no ../shared/data here
        return None
    total, dropped = 0, []
    for (text, intent, decision), example in zip(decide([ex.text for ex in test]), test, strict=True):
        if (
            example.intent in skill_intents
            and intent.label == example.intent
            and intent.confidence >= threshold
        ):
            total += 1
            if decision.result is None:
                dropped.append(Miss(text, "generator", f"{example.intent}: {decision.reason}"))
    return KeptResult(total, total - len(dropped), dropped)


def print_report(name: str, results: list[RoutingResult], kept: KeptResult | None, show: int) -> None:
    """The table of sets, then up to `show` misses per set and the skill requests turned away."""
    from collections import Counter

    from rich.table import Table

    from assistant.console import console

    table = Table(title=f"Open questions reaching the generator ({name})")
    for column in ("set", "questions", "to generator", "%", "taken by skills (most)"):
        table.add_column(column, justify="left" if column in ("set", "taken by skills (most)") else "right")
    for r in results:
        taken = Counter(m.routed_to.removeprefix("skill:") for m in r.misses).most_common(4)
        table.add_row(
            r.name,
            str(r.total),
            str(r.to_generator),
            f"{r.rate:.2f}",
            ", ".join(f"{s} {n}" for s, n in taken),
        )
    console.print(table)
    for r in results:
        for miss in r.misses[:show]:
            console.print(f"  [dim]{r.name}[/] → {miss.routed_to} ({miss.detail}): {miss.text}")
    if kept is not None:
        console.print(
            f"HWU64 test requests for a skill, labelled right and confidently: {kept.kept:,} of {kept.total:,} "
            f"({kept.rate:.2f}%) still reach a skill"
        )
        for miss in kept.dropped[:show]:
            console.print(f"  [dim]turned away[/] ({miss.detail}): {miss.text}")


def report(name: str, results: list[RoutingResult], kept: KeptResult | None) -> dict:
    from dataclasses import asdict

    return {
        "model": name,
        "sets": [{**asdict(r), "rate": round(r.rate, 2)} for r in results],
        "skill_requests_kept": None if kept is None else {**asdict(kept), "rate": round(kept.rate, 2)},
    }
