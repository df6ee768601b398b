"""Dialog generators: backends that stream a reply to a list of chat messages, and the one loader.

Backends live in this package (one module each) and register themselves with ``@generators.register(name)``
in `base`, which also holds what they share (`GeneratorError`, `CheckedStream`, `describe`; re-exported
here). The backends import `base`, never this package's top, so importing it (below) completes the
registry without a circle. The runtimes (`local` for transformers causal LMs, `seq2seq` for
encoder-decoders, `llamacpp` for llama.cpp) and helpers (`fitting`, `int8`) register nothing; the
backend modules do, and import their runtime lazily (no torch here). A factory takes
``(config: GeneratorSettings, device: str, cache_dir: Path)`` and returns a ready (loaded) `Generator`.
`load_generator` loads each configuration once per process and shares it between conversations; every
backend is safe to call from several threads.
"""

from __future__ import annotations

import json

from assistant import model_cache
from assistant.config import GeneratorSettings, Settings
from assistant.dialog.generators import gguf, hf, openai_compat, smollm2  # noqa: F401  (they register)
from assistant.dialog.generators.base import CheckedStream, GeneratorError, describe, generators
from assistant.dialog.types import Generator, Message

__all__ = [
    "CheckedStream",
    "GeneratorError",
    "create_generator",
    "describe",
    "generate_text",
    "generators",
    "load_generator",
]


def create_generator(settings: Settings) -> Generator:
    """A new generator for the settings (loads the model). Most callers want `load_generator`."""
    config = settings.generator
    return generators.create(config.backend, config, settings.resolved_device(), settings.cache_dir)


def load_generator(settings: Settings) -> Generator:
    """The generator the settings name, loaded once per process and shared (thread-safe backends)."""
    generators.get(settings.generator.backend)  # unknown name -> clear UnknownBackendError
    device = settings.resolved_device()
    key = ("generator", _config_key(settings.generator), device, str(settings.cache_dir))
    return model_cache.shared.get(key, lambda: create_generator(settings))


def _config_key(config: GeneratorSettings) -> str:
    """A hashable key that keeps the API key (pydantic's JSON would mask it as '**********')."""
    data = config.model_dump(mode="json")
    data["api_key"] = config.api_key.get_secret_value() if config.api_key else None
    return json.dumps(data, sort_keys=True)


def generate_text(generator: Generator, messages: list[Message]) -> str:
    """The whole reply as one string (for scripts and tests; the pipeline streams)."""
    return "".join(generator.stream(messages)).strip()
