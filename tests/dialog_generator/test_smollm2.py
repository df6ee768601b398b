"""SmolLM2-135M on the transformers runtime (converted once, then loaded from the cache); the behaviour
it shares with the llama.cpp runtime is tested in test_local_runtimes.py."""

from __future__ import annotations

import pytest

from assistant.dialog.generators.local import LocalLM

pytestmark = pytest.mark.slow


def test_transformers_runtime_on_cpu_is_float32(smollm2: LocalLM) -> None:
    assert smollm2.name == "smollm2-135m" and smollm2.dtype == "float32"  # dtype auto on CPU


def test_int8_weights_keep_the_fp32_model_predictions(smollm2: LocalLM, hf_fp32: LocalLM) -> None:
    """Weight-only int8 must not change what the model predicts (dynamic int8 did: ~45% agreement)."""
    import torch
    from transformers import DynamicCache

    tokenizer = smollm2.tokenizer
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "How do I boil an egg?"},
         {"role": "assistant", "content": "Put the egg in boiling water for about eight minutes, then cool it."}],
        tokenize=False,
    )  # fmt: skip
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        want = hf_fp32.model(ids).logits[0].argmax(-1)
        got = smollm2.model(ids).logits[0].argmax(-1)  # many rows: the dequantised matmul path
        cache = DynamicCache(config=smollm2.model.config)
        smollm2.model(ids[:, :-8], past_key_values=cache, use_cache=True)
        steps = [  # one row at a time: the int8 kernel path, as in decoding
            smollm2.model(ids[:, i : i + 1], past_key_values=cache, use_cache=True).logits[0, -1].argmax()
            for i in range(ids.shape[1] - 8, ids.shape[1])
        ]
    assert (got == want).float().mean() >= 0.9
    assert (torch.stack(steps) == want[-8:]).float().mean() >= 0.75
