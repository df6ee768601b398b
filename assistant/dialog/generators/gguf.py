"""`llama-cpp`: any GGUF chat model on llama.cpp by path (generator.model), else SmolLM2's GGUF.

The runtime itself is `LlamaCppLM` (llamacpp.py), which `smollm2-135m` also runs on; this module only
picks the file, so the runtime does not depend on the SmolLM2 backend.
"""

from __future__ import annotations

from pathlib import Path

from assistant.config import GeneratorSettings
from assistant.dialog.generators.base import GeneratorError, generators
from assistant.dialog.generators.llamacpp import LlamaCppLM
from assistant.dialog.generators.smollm2 import gguf_path
from assistant.dialog.types import Generator

NAME = "llama-cpp"


@generators.register(NAME, "any GGUF chat model on llama.cpp by path (generator.model); default SmolLM2")
def llama_cpp_generator(config: GeneratorSettings, device: str, cache_dir: Path) -> Generator:
    """A GGUF file named by generator.model, or the offline SmolLM2 GGUF when none is named."""
    path = Path(config.model).expanduser() if config.model else gguf_path()
    if config.model and path.suffix != ".gguf" and not path.is_file():
        raise GeneratorError(
            f"The llama-cpp backend takes a path to a .gguf file, not {config.model!r}; for a Hugging Face "
            f"model id use the `hf` backend."
        )
    return LlamaCppLM(NAME, path, config)
