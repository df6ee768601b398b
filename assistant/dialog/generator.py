"""The dialog generator registry: backends that stream a reply to a list of chat messages.

Backends live in `assistant.dialog.generators` (one module each) and register themselves here with
``@generators.register(name)``. A factory takes ``(config: GeneratorSettings, device: str, cache_dir: Path)``
and returns a ready (loaded) `Generator`. `load_generator` loads each configuration once per process and
shares it between conversations; every backend is safe to call from several threads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

from assistant.config import GeneratorSettings, Settings
from assistant.dialog.types import Generator, Message
from assistant.registry import Registry

generators: Registry[Generator] = Registry("generator")


class GeneratorError(RuntimeError):
    """The generator cannot load or answer; the message names what failed and how to fix it."""


def _register_backends() -> None:
    """Import the backend modules so their @register decorators run (cheap: they import torch lazily)."""
    from assistant.dialog.generators import hf, llamacpp, openai_compat, smollm2  # noqa: F401


def create_generator(settings: Settings) -> Generator:
    """A new generator for the settings (loads the model). Most callers want `load_generator`."""
    _register_backends()
    config = settings.generator
    return generators.create(config.backend, config, settings.resolved_device(), settings.cache_dir)


def load_generator(settings: Settings) -> Generator:
    """The generator the settings name, loaded once per process and shared (thread-safe backends)."""
    _register_backends()
    generators.get(settings.generator.backend)  # unknown name -> clear UnknownBackendError
    return _load(_config_key(settings.generator), settings.resolved_device(), str(settings.cache_dir))


@functools.lru_cache(maxsize=4)
def _load(config_json: str, device: str, cache_dir: str) -> Generator:
    config = GeneratorSettings.model_validate_json(config_json)
    return generators.create(config.backend, config, device, Path(cache_dir))


def _config_key(config: GeneratorSettings) -> str:
    """A hashable key that keeps the API key (pydantic's JSON would mask it as '**********')."""
    data = config.model_dump(mode="json")
    data["api_key"] = config.api_key.get_secret_value() if config.api_key else None
    return json.dumps(data, sort_keys=True)


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


def generate_text(generator: Generator, messages: list[Message]) -> str:
    """The whole reply as one string (for scripts and tests; the pipeline streams)."""
    return "".join(generator.stream(messages)).strip()


_register_backends()  # after the definitions above, which the backend modules import
