"""A transformers causal LM that streams chat replies; shared by the `smollm2-135m` and `hf` backends.

One model instance serves every conversation: `stream` holds a lock for the whole generation, so two
conversations asking at once are answered one after the other (a small model on 2 cores gains nothing
from running two generations side by side). `generate` runs in a worker thread and feeds a
`TextIteratorStreamer`; closing the reply iterator early (the user said "stop") cancels the generation.
The key/value cache of the last prompt + reply is kept, and the next prompt reuses whatever prefix it
shares with it (persona, facts, earlier turns), so a follow-up only processes its new tokens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from assistant.config import GeneratorSettings
from assistant.dialog.generators.base import CheckedStream, GeneratorError, describe
from assistant.dialog.generators.fitting import MIN_REUSED_TOKENS, GenerationStats, fit_prompt, fold_system
from assistant.dialog.types import Message

DTYPES = ("auto", "float32", "bfloat16", "float16", "int8")


def resolve_dtype(name: str, device: str, cpu_auto: str = "float32") -> str:
    """'auto' -> bf16 (or fp16) on CUDA, `cpu_auto` on CPU; other names are checked and returned."""
    if name not in DTYPES:
        raise GeneratorError(f"Unknown generator dtype {name!r}; use one of {', '.join(DTYPES)}.")
    if name == "auto":
        if device.startswith("cuda"):
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        name = cpu_auto
    if name == "int8":
        from assistant.dialog.generators.int8 import int8_supported

        if device.startswith("cuda"):
            raise GeneratorError("dtype=int8 is a CPU speed-up; on CUDA use dtype=auto (bf16/fp16).")
        if not int8_supported():
            raise GeneratorError("This torch build lacks the int8 CPU kernel; use dtype=float32.")
    return name


def load_causal_lm(
    source: str, dtype: str, device: str, local_files_only: bool, int8_cache: Path | None = None
) -> tuple[Any, Any]:
    """(model, tokenizer) from a folder or hub id in `dtype` (int8 = fp32 load + weight-only int8).

    `int8_cache`: a safetensors file holding the int8 weights; read when present, written when not, so
    only the first load pays for quantising.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = torch.float32 if dtype == "int8" else getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, local_files_only=local_files_only)
    model.eval().requires_grad_(False)
    if dtype == "int8":
        _quantize(model, int8_cache)
    return model.to(device), tokenizer


def _quantize(model: Any, cache: Path | None) -> None:
    from safetensors.torch import load_file, save_file

    from assistant.dialog.generators.int8 import quantize_linears

    saved = None
    if cache is not None and cache.is_file():
        try:
            saved = load_file(cache)
        except Exception:  # damaged: quantise again and overwrite it
            saved = None
    quantized = quantize_linears(model, saved)
    if cache is not None and saved is None:
        partial = cache.with_name(f"{cache.name}.partial")
        try:
            save_file(quantized, partial)
            partial.replace(cache)
        except OSError:  # a read-only cache only costs the next start a few seconds
            partial.unlink(missing_ok=True)


class LoadedLM(CheckedStream):
    """What every transformers-backed generator holds: the loaded model and tokenizer, where and in what
    dtype they run, the last generation's numbers, and the lock that keeps generations one at a time."""

    def __init__(
        self, name: str, model: Any, tokenizer: Any, config: GeneratorSettings, device: str, dtype: str
    ) -> None:
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.device = device
        self.dtype = dtype
        self.last_stats: GenerationStats | None = None
        self._lock = threading.Lock()


