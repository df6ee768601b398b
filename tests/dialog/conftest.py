from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant.config import Settings, load_settings
from assistant.dialog.manager import Decision, DialogManager
from assistant.memory import Memory, NewTurn, open_memory
from assistant.memory.db import dispose_engine
from nlu.types import Intent

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 3, 12, 10, 15, tzinfo=TZ)  # a Wednesday morning


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's machine: data in tmp_path, no config file, no env."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    return load_settings(
        {"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache", "timezone": "Europe/Paris"}
    )


@pytest.fixture
def memory(settings: Settings):
    mem: Memory = open_memory(settings)
    yield mem
    dispose_engine(settings.database_url)


@dataclass
class Chat:
    """Drives the manager the way the pipeline does: decide, then store the turn in the memory."""

    manager: DialogManager
    memory: Memory
    user_id: int
    conversation_id: int
    now: datetime = NOW
    log: list[Decision] = field(default_factory=list)

    def say(
        self, text: str, label: str | None = None, confidence: float = 0.95, threshold: float = 0.5
    ) -> Decision:
        intent = Intent(label, confidence) if label else None
        decision = self.manager.decide(
            text, intent, self.user_id, self.conversation_id, threshold=threshold, now=self.now
        )
        reply = decision.result.text if decision.result else "(the generator answers)"
        self.memory.append_turn(
            self.user_id,
            self.conversation_id,
            NewTurn(
                user_text=text,
                reply_text=reply,
                intent=label,
                intent_confidence=confidence if label else None,
                answered_by=decision.skill or "generator",
            ),
        )
        self.log.append(decision)
        return decision

    def reply(self, text: str, label: str | None = None, **kwargs) -> str:
        decision = self.say(text, label, **kwargs)
        assert decision.result is not None, f"{text!r} went to the generator ({decision.reason})"
        return decision.result.text


@pytest.fixture
def manager(memory: Memory, settings: Settings) -> DialogManager:
    return DialogManager(memory, settings)


@pytest.fixture
def chat(manager: DialogManager, memory: Memory) -> Chat:
    user = memory.user("ana")
    conversation = memory.start_conversation(user.id)
    return Chat(manager, memory, user.id, conversation.id)
