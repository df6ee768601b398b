"""Messages for the dialog generator, and its interface."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@runtime_checkable
class Generator(Protocol):
    name: str

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Yield reply text pieces as they are generated."""
        ...
