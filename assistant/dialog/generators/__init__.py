"""Dialog generator backends, one module each, registered in `base.generators` when this package loads.

`base` holds what the backends share (the registry, `GeneratorError`, `CheckedStream`, `describe`); the
backends import it, never `assistant.dialog.generator`. The runtimes (`local` for transformers,
`llamacpp` for llama.cpp) and helpers (`fitting`, `int8`) register nothing; the backend modules imported
below do, and import their runtime lazily (no torch here).
"""

from assistant.dialog.generators import gguf, hf, openai_compat, smollm2  # noqa: F401  (they register)
