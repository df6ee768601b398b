"""What every dialog generator backend shares: the registry it joins, its error, and its stream base.

The backends import this module, never the package top (which imports them), so the import
graph has no cycle. A factory registered here takes ``(config: GeneratorSettings, device: str,
cache_dir: Path)`` and returns a ready (loaded) `Generator`.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.dialog.types import Generator, Message
from nlu.plugins import Registry

generators: Registry[Generator] = Registry("generator")


class GeneratorError(RuntimeError):
    """The generator cannot load or answer; the message names what failed and how to fix it."""


class CheckedStream:
    """Base for backends: `stream` checks its input at once and hands the work to `_stream`, a generator.

    (Were `stream` itself a generator function, a bad call would fail only at the first `next()`.)
    """

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Yield reply text as it is generated; raises GeneratorError on failure."""
        if not messages:
            raise GeneratorError("The generator needs at least one message.")
        return self._stream(list(messages))

    def _stream(self, messages: list[Message]) -> Iterator[str]:
        raise NotImplementedError


def describe(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line ("Type: message") for error messages that wrap it."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
