"""The default generator on CPU: SmolLM2's 4-bit GGUF from the offline package, run by llama.cpp (the
behaviour it shares with the transformers runtime is tested in test_local_runtimes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialog.generators import GeneratorError, create_generator
from assistant.dialog.generators.llamacpp import LlamaCppLM
from assistant.dialog.prompt import build_messages

from .conftest import generator_settings

pytestmark = pytest.mark.slow


def test_default_generator_on_cpu_is_llama_cpp(llamacpp: LlamaCppLM) -> None:
    assert isinstance(llamacpp, LlamaCppLM) and llamacpp.name == "smollm2-135m"
    assert llamacpp.dtype == "llama.cpp"


def test_predictions_agree_with_the_transformers_runtime(llamacpp: LlamaCppLM, smollm2) -> None:  # type: ignore[no-untyped-def]
    """Same weights (Q4_1), but llama.cpp multiplies with 8-bit activations: the next-token choice must
    still agree with the float32 transformers model almost everywhere (measured: 96%)."""
    import llama_cpp
    import numpy as np
    import torch

    text = smollm2.tokenizer.apply_chat_template(
        [{"role": "user", "content": "How do I boil an egg?"},
         {"role": "assistant", "content": "Put the egg in boiling water for about eight minutes, then cool it."}],
        tokenize=False,
    )  # fmt: skip
    ids = smollm2.tokenizer(text)["input_ids"]
    with torch.inference_mode():
        want = smollm2.model(torch.tensor([ids])).logits[0].argmax(-1).numpy()
    scorer = llama_cpp.Llama(model_path=str(llamacpp.path), n_ctx=256, logits_all=True, verbose=False)
    scorer.eval(ids)
    got = np.asarray(scorer.scores[: len(ids)]).argmax(-1)
    assert (got == want).mean() >= 0.9


def test_gguf_chat_template_matches_the_transformers_one(llamacpp: LlamaCppLM, smollm2) -> None:  # type: ignore[no-untyped-def]
    """Both runtimes see the same prompt, so switching runtime does not change what the model is asked."""
    messages = build_messages("Remind me what I said.", facts={"name": "Ana"}, history=[("Hi", "Hello!")])
    ours, _ = llamacpp.encode(messages)
    theirs, _ = smollm2.encode(messages)
    assert ours == theirs[0].tolist()


def test_llama_cpp_backend_takes_a_gguf_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00\xff" * 64)
    with pytest.raises(GeneratorError, match=rf"llama.cpp could not load {broken}"):
        create_generator(generator_settings(backend="llama-cpp", model=str(broken)))
    with pytest.raises(GeneratorError, match="does not exist"):
        create_generator(generator_settings(backend="llama-cpp", model=str(tmp_path / "missing.gguf")))
    with pytest.raises(GeneratorError, match="takes a path to a .gguf file.*use the `hf` backend"):
        create_generator(generator_settings(backend="llama-cpp", model="HuggingFaceTB/SmolLM2-360M-Instruct"))
