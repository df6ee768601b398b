"""`assistant bench recall`: questions about details said 40+ turns back, in an earlier conversation, asked
after a restart, with the generator's recall of earlier turns on and off.

Each scripted user's history is stored as the pipeline stores it (turns with their request vectors); the
database is copied once per condition so neither run sees the other's question. Measured per condition:
the share of questions whose prompt holds the detail (retrieval recall), the share whose reply names it,
and the time from the request to the first generated token (encoding + recall read + first token).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.bench.recall_script import ScriptedConversation, scripted_conversations
from assistant.config import Settings
from assistant.dialog.types import Message


@dataclass(frozen=True)
class RecallResult:
    question: str
    detail: tuple[str, ...]
    turns_back: int
    in_prompt: bool
    in_reply: bool
    reply: str
    routed_to: str
    first_token_ms: float | None  # request -> first generated token (recall's encode and read included)
    recall_ms: float  # encode + read


class _RecordingGenerator:
    """The configured generator, keeping the last prompt it was given."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name = inner, getattr(inner, "name", "generator")
        self.last: list[Message] = []

    def stream(self, messages: list[Message]) -> Iterator[str]:
        self.last = list(messages)
        return self.inner.stream(messages)


def build_histories(settings: Settings, scripts: list[ScriptedConversation]) -> list[int]:
    """Store every scripted history (turns and vectors) in `settings`' database; the users' ids."""
    from assistant.dialog.recall import sentence_encoder
    from assistant.memory import NewTurn, open_memory
    from assistant.memory.db import dispose_engine

    encoder = sentence_encoder()
    memory = open_memory(settings)
    users = []
    for index, script in enumerate(scripts):
        user = memory.user(f"recall-bench-{index}")
        for turns in script.conversations:
            conversation = memory.start_conversation(user.id)
            for said, reply in turns:
                turn = NewTurn(user_text=said, reply_text=reply, answered_by="scripted")
                memory.append_turn(user.id, conversation.id, turn, vector=encoder.encode(said))
        users.append(user.id)
    dispose_engine(settings.database_url)
    return users


def ask(settings: Settings, scripts: list[ScriptedConversation], users: list[int]) -> list[RecallResult]:
    """Open the memory afresh (a restart) and ask each question in a new conversation."""
    from assistant.events import IntentEvent, TextEvent, TurnDoneEvent, TurnRequest
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline

    pipeline = Pipeline(settings)
    recorder = _RecordingGenerator(pipeline.runtime.generator())
    pipeline.runtime.generator = lambda backend=None: recorder  # type: ignore[method-assign]
    results = []
    try:
        for script, user_id in zip(scripts, users, strict=True):
            conversation = pipeline.memory.start_conversation(user_id)
            recorder.last = []
            request = TurnRequest(
                user_id=user_id, conversation_id=conversation.id, text=script.scenario.question
            )
            start = time.perf_counter()
            first: float | None = None
            routed, done = "", None
            for event in pipeline.run(request):
                if isinstance(event, IntentEvent):
                    routed = event.routed_to
                elif isinstance(event, TextEvent) and first is None and routed == "generator":
                    first = (time.perf_counter() - start) * 1000
                elif isinstance(event, TurnDoneEvent):
                    done = event
            prompt = " ".join(m.content for m in recorder.last[:-1]).lower()
            reply = done.reply if done is not None else ""
            timings = done.timings_ms if done is not None else {}
            detail = script.scenario.detail
            results.append(
                RecallResult(
                    question=script.scenario.question,
                    detail=detail,
                    turns_back=script.turns_back,
                    in_prompt=any(word in prompt for word in detail),
                    in_reply=any(word in reply.lower() for word in detail),
                    reply=reply,
                    routed_to=routed,
                    first_token_ms=None if first is None else round(first, 1),
                    recall_ms=round(timings.get("recall_encode", 0.0) + timings.get("recall", 0.0), 2),
                )
            )
    finally:
        pipeline.runtime.close()
        dispose_engine(settings.database_url)
    return results


def run(settings: Settings, n: int = 20, filler_turns: int = 40) -> dict[str, list[RecallResult]]:
    """Both conditions over the same stored histories: {"recall": [...], "no recall": [...]}."""
    scripts = scripted_conversations(n, filler_turns)
    with tempfile.TemporaryDirectory(prefix="bench-recall-") as folder:
        built = Path(folder) / "built.db"
        users = build_histories(_with_db(settings, built, recall=True), scripts)
        out = {}
        for label, recall in (("no recall", False), ("recall", True)):
            copy = Path(folder) / f"{label.replace(' ', '-')}.db"
            shutil.copyfile(built, copy)
            out[label] = ask(_with_db(settings, copy, recall=recall), scripts, users)
    return out


def _with_db(settings: Settings, path: Path, recall: bool) -> Settings:
    generator = settings.generator.model_copy(update={"recall": recall})
    return settings.model_copy(update={"database_url": f"sqlite:///{path}", "generator": generator})


def summary(results: list[RecallResult]) -> dict[str, float | int | None]:
    generated = [r for r in results if r.first_token_ms is not None]
    firsts = sorted(r.first_token_ms for r in generated if r.first_token_ms is not None)
    return {
        "questions": len(results),
        "to_generator": len(generated),
        "detail_in_prompt": round(sum(r.in_prompt for r in results) / max(1, len(results)), 3),
        "detail_in_reply": round(sum(r.in_reply for r in results) / max(1, len(results)), 3),
        "first_token_ms_median": round(statistics.median(firsts), 1) if firsts else None,
        "first_token_ms_p90": round(firsts[int(0.9 * (len(firsts) - 1))], 1) if firsts else None,
        "recall_ms_median": round(statistics.median(r.recall_ms for r in results), 2) if results else None,
    }


def report(settings: Settings, runs: dict[str, list[RecallResult]]) -> dict:
    return {
        "generator": settings.generator.backend,
        "recall_turns": settings.generator.recall_turns,
        "recall_tokens": settings.generator.recall_tokens,
        "summary": {label: summary(results) for label, results in runs.items()},
        "questions": {label: [asdict(r) for r in results] for label, results in runs.items()},
    }


def print_report(runs: dict[str, list[RecallResult]]) -> None:
    from rich.table import Table

    from assistant.console import console

    table = Table(title="Questions about details said 40+ turns back, in an earlier conversation")
    for column in (
        "condition",
        "questions",
        "to generator",
        "detail in prompt",
        "detail in reply",
        "first token ms (median / p90)",
        "recall ms",
    ):
        table.add_column(column)
    for label, results in runs.items():
        s = summary(results)
        table.add_row(
            label,
            str(s["questions"]),
            str(s["to_generator"]),
            f"{s['detail_in_prompt']:.0%}",
            f"{s['detail_in_reply']:.0%}",
            f"{s['first_token_ms_median']} / {s['first_token_ms_p90']}",
            str(s["recall_ms_median"]),
        )
    console.print(table)
