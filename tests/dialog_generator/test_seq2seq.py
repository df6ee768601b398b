"""The `hf` backend on encoder-decoder models: tiny randomly initialised T5 and BART folders built here
(no download) load by path, stream pieces, stop at max_new_tokens, close early, and fit long prompts.

The tokenizer is a `tokenizers` WordLevel model trained on a few sentences, so every generated token is
one whole word; the saved generation config suppresses the special tokens (a random model would often
say </s> first), so a reply runs exactly to max_new_tokens unless it is cut.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.dialog.generators import GeneratorError, create_generator
from assistant.dialog.prompt import PERSONA, build_messages
from assistant.dialog.types import Message

from .conftest import generator_settings

SENTENCES = [
    "what is the weather like today",
    "tell me a joke about cats",
    "why do cats purr when they are happy",
    "the sun is a star and the moon is not",
    "you are a friendly voice assistant",
]
SPECIALS = ["<pad>", "</s>", "<unk>"]  # ids 0, 1, 2
ENCODER_TOKENS = 96  # the tokenizer's model_max_length in the T5 folder


def _tokenizer(max_length: int | None = None) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=SPECIALS))
    extra = {} if max_length is None else {"model_max_length": max_length}
    return PreTrainedTokenizerFast(
        tokenizer_object=words, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", **extra
    )


def _save(folder: Path, model: Any, tokenizer: Any, decoder_start: int) -> Path:
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(
        decoder_start_token_id=decoder_start, pad_token_id=0, eos_token_id=1, suppress_tokens=[0, 1, 2]
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def t5_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = _tokenizer(max_length=ENCODER_TOKENS)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_ff=64,
        d_kv=8,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return _save(tmp_path_factory.mktemp("tiny-t5"), T5ForConditionalGeneration(config), tokenizer, 0)


@pytest.fixture(scope="module")
def bart_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=16,  # learned positions: the decoder cannot go past 15 new tokens
        pad_token_id=0,
        bos_token_id=0,
        eos_token_id=1,
        forced_eos_token_id=None,
    )
    return _save(tmp_path_factory.mktemp("tiny-bart"), BartForConditionalGeneration(config), tokenizer, 1)


def _t5(folder: Path, **generator: Any) -> Any:
    settings = {"backend": "hf", "model": str(folder), "temperature": 0.0, "dtype": "float32"} | generator
    return create_generator(generator_settings(**settings))


def _vocabulary() -> set[str]:
    return {word for sentence in SENTENCES for word in sentence.split()}


def test_t5_folder_loads_as_seq2seq_and_streams_words_up_to_max_new_tokens(t5_folder: Path) -> None:
    from assistant.dialog.generators.seq2seq import Seq2SeqLM

    generator = _t5(t5_folder, max_new_tokens=7)
    assert isinstance(generator, Seq2SeqLM) and generator.name == f"hf:{t5_folder}"
    pieces = list(generator.stream(build_messages("why do cats purr")))
    assert len(pieces) >= 2 and all(pieces), pieces  # streamed, not one block at the end
    words = "".join(pieces).split()
    assert len(words) == 7 and set(words) <= _vocabulary(), words
    stats = generator.last_stats
    assert stats is not None and stats.new_tokens == 7 and stats.dropped_messages == 0
    assert 0 < stats.prompt_tokens <= ENCODER_TOKENS

    short = _t5(t5_folder, max_new_tokens=2)
    assert len("".join(short.stream([Message("user", "tell me a joke")])).split()) == 2
    assert short.last_stats is not None and short.last_stats.new_tokens == 2


def test_closing_the_stream_cancels_the_generation(t5_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _t5(t5_folder, max_new_tokens=2000)
    calls: list[dict[str, Any]] = []
    lengths: list[int] = []
    generate = generator.model.generate

    def recording_generate(**kwargs: Any) -> Any:
        calls.append(kwargs)
        output = generate(**kwargs)
        lengths.append(int(output.shape[1]))
        return output

    monkeypatch.setattr(generator.model, "generate", recording_generate)
    stream = generator.stream(build_messages("tell me a joke about cats"))
    assert next(stream)
    stream.close()  # what the pipeline does on barge-in
    (kwargs,) = calls
    (cancelled,) = kwargs["stopping_criteria"]
    assert cancelled.event.is_set()
    assert lengths and lengths[0] < 2000, lengths  # generate returned: it stopped well before its limit
    assert not any(t.name == f"{generator.name}-generate" and t.is_alive() for t in threading.enumerate())
    assert generator.last_stats is None  # a cut reply reports no stats
    # the lock was released: the next reply runs (to the end this time)
    generator.max_new_tokens = 3
    assert len("".join(generator.stream(build_messages("hello"))).split()) == 3


def test_a_long_history_is_cut_to_the_encoder_bound(t5_folder: Path) -> None:
    generator = _t5(t5_folder, max_new_tokens=3)
    assert generator.max_prompt_tokens == ENCODER_TOKENS  # the tokenizer's limit, under max_input_tokens
    history = [("tell me a joke about cats", "the sun is a star and the moon is not")] * 40
    messages = build_messages("why do cats purr when they are happy", history=history)
    ids, dropped = generator.encode(messages)
    assert ids.shape[1] <= ENCODER_TOKENS and dropped > 0
    text = generator.tokenizer.decode(ids[0].tolist(), skip_special_tokens=True)
    assert "why do cats purr when they are happy" in text  # the request survives, old turns went
    persona = generator.tokenizer(PERSONA, add_special_tokens=False)["input_ids"]
    assert ids[0, :12].tolist() == persona[:12]  # so does the persona (system text comes first)
    assert "".join(generator.stream(messages)).strip()
    assert generator.last_stats is not None and generator.last_stats.prompt_tokens <= ENCODER_TOKENS


def test_encoder_bound_defaults_to_512_without_a_stated_limit() -> None:
    from transformers import BartConfig, T5Config

    from assistant.dialog.generators.seq2seq import DEFAULT_ENCODER_TOKENS, encoder_bound

    unlimited = _tokenizer()  # model_max_length is transformers' huge "no limit" sentinel
    assert encoder_bound(T5Config(), unlimited) == DEFAULT_ENCODER_TOKENS == 512
    assert encoder_bound(BartConfig(max_position_embeddings=300), unlimited) == 300
    assert encoder_bound(BartConfig(max_position_embeddings=1024), _tokenizer(max_length=200)) == 200


def test_bart_folder_works_and_its_decoder_positions_cap_max_new_tokens(bart_folder: Path) -> None:
    generator = _t5(bart_folder, max_new_tokens=50)
    assert type(generator).__name__ == "Seq2SeqLM"
    assert generator.max_new_tokens == 15 and generator.max_prompt_tokens == 16
    pieces = list(generator.stream(build_messages("what is the weather like today")))
    assert pieces and all(pieces)
    assert generator.last_stats is not None and 1 <= generator.last_stats.new_tokens <= 15


def test_offline_unknown_id_and_int8_give_clear_errors(
    t5_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        GeneratorError, match=r"'nobody/no-such-t5-x1' is not on this machine.*local model folder"
    ):
        create_generator(generator_settings(backend="hf", model="nobody/no-such-t5-x1"))
    with pytest.raises(GeneratorError, match="int8 is for causal models"):
        _t5(t5_folder, dtype="int8")


@pytest.mark.slow
def test_a_pipeline_turn_is_answered_by_the_seq2seq_generator(t5_folder: Path, tmp_path: Path) -> None:
    from assistant.config import load_settings
    from assistant.events import ErrorEvent, TextEvent, TurnDoneEvent, TurnRequest
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline

    settings = load_settings(
        {
            "data_dir": tmp_path,
            "device": "cpu",
            "nlu": {"model": "lstm"},  # the shipped default: routes the same on every machine
            "generator": {"backend": "hf", "model": str(t5_folder), "temperature": 0.0, "max_new_tokens": 5},
        }
    )
    pipeline = Pipeline(settings)
    try:
        events = list(pipeline.run(TurnRequest(user="seq2seq", text="why do cats purr when they are happy")))
    finally:
        pipeline.runtime.close()
        dispose_engine(settings.database_url)
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    done = events[-1]
    assert isinstance(done, TurnDoneEvent) and done.answered_by == f"hf:{t5_folder}", done
    streamed = "".join(e.text for e in events if isinstance(e, TextEvent))
    assert done.reply == streamed.strip() and len(done.reply.split()) == 5
