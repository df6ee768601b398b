"""The dialog manager: decides, for one turn, whether a skill acts or the generator answers.

Order of precedence (first match wins):
1. guards: empty or oversized text gets a short answer at once;
2. a pending question of this conversation: "stop" drops it; a confirmation takes yes/no; a follow-up
   goes back to its skill, and an answer that does not fit drops it (the turn is then routed as new);
3. the rules layer: skills' high-precision `claims` (facts, help, arithmetic, timers, "repeat that"...),
   for requests HWU64's labels miss or mix up;
4. the NLU intent: below the threshold, out of scope, chit-chat and open questions go to the generator;
   a confident intent with a skill goes to that skill.
Pending state lives in this process (per user and conversation) and expires; everything a skill knows
lives in the memory.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.config import Settings
from assistant.dialog.skill import Confirmation, FollowUp, Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills import conversation  # noqa: F401  (registers every skill)
from assistant.dialog.skills.common import is_no, is_yes
from assistant.dialog.skills.help import HelpSkill
from assistant.memory import DatabaseError, Memory, MemoryInputError
from assistant.text import MAX_COMMAND_CHARS
from nlu.types import Intent

log = logging.getLogger(__name__)

GeneratorReason = Literal[
    "low_confidence", "out_of_scope", "chit_chat", "open_question", "unsupported", "no_intent"
]
Source = Literal["guard", "confirmation", "follow_up", "rule", "intent"]

DEFAULT_THRESHOLD = 0.5
CHIT_CHAT = frozenset(
    {
        "general_praise",
        "general_quirky",
        "general_dontcare",
        "general_explain",
        "general_affirm",
        "general_negate",
    }
)
OPEN_QUESTIONS = frozenset(
    {"qa_factoid", "qa_definition", "cooking_recipe", "recommendation_events", "recommendation_locations",
     "recommendation_movies"}
)  # fmt: skip
OUT_OF_SCOPE = frozenset({"oos", "out_of_scope", "unknown", "none"})


@dataclass(frozen=True)
class Decision:
    """What to do with a turn: a skill's result, or "use the generator" with the reason why."""

    skill: str | None = None
    result: SkillResult | None = None
    reason: GeneratorReason | None = None
    source: Source = "intent"
    intent: Intent | None = None
    detail: str = ""  # a human-readable note (which rule, which label) for logs and the UI

    @property
    def routed_to(self) -> str:
        """'skill:<name>' or 'generator' (IntentEvent.routed_to)."""
        return f"skill:{self.skill}" if self.skill else "generator"


@dataclass(frozen=True)
class Pending:
    skill: str
    question: str
    follow_up: FollowUp | None
    confirmation: Confirmation | None
    expires_at: float  # time.monotonic()


def user_timezone(settings: Settings) -> tzinfo:
    """settings.timezone, else $TZ, else the system's zone (/etc/localtime), else the current offset."""
    for name in (settings.timezone, os.environ.get("TZ", "").lstrip(":") or None):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("Unknown time zone %r; falling back to the system zone", name)
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