class LocalLM(LoadedLM):
    """Streams replies from a loaded transformers model (see module docstring for thread safety)."""

    def __init__(
        self, name: str, model: Any, tokenizer: Any, config: GeneratorSettings, device: str, dtype: str
    ) -> None:
        super().__init__(name, model, tokenizer, config, device, dtype)
        context = getattr(model.config, "max_position_embeddings", None) or 2048
        self.max_prompt_tokens = max(16, min(config.max_input_tokens, context - config.max_new_tokens))
        self._eos = self._eos_ids()
        self._prefix: tuple[list[int], Any] | None = None  # (token ids, their key/value cache)

    def _stream(self, messages: list[Message]) -> Iterator[str]:
        with self._lock:
            started = time.perf_counter()
            input_ids, dropped = self.encode(messages)
            prompt = input_ids[0].tolist()
            cache, reused = self._take_prefix(prompt)
            streamer = TimedStreamer(self.tokenizer)
            cancel = threading.Event()
            kwargs = self._generate_kwargs(input_ids.to(self.device), streamer, cancel)
            if cache is not None:
                kwargs["past_key_values"] = cache

            def generate() -> None:
                self._keep_prefix(self.model.generate(**kwargs, return_dict_in_generate=True))

            yield from stream_from_worker(self.name, generate, streamer, cancel)
            first = None if streamer.first_token_at is None else streamer.first_token_at - started
            self.last_stats = GenerationStats(
                prompt_tokens=len(prompt),
                reused_prompt_tokens=reused,
                new_tokens=streamer.new_tokens,
                first_token_s=first,
                total_s=time.perf_counter() - started,
                dropped_messages=dropped,
            )

    def _take_prefix(self, prompt: list[int]) -> tuple[Any, int]:
        """The previous turn's key/value cache cut to what this prompt shares with it (or None, 0).

        In a conversation each prompt repeats the last one plus the reply and a new message, so only the
        new tokens need processing: this is what keeps the time to first token short on CPU.
        """
        previous, self._prefix = self._prefix, None  # the cache is handed over (generate extends it)
        if previous is None:
            return None, 0
        cached_ids, cache = previous
        shared = 0
        for a, b in zip(cached_ids, prompt, strict=False):
            if a != b:
                break
            shared += 1
        keep = min(shared, len(prompt) - 1)  # generate needs at least one new token to process
        if keep < MIN_REUSED_TOKENS:
            return None, 0
        if cache.get_seq_length() > keep:
            cache.crop(keep - cache.get_seq_length())  # a negative count removes that many tokens
        return cache, keep

    def _keep_prefix(self, output: Any) -> None:
        """Remember the cache of prompt + reply for the next turn (full-attention dynamic caches only)."""
        cache = getattr(output, "past_key_values", None)
        layers = getattr(cache, "layers", None)
        if cache is None or not layers or any(type(layer).__name__ != "DynamicLayer" for layer in layers):
            return  # sliding-window or other caches cannot be cut back safely
        valid = cache.get_seq_length()
        self._prefix = (output.sequences[0, :valid].tolist(), cache)

    def encode(self, messages: list[Message]) -> tuple[Any, int]:
        """Prompt token ids (1, n) that fit `max_prompt_tokens`, and how many old messages were dropped."""
        ids, dropped = fit_prompt(
            messages,
            self.max_prompt_tokens,
            self._template,
            lambda text: self.tokenizer(text, add_special_tokens=False)["input_ids"],
            self.tokenizer.decode,
        )
        return torch.tensor([ids], dtype=torch.long), dropped

    def _template(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the chat prompt, ending with the assistant's turn opener."""
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            try:
                ids = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
            except Exception:  # some templates refuse a system role: fold it into the first user message
                ids = self.tokenizer.apply_chat_template(fold_system(chat), add_generation_prompt=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
        else:  # a base model without a chat template: a plain transcript
            text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in chat) + "Assistant:"
            ids = self.tokenizer(text)["input_ids"]
        return list(ids)

    def _generate_kwargs(self, input_ids: Any, streamer: Any, cancel: threading.Event) -> dict[str, Any]:
        config = self.config
        sample = config.temperature > 0
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": config.max_new_tokens,
            "do_sample": sample,
            "repetition_penalty": config.repetition_penalty,
            "eos_token_id": self._eos,
            "pad_token_id": self._eos[0] if self._eos else None,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([Cancelled(cancel)]),
        }
        if sample:
            kwargs.update(temperature=config.temperature, top_p=config.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for value in (
            getattr(self.model.generation_config, "eos_token_id", None),
            self.tokenizer.eos_token_id,
        ):
            for token in value if isinstance(value, list) else [value]:
                if isinstance(token, int) and token not in ids:
                    ids.append(token)
        return ids


class TimedStreamer(TextIteratorStreamer):
    """A TextIteratorStreamer that also notes when the first new token arrived and how many came."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.first_token_at: float | None = None
        self.new_tokens = 0

    def put(self, value: Any) -> None:
        if not (self.skip_prompt and self.next_tokens_are_prompt):
            self.new_tokens += int(value.numel())
            if self.first_token_at is None:
                self.first_token_at = time.perf_counter()
        super().put(value)


class Cancelled(StoppingCriteria):
    """Stops generation once the event is set (the consumer closed the reply stream)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


def stream_from_worker(
    name: str, generate: Any, streamer: TimedStreamer, cancel: threading.Event
) -> Iterator[str]:
    """Run `generate()` (which feeds `streamer`) in a worker thread and yield its text pieces. Closing the
    iterator early sets `cancel` (a `Cancelled` stopping criterion ends the generation) and waits for the
    worker, so the model is free again when this returns; a failure in the worker is raised here."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            with torch.inference_mode():
                generate()
        except BaseException as exc:  # reported to the consumer below
            failure.append(exc)
            streamer.end()

    worker = threading.Thread(target=work, name=f"{name}-generate", daemon=True)
    worker.start()
    try:
        for piece in streamer:
            if piece:
                yield piece
    finally:
        cancel.set()  # no-op when finished; stops generation when the consumer gave up early
        worker.join()
    if failure:
        raise GeneratorError(f"{name} failed while generating ({describe(failure[0])}).") from failure[0]
