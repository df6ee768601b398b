"""Rebuild an openai-whisper checkpoint from a CTranslate2 Whisper `model.bin`.

The offline default model ships only in CTranslate2 format. Its weights are the original Whisper tensors,
renamed and fused by ctranslate2's Hugging Face converter (converters/transformers.py, WhisperLoader):

* self-attention q, k, v are concatenated into `self_attention/linear_0`; the key has no bias in Whisper,
  so its slice of the fused bias is zeros;
* cross-attention keeps q in `attention/linear_0` and fuses k, v into `attention/linear_1`;
* `decoder/projection/weight` is an alias of the token embedding (Whisper ties them).

`model.bin` (binary version 6) is little-endian:
    u32 version, str spec_name, u32 spec_revision, u32 n_variables,
    n_variables x (str name, u8 rank, rank x u32 dim, u8 dtype_id, u32 n_bytes, raw bytes),
    u32 n_aliases, n_aliases x (str alias, str target)
where `str` is a u16 length (including a trailing NUL) followed by UTF-8 bytes and the NUL.
dtype ids: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16. An int8/int16 weight comes with a
float32 `<name>_scale` (per output row for int8); the float value is `weight / scale`.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_SPEC = "WhisperSpec"
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: None}  # 5 = bfloat16


class WhisperExportError(ValueError):
    """The CTranslate2 model cannot be turned into an openai-whisper checkpoint; the message says why."""


@dataclass(frozen=True)
class CT2Model:
    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]

    def get(self, name: str) -> np.ndarray:
        """A variable as float32 (dequantized if stored as int8/int16), following aliases."""
        name = self.aliases.get(name, name)
        if name not in self.variables:
            raise WhisperExportError(f"model.bin has no variable {name!r}; is it a Whisper model?")
        value = self.variables[name]
        scale = self.variables.get(f"{name}_scale")
        if value.dtype in (np.int8, np.int16) and scale is not None:
            scale = scale.astype(np.float32)
            if scale.ndim == 1:  # one scale per output row
                scale = scale.reshape((-1,) + (1,) * (value.ndim - 1))
            return value.astype(np.float32) / scale
        return value.astype(np.float32)

    def scalar(self, name: str) -> int:
        return int(self.variables[name].reshape(()))


def read_ct2_model(path: Path) -> CT2Model:
    """Parse a CTranslate2 `model.bin` into numpy arrays (no ctranslate2 import needed)."""
    data = Path(path).read_bytes()
    offset = 0

    def unpack(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return value

    def string() -> str:
        nonlocal offset
        length = unpack("H")
        text = data[offset : offset + length - 1].decode("utf-8")
        offset += length
        return text

    try:
        version = unpack("I")
        if version < 5 or version > 6:
            raise WhisperExportError(
                f"{path}: CTranslate2 binary version {version} is not supported (5 or 6)."
            )
        spec = string()
        revision = unpack("I")
        variables: dict[str, np.ndarray] = {}
        for _ in range(unpack("I")):
            name = string()
            shape = tuple(unpack("I") for _ in range(unpack("B")))
            dtype_id = unpack("B")
            n_bytes = unpack("I")
            raw = data[offset : offset + n_bytes]
            offset += n_bytes
            if len(raw) != n_bytes:
                raise WhisperExportError(f"{path} is truncated (variable {name!r}).")
            variables[name] = _decode(raw, dtype_id, shape, name)
        aliases = {}
        for _ in range(unpack("I")):
            alias = string()
            aliases[alias] = string()
    except struct.error as exc:
        raise WhisperExportError(f"{path} is not a CTranslate2 model.bin or is truncated ({exc}).") from exc
    return CT2Model(spec, revision, variables, aliases)


def _decode(raw: bytes, dtype_id: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    if dtype_id not in _DTYPES:
        raise WhisperExportError(f"Variable {name!r} has unknown dtype id {dtype_id}.")
    if _DTYPES[dtype_id] is None:  # bfloat16: the high half of a float32
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=np.dtype(_DTYPES[dtype_id]).newbyteorder("<")).reshape(shape)


def whisper_state_dict(model: CT2Model) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Map CTranslate2 names to openai-whisper names: (ModelDimensions kwargs, state dict as float16)."""
    if model.spec != SUPPORTED_SPEC:
        raise WhisperExportError(f"model.bin holds a {model.spec}, not a {SUPPORTED_SPEC}.")
    g = model.get
    n_audio_layer = _count_layers(model, "encoder")
    n_text_layer = _count_layers(model, "decoder")
    conv1 = g("encoder/conv1/weight")
    embed = g("decoder/embeddings/weight")
    dims = {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": g("encoder/position_encodings/encodings").shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": model.scalar("encoder/num_heads"),
        "n_audio_layer": n_audio_layer,
        "n_vocab": embed.shape[0],
        "n_text_ctx": g("decoder/position_encodings/encodings").shape[0],
        "n_text_state": embed.shape[1],
        "n_text_head": model.scalar("decoder/num_heads"),
        "n_text_layer": n_text_layer,
    }
    sd: dict[str, np.ndarray] = {
        "encoder.conv1.weight": conv1,
        "encoder.conv1.bias": g("encoder/conv1/bias"),
        "encoder.conv2.weight": g("encoder/conv2/weight"),
        "encoder.conv2.bias": g("encoder/conv2/bias"),
        "encoder.positional_embedding": g("encoder/position_encodings/encodings"),
        "encoder.ln_post.weight": g("encoder/layer_norm/gamma"),
        "encoder.ln_post.bias": g("encoder/layer_norm/beta"),
        "decoder.token_embedding.weight": embed,
        "decoder.positional_embedding": g("decoder/position_encodings/encodings"),
        "decoder.ln.weight": g("decoder/layer_norm/gamma"),
        "decoder.ln.bias": g("decoder/layer_norm/beta"),
    }
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        sd.update(_self_attention(model, f"{src}/self_attention", f"{dst}.attn", f"{dst}.attn_ln"))
        sd.update(_mlp(model, f"{src}/ffn", dst))
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        sd.update(_self_attention(model, f"{src}/self_attention", f"{dst}.attn", f"{dst}.attn_ln"))
        sd.update(_cross_attention(model, f"{src}/attention", f"{dst}.cross_attn", f"{dst}.cross_attn_ln"))
        sd.update(_mlp(model, f"{src}/ffn", dst))
    projection = model.aliases.get("decoder/projection/weight", "decoder/projection/weight")
    if projection != "decoder/embeddings/weight" and not np.allclose(
        g("decoder/projection/weight"), embed, atol=1e-2
    ):
        raise WhisperExportError("The output projection is not tied to the token embedding as in Whisper.")
    return dims, {k: v.astype(np.float16) for k, v in sd.items()}