class DialogManager:
    """One per process; thread-safe; shared by every conversation."""

    def __init__(self, memory: Memory, settings: Settings, tz: tzinfo | None = None) -> None:
        self.memory = memory
        self.settings = settings
        self.tz = tz or user_timezone(settings)
        self.skills: dict[str, Skill] = {name: skills.create(name, settings) for name in skills.names()}
        self._ordered = sorted(self.skills.values(), key=lambda s: (s.priority, s.name))
        self._by_intent: dict[str, list[Skill]] = {}
        for skill in self._ordered:
            for label in skill.intents:
                self._by_intent.setdefault(label, []).append(skill)
            if isinstance(skill, HelpSkill):
                skill.catalog = self._ordered
        self._pending: dict[tuple[int, int], Pending] = {}
        self._lock = threading.Lock()

    # --- public -------------------------------------------------------------------------------------

    def schedules(self, name: str | None) -> bool:
        """Does this skill set things that come due (timers, alarms, reminders)? Only then is the scheduler
        woken after its turn: each wake is a poll that takes the database's write lock."""
        skill = self.skills.get(name or "")
        return skill is not None and skill.schedules

    def skill_intents(self) -> set[str]:
        """The intent labels some skill serves."""
        return set(self._by_intent)

    def decide(
        self,
        text: str,
        intent: Intent | None,
        user_id: int,
        conversation_id: int,
        threshold: float | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Route one turn. Skills act here (they write to the memory); the caller stores the turn."""
        if threshold is None:
            threshold = (
                self.settings.nlu.threshold if self.settings.nlu.threshold is not None else DEFAULT_THRESHOLD
            )
        now = (now or datetime.now(self.tz)).astimezone(self.tz)
        text = text if isinstance(text, str) else ""
        key = (user_id, conversation_id)
        if not text.strip():  # the pipeline never sends one (it says so itself); a direct caller is told too
            self.clear(user_id, conversation_id)
            said = SkillResult("I didn't catch anything. Could you say that again?", {"error": "empty"})
            return Decision("conversation", said, source="guard", intent=intent, detail="empty request")
        ctx = SkillContext(
            text.strip(), intent, user_id, conversation_id, self.memory, self.settings, now, self.tz
        )

        pending = self._take_pending(key)
        if pending is not None:
            decided = self._answer_pending(ctx, pending, threshold)
            if decided is not None:
                return decided

        for skill in self._ordered:
            if self._safe_claims(skill, ctx):
                result = self._run(skill, ctx, lambda s=skill: s.handle(ctx))
                if result is not None:
                    return self._finish(key, skill, result, "rule", intent, f"rule:{skill.name}")

        if intent is None:
            return Decision(reason="no_intent", intent=None, detail="no intent given")
        if len(ctx.text) > MAX_COMMAND_CHARS:
            return Decision(
                reason="out_of_scope",
                intent=intent,
                detail=f"too long for a command ({len(ctx.text):,} chars)",
            )
        label = intent.label
        if label in OUT_OF_SCOPE:
            return Decision(reason="out_of_scope", intent=intent, detail=label)
        if intent.confidence < threshold:
            return Decision(
                reason="low_confidence",
                intent=intent,
                detail=f"{label} {intent.confidence:.2f} < {threshold:.2f}",
            )
        if label in CHIT_CHAT:
            return Decision(reason="chit_chat", intent=intent, detail=label)
        if label in OPEN_QUESTIONS:
            return Decision(reason="open_question", intent=intent, detail=label)
        for skill in self._by_intent.get(label, []):
            if skill.accepts(ctx):
                result = self._run(skill, ctx, lambda s=skill: s.handle(ctx))
                if result is not None:
                    return self._finish(key, skill, result, "intent", intent, label)
        return Decision(reason="unsupported", intent=intent, detail=f"no skill handled {label}")

    def understands(self, text: str, intent: Intent | None, threshold: float) -> bool:
        """Are these words a request the assistant can place: a skill claims them by its own rule
        ("what is 12 times 7"), or the intent is in scope and confident, by the same rules as `decide`?
        Only looks at the text and intent: no one's state, no side effects."""
        now = datetime.now(self.tz)
        ctx = SkillContext(text.strip(), intent, 0, 0, self.memory, self.settings, now, self.tz)
        if any(self._safe_claims(skill, ctx) for skill in self._ordered):
            return True
        return intent is not None and intent.label not in OUT_OF_SCOPE and intent.confidence >= threshold

    def pending(self, user_id: int, conversation_id: int) -> Pending | None:
        """The question this conversation is waiting on, if any (for the UI)."""
        with self._lock:
            found = self._pending.get((user_id, conversation_id))
        return found if found and found.expires_at > time.monotonic() else None

    def clear(self, user_id: int, conversation_id: int) -> None:
        """Forget a pending question (a new conversation, /forget, stop)."""
        with self._lock:
            self._pending.pop((user_id, conversation_id), None)

    # --- steps --------------------------------------------------------------------------------------

    def _answer_pending(self, ctx: SkillContext, pending: Pending, threshold: float) -> Decision | None:
        key = (ctx.user_id, ctx.conversation_id)
        skill = self.skills.get(pending.skill)
        if skill is None:
            return None
        from assistant.dialog.skills.conversation import is_stop

        label, confidence = (ctx.intent.label, ctx.intent.confidence) if ctx.intent else (None, 0.0)
        if pending.confirmation is not None:
            confirmation = pending.confirmation
            yes = is_yes(ctx.text) or (
                label in ("general_affirm",) and confidence >= threshold and not is_no(ctx.text)
            )
            no = (
                is_no(ctx.text)
                or is_stop(ctx.text)
                or (
                    label in ("general_negate", "general_commandstop")
                    and confidence >= threshold
                    and not is_yes(ctx.text)
                )
            )
            if yes and not no:
                result = self._run(skill, ctx, lambda: skill.confirm(ctx, confirmation))
                if result is not None:
                    return self._finish(
                        key, skill, result, "confirmation", ctx.intent, f"confirmed {confirmation.action}"
                    )
            if no:
                result = SkillResult(confirmation.declined, {"declined": confirmation.action})
                return Decision(
                    skill.name,
                    result,
                    source="confirmation",
                    intent=ctx.intent,
                    detail=f"declined {confirmation.action}",
                )
            return None  # something else: the question is dropped and the turn routed as new
        if is_stop(ctx.text) or is_no(ctx.text) and len(ctx.text.split()) <= 3:
            result = SkillResult(
                "Okay.", {"action": "stop", "dropped": pending.follow_up.slot if pending.follow_up else None}
            )
            return Decision(
                "conversation", result, source="follow_up", intent=ctx.intent, detail="follow-up dropped"
            )
        if pending.follow_up is not None:
            follow_up = pending.follow_up
            result = self._run(skill, ctx, lambda: skill.resume(ctx, follow_up))
            if result is not None:
                return self._finish(key, skill, result, "follow_up", ctx.intent, f"answered {follow_up.slot}")
        return None

    def _finish(
        self,
        key: tuple[int, int],
        skill: Skill,
        result: SkillResult,
        source: Source,
        intent: Intent | None,
        detail: str,
    ) -> Decision:
        with self._lock:
            self._pending.pop(key, None)
            if result.pending:
                expires = (result.confirmation or result.follow_up).expires_s  # type: ignore[union-attr]
                self._pending[key] = Pending(
                    skill.name, result.text, result.follow_up, result.confirmation, time.monotonic() + expires
                )
            if result.data.get("action") == "stop":
                self._pending.pop(key, None)
        return Decision(skill.name, result, source=source, intent=intent, detail=detail)

    def _take_pending(self, key: tuple[int, int]) -> Pending | None:
        now = time.monotonic()
        with self._lock:
            for stale in [k for k, p in self._pending.items() if p.expires_at <= now]:
                del self._pending[stale]
            return self._pending.pop(key, None)

    @staticmethod
    def _safe_claims(skill: Skill, ctx: SkillContext) -> bool:
        try:
            return skill.claims(ctx)
        except (MemoryInputError, DatabaseError):
            return False
        except Exception:
            log.exception("skill %s failed in claims()", skill.name)
            return False

    @staticmethod
    def _run(skill: Skill, ctx: SkillContext, call) -> SkillResult | None:  # type: ignore[no-untyped-def]
        """Run a skill step; its errors become a clear reply, never a traceback to the user."""
        try:
            return call()
        except (MemoryInputError, DatabaseError) as exc:
            return SkillResult(str(exc), {"error": type(exc).__name__})
        except Exception:
            log.exception("skill %s failed", skill.name)
            return SkillResult(
                f"Sorry, something went wrong in my {skill.name} skill.", {"error": "skill_failed"}
            )
