"""A GGUF chat model on llama.cpp (llama-cpp-python): the fast CPU runtime for small local models.

Decoding a small model on CPU is bound by moving weights and by per-operation overhead: transformers
streams SmolLM2's fp32 weights (540 MB) through PyTorch for every token, while llama.cpp reads 8-bit
(~145 MB) or 4-bit weights with fused SIMD kernels: several times faster on 2 cores (BENCHMARKS.md).

Used two ways: `smollm2-135m` runs on it on CPU (generator.runtime auto), and the `llama-cpp` backend
(gguf.py) runs any GGUF file named by path (generator.model). Like `LocalLM`, one instance serves every
conversation under a lock; llama.cpp itself keeps the key/value cache of the last prompt + reply and
reuses the prefix a follow-up shares with it, so a follow-up only processes its new tokens.
Generation runs in the consumer's thread: closing the reply iterator ("stop") ends it at once.
"""

from __future__ import annotations

import codecs
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.config import GeneratorSettings
from assistant.dialog.generators.base import CheckedStream, GeneratorError, describe
from assistant.dialog.generators.fitting import GenerationStats, fit_prompt, fold_system
from assistant.dialog.types import Message

INSTALL_HINT = (
    "llama.cpp is not installed: run scripts/setup.sh again (it builds llama-cpp-python), or pick "
    "generator.runtime=transformers."
)


def llama_cpp_available() -> bool:
    """Whether llama-cpp-python is installed (checked without importing it: the import loads the library)."""
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None


def requantize(source: Path, target: Path, kind: str = "q8_0") -> Path:
    """Write `source` re-quantised to `kind` at `target` (atomically), with llama.cpp's own quantiser."""
    import ctypes

    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr  # the quantiser logs every tensor to stderr

    ftypes = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftypes[kind]
    params.allow_requantize = True  # the source is already quantised (Q4_1); 8 bits hold its values closely
    params.nthread = thread_count()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    try:
        with suppress_stdout_stderr(disable=False):
            code = llama_cpp.llama_model_quantize(
                str(source).encode(), str(partial).encode(), ctypes.byref(params)
            )
        if code != 0 or not partial.is_file():
            raise GeneratorError(f"llama.cpp could not re-quantise {source} (code {code}).")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def thread_count() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


class LlamaCppLM(CheckedStream):
    """Streams chat replies from a GGUF model (see the module docstring for threading and caching)."""

    def __init__(self, name: str, path: Path, config: GeneratorSettings) -> None:
        if not llama_cpp_available():
            raise GeneratorError(INSTALL_HINT)
        path = Path(path).expanduser()
        if not path.is_file():
            raise GeneratorError(f"The GGUF model file {path} does not exist.")
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = name
        self.config = config
        self.path = path
        self.dtype = "llama.cpp"  # the GGUF file's own quantisation
        context = config.max_input_tokens + config.max_new_tokens
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context,
                n_batch=min(512, context),
                n_threads=thread_count(),
                n_threads_batch=thread_count(),
                seed=0,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp says little more than "Failed to load model from file"
            raise GeneratorError(
                f"llama.cpp could not load {path} ({describe(exc)}); is it a complete GGUF file?"
            ) from exc
        trained = int(
            self.llm.metadata.get(f"{self.llm.metadata.get('general.architecture')}.context_length", 0)
        )
        if trained and trained < context:
            raise GeneratorError(
                f"{path.name} was trained for {trained} tokens of context; lower generator.max_input_tokens "
                f"so that it plus max_new_tokens fits."
            )
        self.max_prompt_tokens = max(16, config.max_input_tokens)
        template = self.llm.metadata.get("tokenizer.chat_template")
        self._formatter = (
            Jinja2ChatFormatter(
                template, self._piece(self.llm.token_eos()), self._piece(self.llm.token_bos())
            )
            if template
            else None
        )
        self._vocab = self.llm._model.vocab  # for llama_vocab_is_eog: end-of-turn tokens as well as EOS
        self._is_eog = llama_cpp.llama_vocab_is_eog
        self._lock = threading.Lock()
        self.last_stats: GenerationStats | None = None

    def _piece(self, token: int) -> str:
        return "" if token < 0 else self.llm.detokenize([token], special=True).decode("utf-8", "replace")

    def _stream(self, messages: list[Message]) -> Iterator[str]:
        config = self.config
        with self._lock:
            started = time.perf_counter()
            prompt, dropped = self.encode(messages)
            reused = self._cached_prefix(prompt)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            first: float | None = None
            new_tokens = 0
            tokens = self.llm.generate(
                prompt,
                temp=config.temperature,
                top_p=config.top_p if config.temperature > 0 else 1.0,
                top_k=0,
                min_p=0.0,
                repeat_penalty=config.repetition_penalty,
            )
            try:
                for token in tokens:
                    if self._is_eog(self._vocab, token):
                        break
                    if first is None:
                        first = time.perf_counter() - started
                    new_tokens += 1
                    piece = decoder.decode(self.llm.detokenize([token]))
                    if piece:
                        yield piece
                    if new_tokens >= config.max_new_tokens:
                        break
                tail = decoder.decode(b"", final=True)
                if tail:
                    yield tail
            except Exception as exc:  # not GeneratorExit: closing the stream early just ends it
                raise GeneratorError(f"{self.name} failed while generating ({describe(exc)}).") from exc
            finally:
                tokens.close()
            self.last_stats = GenerationStats(
                prompt_tokens=len(prompt),
                reused_prompt_tokens=reused,
                new_tokens=new_tokens,
                first_token_s=first,
                total_s=time.perf_counter() - started,
                dropped_messages=dropped,
            )

    def _cached_prefix(self, prompt: list[int]) -> int:
        """How many prompt tokens llama.cpp will take from its cache (what `Llama.generate` reuses)."""
        cached = self.llm.input_ids[: self.llm.n_tokens].tolist()
        shared = 0
        for a, b in zip(cached, prompt, strict=False):
            if a != b:
                break
            shared += 1
        return shared - 1 if shared == len(prompt) else shared

    def encode(self, messages: list[Message]) -> tuple[list[int], int]:
        """Prompt token ids that fit `max_prompt_tokens`, and how many old messages were dropped."""
        return fit_prompt(
            messages,
            self.max_prompt_tokens,
            self._template,
            lambda text: self.llm.tokenize(text.encode("utf-8"), add_bos=False),
            lambda ids: self.llm.detokenize(ids).decode("utf-8", "replace"),
        )

    def _template(self, messages: list[Message]) -> list[int]:
        """Token ids of the chat prompt (the GGUF's own chat template), ending with the assistant opener."""
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if self._formatter is None:  # a base model without a chat template: a plain transcript
            text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in chat) + "Assistant:"
            return self.llm.tokenize(text.encode("utf-8"), add_bos=True)
        try:
            text = self._formatter(messages=chat).prompt
        except Exception:  # some templates refuse a system role: fold it into the first user message
            text = self._formatter(messages=fold_system(chat)).prompt
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