def _count_layers(model: CT2Model, side: str) -> int:
    n = 0
    while f"{side}/layer_{n}/ffn/linear_0/weight" in model.variables:
        n += 1
    if n == 0:
        raise WhisperExportError(f"model.bin has no {side} layers.")
    return n


def _self_attention(model: CT2Model, src: str, attn: str, ln: str) -> dict[str, np.ndarray]:
    qkv_w, qkv_b = model.get(f"{src}/linear_0/weight"), model.get(f"{src}/linear_0/bias")
    q_w, k_w, v_w = np.split(qkv_w, 3)
    q_b, k_b, v_b = np.split(qkv_b, 3)
    _check_zero_key_bias(k_b, src)
    return {
        f"{attn}.query.weight": q_w,
        f"{attn}.query.bias": q_b,
        f"{attn}.key.weight": k_w,
        f"{attn}.value.weight": v_w,
        f"{attn}.value.bias": v_b,
        f"{attn}.out.weight": model.get(f"{src}/linear_1/weight"),
        f"{attn}.out.bias": model.get(f"{src}/linear_1/bias"),
        f"{ln}.weight": model.get(f"{src}/layer_norm/gamma"),
        f"{ln}.bias": model.get(f"{src}/layer_norm/beta"),
    }


def _cross_attention(model: CT2Model, src: str, attn: str, ln: str) -> dict[str, np.ndarray]:
    kv_w, kv_b = model.get(f"{src}/linear_1/weight"), model.get(f"{src}/linear_1/bias")
    k_w, v_w = np.split(kv_w, 2)
    k_b, v_b = np.split(kv_b, 2)
    _check_zero_key_bias(k_b, src)
    return {
        f"{attn}.query.weight": model.get(f"{src}/linear_0/weight"),
        f"{attn}.query.bias": model.get(f"{src}/linear_0/bias"),
        f"{attn}.key.weight": k_w,
        f"{attn}.value.weight": v_w,
        f"{attn}.value.bias": v_b,
        f"{attn}.out.weight": model.get(f"{src}/linear_2/weight"),
        f"{attn}.out.bias": model.get(f"{src}/linear_2/bias"),
        f"{ln}.weight": model.get(f"{src}/layer_norm/gamma"),
        f"{ln}.bias": model.get(f"{src}/layer_norm/beta"),
    }


def _mlp(model: CT2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {
        f"{dst}.mlp.0.weight": model.get(f"{src}/linear_0/weight"),
        f"{dst}.mlp.0.bias": model.get(f"{src}/linear_0/bias"),
        f"{dst}.mlp.2.weight": model.get(f"{src}/linear_1/weight"),
        f"{dst}.mlp.2.bias": model.get(f"{src}/linear_1/bias"),
        f"{dst}.mlp_ln.weight": model.get(f"{src}/layer_norm/gamma"),
        f"{dst}.mlp_ln.bias": model.get(f"{src}/layer_norm/beta"),
    }


def _check_zero_key_bias(bias: np.ndarray, where: str) -> None:
    # Whisper's key projection has no bias; a non-zero one means this is not a Whisper-shaped model.
    if np.abs(bias).max(initial=0.0) > 1e-6:
        raise WhisperExportError(
            f"{where}: the key bias is not zero, so it cannot map to Whisper (no key bias)."
        )


def alignment_heads_dump(heads: list[list[int]], n_layer: int, n_head: int) -> bytes:
    """Encode (layer, head) pairs the way openai-whisper's `set_alignment_heads` expects (b85 gzip bools)."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def export_whisper(ct2_dir: Path, output: Path) -> Path:
    """Write an openai-whisper checkpoint (`torch.save({"dims", "model_state_dict"})`) from a CT2 folder."""
    import torch

    ct2_dir = Path(ct2_dir)
    model_bin = ct2_dir / "model.bin"
    if not model_bin.is_file():
        raise WhisperExportError(f"No model.bin in {ct2_dir}; point to a CTranslate2 Whisper model folder.")
    dims, state = whisper_state_dict(read_ct2_model(model_bin))
    checkpoint: dict[str, object] = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.ascontiguousarray(v)) for name, v in state.items()},
    }
    config = ct2_dir / "config.json"
    if config.is_file():
        heads = json.loads(config.read_text()).get("alignment_heads")
        if heads:
            checkpoint["alignment_heads"] = alignment_heads_dump(
                heads, dims["n_text_layer"], dims["n_text_head"]
            )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(output)
    return output
