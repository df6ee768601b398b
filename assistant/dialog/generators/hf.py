"""`hf`: any transformers causal LM, by Hugging Face id or local folder (settings.generator.model).

An encoder-decoder model (T5, BART families: `config.is_encoder_decoder`) loads as a seq2seq LM and
answers through `seq2seq.Seq2SeqLM`, which feeds it the messages as one plain text.

A cached or local model loads without the network. An id that is not cached is downloaded when the Hub
is reachable; offline (HF_HUB_OFFLINE, or no route to the Hub) it fails at once with a message naming
the fix, instead of transformers' minute of retries.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

from assistant.config import GeneratorSettings
from assistant.dialog.generators.base import GeneratorError, describe, generators
from assistant.dialog.types import Generator
from assistant.offline import hub_offline_message

OFFLINE_FIX = (
    "Download it once while online (run the same command with internet access), "
    "or set generator.model to a local model folder."
)


@generators.register(
    "hf", "any transformers causal or seq2seq (T5, BART) LM by Hub id or local folder (generator.model)"
)
def hf(config: GeneratorSettings, device: str, cache_dir: Path) -> Generator:
    """A transformers causal or encoder-decoder LM by id or path; fp32 on CPU, bf16/fp16 on CUDA."""
    from assistant.dialog.generators.local import LocalLM, resolve_dtype
    from assistant.dialog.generators.seq2seq import Seq2SeqLM

    if not config.model:
        raise GeneratorError(
            "The hf generator needs a model: set generator.model to a Hugging Face id or a local folder, "
            "e.g. --set generator.model=HuggingFaceTB/SmolLM2-360M-Instruct."
        )
    dtype = resolve_dtype(config.dtype, device)
    source = config.model
    local = Path(source).expanduser()
    if local.exists() or source.startswith((".", "/", "~")):
        if not (local / "config.json").is_file():
            raise GeneratorError(f"{local} is not a transformers model folder (no config.json in it).")
        model, tokenizer = _load(str(local), dtype, device, local_files_only=True)
    else:
        model, tokenizer = _load_from_hub(source, dtype, device)
    if model.config.is_encoder_decoder:
        return Seq2SeqLM(f"hf:{source}", model, tokenizer, config, device, dtype)
    return LocalLM(f"hf:{source}", model, tokenizer, config, device, dtype)


def _load_lm(source: str, dtype: str, device: str, local_files_only: bool):  # type: ignore[no-untyped-def]
    """(model, tokenizer): a seq2seq LM when the config is an encoder-decoder, else a causal LM."""
    from assistant.dialog.generators.local import load_causal_lm
    from assistant.dialog.generators.seq2seq import is_encoder_decoder, load_seq2seq_lm

    load = load_seq2seq_lm if is_encoder_decoder(source, local_files_only) else load_causal_lm
    return load(source, dtype, device, local_files_only=local_files_only)


def _load(source: str, dtype: str, device: str, local_files_only: bool):  # type: ignore[no-untyped-def]
    try:
        return _load_lm(source, dtype, device, local_files_only=local_files_only)
    except GeneratorError:
        raise
    except (OSError, ValueError, ImportError) as exc:
        raise GeneratorError(f"Could not load the model {source!r}: {describe(exc)}") from exc


def _load_from_hub(model_id: str, dtype: str, device: str):  # type: ignore[no-untyped-def]
    from huggingface_hub import constants
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:  # the Hub cache first: no network, no retries
        return _load_lm(model_id, dtype, device, local_files_only=True)
    except OSError:
        pass
    if constants.is_offline_mode() or not _reachable(constants.ENDPOINT):
        raise GeneratorError(hub_offline_message(model_id, OFFLINE_FIX))
    try:
        return _load_lm(model_id, dtype, device, local_files_only=False)
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise GeneratorError(
            f"The Hugging Face Hub has no model {model_id!r} that this machine may read. Check the id; "
            "for a gated or private model accept its licence on the Hub and set HF_TOKEN."
        ) from exc
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"Could not download or load the model {model_id!r}: {describe(exc)}") from exc


def _reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub opens (a quick check before a download that would retry)."""
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False
