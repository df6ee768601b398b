"""Weight-only int8 linear layers for fast CPU decoding of small language models.

Decoding one token reads every weight once, so on CPU its speed is bound by how many bytes the weights
take: int8 weights (one scale per output row) stream 4x fewer bytes than fp32. Activations stay in
floating point (bf16 inside the int8 kernel), which keeps replies close to fp32; torch's dynamic int8
quantisation (``quantize_dynamic``) also quantises activations and hurt SmolLM2 badly (mean NLL of the
fp32 model's own greedy replies: fp32 0.97, weight-only int8 0.98, dynamic int8 3.10), so we do not use it.

Prompt processing (many rows at once) is compute-bound; there the int8 kernel is slower than an fp32
matmul for more than ~20 rows, but dequantising the weights on the fly was slower still (it allocates
and fills a fresh fp32 copy of every weight), so every call takes the int8 kernel; the generator reuses
the cached prompt prefix across turns, which keeps the rows per call small.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


def int8_supported() -> bool:
    """Whether this torch build has the weight-only int8 CPU kernel."""
    return hasattr(torch, "_weight_int8pack_mm")


class Int8Linear(nn.Module):
    """A frozen linear layer with int8 weights and one bf16 scale per output row (symmetric, per channel)."""

    def __init__(self, qweight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.out_features, self.in_features = qweight.shape
        # Always fresh copies: the kernel needs aligned memory, which tensors read straight from a
        # safetensors file (at arbitrary offsets in a mapped file) do not have - it crashed on them.
        self.register_buffer("qweight", qweight.to(torch.int8).clone(memory_format=torch.contiguous_format))
        self.register_buffer("scale", scale.to(torch.bfloat16).clone(memory_format=torch.contiguous_format))
        self.bias = None if bias is None else nn.Parameter(bias.detach().float().clone(), requires_grad=False)

    @classmethod
    def quantize(cls, linear: nn.Linear) -> Int8Linear:
        weight = linear.weight.detach().float()
        scale = (weight.abs().amax(dim=1) / 127.0).clamp(min=1e-8)
        qweight = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
        return cls(qweight, scale, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1]).to(torch.bfloat16)
        out = torch._weight_int8pack_mm(rows, self.qweight, self.scale).to(x.dtype)
        if self.bias is not None:
            out = out + self.bias.to(x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 weight-only"


def quantize_linears(
    model: nn.Module, saved: Mapping[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Replace every nn.Linear in `model` (in place) with an Int8Linear; returns the int8 tensors by name.

    `saved` (an earlier return value, e.g. read from a cache file) skips the quantising arithmetic.
    Tied weights (SmolLM2's lm_head shares the embedding matrix) are fine: the embedding keeps its float
    copy for look-ups and the output layer gets its own int8 copy. The float tensors left are copied into
    process memory, so the mapped checkpoint file (all fp32 weights) is released rather than kept resident.
    """
    saved = saved or {}
    quantized: dict[str, torch.Tensor] = {}
    for name, linear in [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]:
        qweight, scale = saved.get(f"{name}.qweight"), saved.get(f"{name}.scale")
        if qweight is not None and scale is not None and qweight.shape == linear.weight.shape:
            layer = Int8Linear(qweight, scale, linear.bias)
        else:
            layer = Int8Linear.quantize(linear)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, layer)
        quantized[f"{name}.qweight"], quantized[f"{name}.scale"] = layer.qweight, layer.scale
    for parameter in model.parameters():
        parameter.data = parameter.data.clone()
    for module in model.modules():
        for key, buffer in list(module._buffers.items()):
            if buffer is not None and not isinstance(module, Int8Linear):
                module._buffers[key] = buffer.clone()
    return quantized
