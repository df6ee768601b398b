"""The Skill interface, the context a skill gets, what it gives back, and the skill registry.

A skill owns one domain (timers, lists...). It answers only from state it owns (the memory, a connected
service) and puts those facts in `SkillResult.data`, so nothing downstream has to invent them. It can ask
for a missing value (`FollowUp`) or for a yes/no before a destructive action (`Confirmation`); the dialog
manager keeps that pending per conversation and hands the next turn back to the skill.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any, ClassVar

from assistant.config import Settings
from assistant.dialog.parsing.words import Token, tokenize
from assistant.memory import Memory
from assistant.text import MAX_UNDERSTOOD_CHARS
from nlu.plugins import Registry
from nlu.types import Intent


@dataclass(frozen=True)
class FollowUp:
    """A question for a missing value: the next turn goes back to the skill's `resume`."""

    slot: str  # what is missing, e.g. "duration"
    state: dict[str, Any] = field(default_factory=dict)  # what the skill already knows
    expires_s: float = 90.0


@dataclass(frozen=True)
class Confirmation:
    """A destructive action waiting for yes/no: on yes the manager calls the skill's `confirm`."""

    action: str  # e.g. "delete_list"
    payload: dict[str, Any] = field(default_factory=dict)
    declined: str = "Okay, I won't."  # said on no
    expires_s: float = 60.0


@dataclass(frozen=True)
class SkillResult:
    """A skill's answer: the reply text, the facts behind it, and optionally a pending question."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    follow_up: FollowUp | None = None
    confirmation: Confirmation | None = None

    @property
    def pending(self) -> bool:
        return self.follow_up is not None or self.confirmation is not None


@dataclass(frozen=True)
class SkillContext:
    """Everything a skill may use for one turn. `now` is aware and in `tz` (the user's zone)."""

    text: str
    intent: Intent | None
    user_id: int
    conversation_id: int
    memory: Memory
    settings: Settings
    now: datetime
    tz: tzinfo

    @cached_property
    def tokens(self) -> list[Token]:
        return tokenize(self.text[:MAX_UNDERSTOOD_CHARS])

    @cached_property
    def lower(self) -> str:
        return " ".join(self.text.lower().split())

    @property
    def label(self) -> str | None:
        return self.intent.label if self.intent else None

    def slots(self) -> dict[str, str]:
        return self.intent.slot_dict() if self.intent else {}

    def slot(self, *names: str) -> str | None:
        """The first filled slot among `names` (NLU models trained with slot tags fill them; HWU64 has none)."""
        found = self.slots()
        return next((found[name] for name in names if found.get(name)), None)


class Skill(ABC):
    """One domain. Subclasses set `name`, `intents`, `description` and implement `handle`."""

    name: ClassVar[str]
    intents: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = ""  # one line for "what can you do?"; empty = not listed
    examples: ClassVar[tuple[str, ...]] = ()
    priority: ClassVar[int] = 100  # lower goes first (rules layer and shared intents)
    schedules: ClassVar[bool] = False  # it sets things that come due (the scheduler is woken after it)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def claims(self, ctx: SkillContext) -> bool:
        """High-precision rule: take this request whatever the NLU said (e.g. "my name is Ana")."""
        return False

    def accepts(self, ctx: SkillContext) -> bool:
        """When several skills share an intent, the first that accepts gets it."""
        return True

    @abstractmethod
    def handle(self, ctx: SkillContext) -> SkillResult | None:
        """Act and answer; None means "not mine after all" (the generator answers instead)."""

    def resume(self, ctx: SkillContext, follow_up: FollowUp) -> SkillResult | None:
        """The answer to a follow-up question; None when the turn does not answer it (it is dropped)."""
        return None

    def confirm(self, ctx: SkillContext, confirmation: Confirmation) -> SkillResult:
        """Carry out a confirmed action."""
        raise NotImplementedError(f"{self.name} asked for a confirmation it cannot carry out")

    def available(self) -> bool:
        """False for skills whose service is not connected (help lists them separately)."""
        return True


skills: Registry[Skill] = Registry("skill")
