"""A transformers encoder-decoder LM (T5, BART families) that streams replies; used by the `hf` backend.

Seq2seq models rarely ship a chat template, so the messages become one plain text for the encoder
(persona and facts, the recent turns, the user's request), fitted to the encoder's bound the same way
the causal runtime fits its context (`fit_prompt`: oldest turns first). The decoder's output streams
through the same `TimedStreamer` as causal models, and closing the reply iterator cancels the
generation. No key/value cache is kept between turns: the encoder reads the whole input each time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from transformers import StoppingCriteriaList

from assistant.config import GeneratorSettings
from assistant.dialog.generators.base import GeneratorError
from assistant.dialog.generators.fitting import GenerationStats, fit_prompt
from assistant.dialog.generators.local import Cancelled, LoadedLM, TimedStreamer, stream_from_worker
from assistant.dialog.types import Message

DEFAULT_ENCODER_TOKENS = 512  # T5's relative positions have no hard limit; it was trained on 512
UNBOUNDED = 1_000_000  # tokenizers without a limit report a huge sentinel (1e30)
REQUEST_CUE = "Reply to the user's last message."


def is_encoder_decoder(source: str, local_files_only: bool) -> bool:
    """Whether the model's config describes an encoder-decoder (raises OSError when it is not found)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
    return bool(getattr(config, "is_encoder_decoder", False))


def load_seq2seq_lm(source: str, dtype: str, device: str, local_files_only: bool) -> tuple[Any, Any]:
    """(model, tokenizer) of an encoder-decoder model from a folder or hub id in `dtype`."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    if dtype == "int8":
        raise GeneratorError(
            "dtype=int8 is for causal models; use dtype=float32 (or auto) for an encoder-decoder model."
        )
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    model = AutoModelForSeq2SeqLM.from_pretrained(
        source, dtype=getattr(torch, dtype), local_files_only=local_files_only
    )
    model.eval().requires_grad_(False)
    return model.to(device), tokenizer


def encoder_bound(model_config: Any, tokenizer: Any) -> int:
    """How many tokens the encoder reads: the smallest limit the tokenizer or config states, else 512."""
    limits = [getattr(tokenizer, "model_max_length", None)]
    limits += [getattr(model_config, key, None) for key in ("n_positions", "max_position_embeddings")]
    known = [int(limit) for limit in limits if isinstance(limit, int | float) and 0 < limit < UNBOUNDED]
    return min(known) if known else DEFAULT_ENCODER_TOKENS


def plain_text(messages: Sequence[Message]) -> str:
    """The messages as one input text: system text first, then the turns, then the cue to answer."""
    system = "\n".join(m.content for m in messages if m.role == "system")
    turns = "".join(f"{m.role.capitalize()}: {m.content}\n" for m in messages if m.role != "system")
    return (f"{system}\n\n" if system else "") + turns + REQUEST_CUE


class Seq2SeqLM(LoadedLM):
    """Streams replies from a loaded encoder-decoder model; one generation at a time (a lock)."""

    def __init__(
        self, name: str, model: Any, tokenizer: Any, config: GeneratorSettings, device: str, dtype: str
    ) -> None:
        super().__init__(name, model, tokenizer, config, device, dtype)
        self.max_prompt_tokens = max(16, min(config.max_input_tokens, encoder_bound(model.config, tokenizer)))
        # a decoder with learned positions (BART) cannot go past them; T5's relative ones have no limit
        positions = getattr(model.config, "max_position_embeddings", None)
        limit = positions - 1 if isinstance(positions, int) and positions > 1 else config.max_new_tokens
        self.max_new_tokens = max(1, min(config.max_new_tokens, limit))
        self._eos = _eos_ids(model, tokenizer)

    def _stream(self, messages: list[Message]) -> Iterator[str]:
        with self._lock:
            started = time.perf_counter()
            input_ids, dropped = self.encode(messages)
            streamer = TimedStreamer(self.tokenizer)
            cancel = threading.Event()
            kwargs = self._generate_kwargs(input_ids.to(self.device), streamer, cancel)
            yield from stream_from_worker(self.name, lambda: self.model.generate(**kwargs), streamer, cancel)
            first = None if streamer.first_token_at is None else streamer.first_token_at - started
            self.last_stats = GenerationStats(
                prompt_tokens=int(input_ids.shape[1]),
                reused_prompt_tokens=0,
                new_tokens=streamer.new_tokens,
                first_token_s=first,
                total_s=time.perf_counter() - started,
                dropped_messages=dropped,
            )

    def encode(self, messages: list[Message]) -> tuple[Any, int]:
        """Encoder input ids (1, n) that fit `max_prompt_tokens`, and how many old messages were dropped."""
        ids, dropped = fit_prompt(
            messages,
            self.max_prompt_tokens,
            lambda kept: list(self.tokenizer(plain_text(kept))["input_ids"]),
            lambda text: self.tokenizer(text, add_special_tokens=False)["input_ids"],
            self.tokenizer.decode,
        )
        return torch.tensor([ids], dtype=torch.long), dropped

    def _generate_kwargs(self, input_ids: Any, streamer: Any, cancel: threading.Event) -> dict[str, Any]:
        config = self.config
        sample = config.temperature > 0
        generation = self.model.generation_config
        pad = generation.pad_token_id
        pad = pad if pad is not None else self.tokenizer.pad_token_id
        pad = pad if pad is not None else (self._eos[0] if self._eos else None)
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": self.max_new_tokens,
            "do_sample": sample,
            "repetition_penalty": config.repetition_penalty,
            "eos_token_id": self._eos,
            "pad_token_id": pad,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([Cancelled(cancel)]),
        }
        if generation.decoder_start_token_id is None and generation.bos_token_id is None and pad is not None:
            kwargs["decoder_start_token_id"] = pad  # T5's convention, for configs that leave it out
        if sample:
            kwargs.update(temperature=config.temperature, top_p=config.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: list[int] = []
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        for token in value if isinstance(value, list) else [value]:
            if isinstance(token, int) and token not in ids:
                ids.append(token)
    return ids
