"""Natural requests, checked by what they did: each request of a held-out set (tests/natural/requests.jsonl,
phrased as people speak) runs through the real path (the product NLU model, then the dialog manager at a
fixed time and zone, on a fresh database) and is right only when the skill that answered is the expected
one and its outcome is: the alarm stored (local date and time, recurrence), the timer's seconds, the
reminder, the calendar event, the list and its items, the fact, or the number in the reply.

The set is an evaluation set: it must never be used to train or tune an NLU model.

Case format (one JSON object per line):
    {"cat": "alarm_daypart", "text": "...", "skill": "timers",
     "setup": {...optional state before the request...}, "expect": {...}}
setup keys: alarms [local ISO], timers [seconds | [seconds, label]], reminders [[text, local ISO|null]],
    events [[title, local ISO]], lists {name: [items]}, facts {key: value}.
expect keys (all given must hold):
    alarm (local ISO "YYYY-MM-DDTHH:MM" of the one new alarm), repeat (its recurrence, default none),
    alarms (local ISO of every active alarm afterwards), timer_s, label (the new timer's),
    timers_left, reminder {text (contained), due (local ISO or null)}, reminders_left,
    event {title (contained), start (local ISO)}, list + items (that list's items afterwards, in order),
    lists (the names of all lists afterwards), fact {key: value}, number (the last number in the reply),
    reply_has / reply_lacks (case-insensitive substrings).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from assistant.config import Settings
from assistant.text import understood_text

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CASES = ROOT / "tests" / "natural" / "requests.jsonl"
TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 3, 12, 10, 15, tzinfo=TZ)  # a Wednesday morning, as in tests/dialog
TARGET = 0.97
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Case:
    line: int
    text: str
    skill: str
    expect: dict[str, Any]
    category: str = "other"
    setup: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    case: Case
    skill: str | None  # the skill that answered, or None (the generator)
    reply: str
    problems: tuple[str, ...]
    intent: str | None = None
    confidence: float | None = None
    source: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.case.line,
            "category": self.case.category,
            "text": self.case.text,
            "expected_skill": self.case.skill,
            "skill": self.skill,
            "source": self.source,
            "intent": self.intent,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "reply": self.reply,
            "ok": self.ok,
            "problems": list(self.problems),
        }


def load_cases(path: Path = DEFAULT_CASES) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        row = json.loads(raw)
        cases.append(
            Case(
                number,
                row["text"],
                row["skill"],
                row.get("expect", {}),
                row.get("cat", "other"),
                row.get("setup", {}),
            )  # fmt: skip
        )
    return cases


def local_iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _at(value: str, tz: tzinfo) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=tz)


class Evaluator:
    """Runs cases through an NLU model and a DialogManager, each case on a fresh copy of a migrated database."""

    def __init__(self, settings: Settings, model: Any = None, now: datetime = NOW, tz: tzinfo = TZ) -> None:
        self.settings = settings
        self.model = model
        self.now = now
        self.tz = tz
        # a model was loaded with settings.nlu.threshold applied; rules only: the manager's default
        from assistant.dialog.manager import DEFAULT_THRESHOLD

        self.threshold = getattr(model, "threshold", DEFAULT_THRESHOLD)
        self._folder = Path(tempfile.mkdtemp(prefix="natural-"))
        self._template = self._folder / "template.db"
        self._migrate(self._template)

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _url(path: Path) -> str:
        return f"sqlite:///{path}"

    def _migrate(self, path: Path) -> None:
        from assistant.memory.db import dispose_engine, upgrade

        upgrade(self._url(path))
        dispose_engine(self._url(path))

    def run(self, cases: Iterable[Case], advance: Callable[[], None] | None = None) -> list[Outcome]:
        outcomes = []
        for index, case in enumerate(cases):
            outcomes.append(self.run_one(case, index))
            if advance is not None:
                advance()
        return outcomes

    def run_one(self, case: Case, index: int = 0) -> Outcome:
        from assistant.dialog.manager import DialogManager
        from assistant.memory import Memory
        from assistant.memory.db import Database, dispose_engine

        path = self._folder / f"case-{index}.db"
        shutil.copyfile(self._template, path)
        url = self._url(path)
        try:
            memory = Memory(Database(url))
            user = memory.user("natural")
            conversation = memory.start_conversation(user.id)
            self._setup(memory, user.id, case.setup)
            before = _snapshot(memory, user.id)
            text = understood_text(case.text)  # as the pipeline reads a message
            intent = self.model.predict([text])[0] if self.model is not None else None
            manager = DialogManager(memory, self.settings, tz=self.tz)
            decision = manager.decide(
                text, intent, user.id, conversation.id, threshold=self.threshold, now=self.now
            )
            reply = decision.result.text if decision.result else ""
            problems = []
            skill = decision.skill
            if skill != case.skill:
                problems.append(
                    f"answered by {skill or 'the generator'} ({decision.detail}), not {case.skill}"
                )
            problems += self._check(case.expect, memory, user.id, before, reply)
            return Outcome(
                case,
                skill,
                reply,
                tuple(problems),
                intent.label if intent else None,
                intent.confidence if intent else None,
                decision.source,
            )
        finally:
            dispose_engine(url)
            path.unlink(missing_ok=True)

    # --- state ----------------------------------------------------------------------------------------

    def _setup(self, memory: Any, user_id: int, setup: dict[str, Any]) -> None:
        from datetime import timedelta

        for when in setup.get("alarms", []):
            memory.add_timer(user_id, _at(when, self.tz), "alarm")
        for timer in setup.get("timers", []):
            seconds, label = (timer, None) if isinstance(timer, int | float) else timer
            memory.add_timer(user_id, self.now + timedelta(seconds=seconds), "timer", label, seconds)
        for text, when in setup.get("reminders", []):
            memory.add_reminder(user_id, text, _at(when, self.tz) if when else None)
        for title, when in setup.get("events", []):
            memory.add_event(user_id, title, _at(when, self.tz), None)
        for name, items in setup.get("lists", {}).items():
            memory.create_list(user_id, name)
            for item in items:
                memory.add_list_item(user_id, name, item)
        for key, value in setup.get("facts", {}).items():
            memory.set_fact(user_id, key, value)

    def _check(
        self, expect: dict[str, Any], memory: Any, user_id: int, before: dict[str, set[int]], reply: str
    ) -> list[str]:
        problems: list[str] = []
        tz = self.tz
        alarms = memory.timers(user_id, kind="alarm")
        timers = memory.timers(user_id, kind="timer")
        if "alarm" in expect:
            new = [a for a in alarms if a.id not in before["timers"]]
            got = [(local_iso(a.due_at, tz), getattr(a, "repeat", None)) for a in new]
            wanted = (expect["alarm"], expect.get("repeat"))
            if got != [wanted]:
                problems.append(f"alarm {got or 'none'}, expected {wanted}")
        if "alarms" in expect:
            got_all = sorted(local_iso(a.due_at, tz) for a in alarms)
            if got_all != sorted(expect["alarms"]):
                problems.append(f"alarms {got_all}, expected {sorted(expect['alarms'])}")
        if "timer_s" in expect:
            new = [t for t in timers if t.id not in before["timers"]]
            got_t = [(t.duration_s, t.label) for t in new]
            if len(new) != 1 or abs((new[0].duration_s or 0) - expect["timer_s"]) > 0.5:
                problems.append(f"timers {got_t or 'none'}, expected {expect['timer_s']} s")
            elif "label" in expect and (new[0].label or "").lower() != expect["label"].lower():
                problems.append(f"timer label {new[0].label!r}, expected {expect['label']!r}")
        if "timers_left" in expect and len(timers) != expect["timers_left"]:
            problems.append(f"{len(timers)} timers left, expected {expect['timers_left']}")
        reminders = memory.reminders(user_id)
        if "reminder" in expect:
            wanted_r = expect["reminder"]
            new_r = [r for r in reminders if r.id not in before["reminders"]]
            got_r = [(r.text, local_iso(r.due_at, tz)) for r in new_r]
            if not (
                len(new_r) == 1
                and wanted_r["text"].lower() in new_r[0].text.lower()
                and local_iso(new_r[0].due_at, tz) == wanted_r.get("due")
            ):
                problems.append(f"reminders {got_r or 'none'}, expected {wanted_r}")
        if "reminders_left" in expect and len(reminders) != expect["reminders_left"]:
            problems.append(f"{len(reminders)} reminders left, expected {expect['reminders_left']}")
        if "event" in expect:
            wanted_e = expect["event"]
            new_e = [e for e in memory.events(user_id) if e.id not in before["events"]]
            got_e = [(e.title, local_iso(e.starts_at, tz)) for e in new_e]
            if not (
                len(new_e) == 1
                and wanted_e["title"].lower() in new_e[0].title.lower()
                and local_iso(new_e[0].starts_at, tz) == wanted_e["start"]
            ):
                problems.append(f"events {got_e or 'none'}, expected {wanted_e}")
        if "list" in expect:
            record = memory.get_list(user_id, expect["list"])
            items = [i.text.lower() for i in record.items] if record else None
            wanted_items = [i.lower() for i in expect.get("items", [])]
            if items != wanted_items:
                problems.append(f"{expect['list']} list {items}, expected {wanted_items}")
        if "lists" in expect:
            names = sorted(r.name for r in memory.lists(user_id))
            if names != sorted(expect["lists"]):
                problems.append(f"lists {names}, expected {sorted(expect['lists'])}")
        for key, value in expect.get("fact", {}).items():
            got_f = memory.get_fact(user_id, key)
            if got_f != value:
                problems.append(f"fact {key}={got_f!r}, expected {value!r}")
        if "number" in expect:
            numbers = _NUMBER.findall(reply)
            last = float(numbers[-1].replace(",", "")) if numbers else None
            wanted_n = float(expect["number"])
            if last is None or abs(last - wanted_n) > 1e-9 * max(1.0, abs(wanted_n)):
                problems.append(f"number {numbers[-1] if numbers else 'none'}, expected {expect['number']}")
        for text in expect.get("reply_has", []):
            if text.lower() not in reply.lower():
                problems.append(f"reply lacks {text!r}")
        for text in expect.get("reply_lacks", []):
            if text.lower() in reply.lower():
                problems.append(f"reply has {text!r}")
        return problems


def _snapshot(memory: Any, user_id: int) -> dict[str, set[int]]:
    return {
        "timers": {t.id for t in memory.timers(user_id, status=None)},
        "reminders": {r.id for r in memory.reminders(user_id, status=None)},
        "events": {e.id for e in memory.events(user_id)},
    }


def evaluate(
    settings: Settings,
    model: Any,
    cases: list[Case] | None = None,
    advance: Callable[[], None] | None = None,
) -> list[Outcome]:
    with Evaluator(settings, model) as evaluator:
        return evaluator.run(cases if cases is not None else load_cases(), advance)


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    total = len(outcomes)
    right = sum(o.ok for o in outcomes)
    by_cat: dict[str, list[int]] = {}
    for outcome in outcomes:
        counts = by_cat.setdefault(outcome.case.category, [0, 0])
        counts[0] += outcome.ok
        counts[1] += 1
    return {
        "total": total,
        "correct": right,
        "accuracy": right / total if total else 0.0,
        "target": TARGET,
        "categories": {
            name: {"correct": ok, "total": n, "accuracy": ok / n} for name, (ok, n) in sorted(by_cat.items())
        },
        "wrong_skill": dict(
            Counter(o.case.category for o in outcomes if o.skill != o.case.skill and not o.ok)
        ),
    }


def report(settings: Settings, model_name: str, outcomes: list[Outcome]) -> dict[str, Any]:
    return {
        "now": NOW.isoformat(),
        "timezone": str(TZ),
        "nlu_model": model_name,
        "cases": str(DEFAULT_CASES.relative_to(ROOT)),
        **summary(outcomes),
        "failures": [o.as_dict() for o in outcomes if not o.ok],
        "results": [o.as_dict() for o in outcomes],
    }


def print_report(outcomes: list[Outcome]) -> None:
    from rich.table import Table

    from assistant.console import console

    result = summary(outcomes)
    table = Table(title=f"Natural requests ({result['total']} requests, held-out set)")
    for column in ("category", "right", "total", "accuracy"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, row in result["categories"].items():
        style = "" if row["accuracy"] >= TARGET else "[yellow]"
        table.add_row(name, str(row["correct"]), str(row["total"]), f"{style}{row['accuracy']:.1%}")
    table.add_row("[bold]overall", f"[bold]{result['correct']}", f"[bold]{result['total']}",
                  f"[bold]{result['accuracy']:.1%}")  # fmt: skip
    console.print(table)
    failures = [o for o in outcomes if not o.ok]
    if failures:
        failed = Table(title=f"Failures ({len(failures)})")
        for column in ("line", "request", "got", "why"):
            failed.add_column(column)
        for o in failures:
            failed.add_row(str(o.case.line), o.case.text, f"{o.skill or 'generator'}: {o.reply[:80]}",
                           "; ".join(o.problems))  # fmt: skip
        console.print(failed)


def format_failures(outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        if not o.ok:
            lines.append(
                f"line {o.case.line} [{o.case.category}] {o.case.text!r} -> {o.skill or 'generator'} "
                f"({o.intent} {o.confidence or 0:.2f}): {o.reply!r}\n    " + "; ".join(o.problems)
            )
    return "\n".join(lines)
