"""Slot-word recall on real spoken commands: the Picovoice coffee-order set (`picovoice_dev`).

Read audiobook speech hid what our decoding speed-ups cost on short commands from many speakers, so
`assistant bench asr` also scores 200 real crowd-sourced orders. The set has slot labels but no verbatim
transcripts, so the measure is the one its SOURCE.md defines: the share of slot values found word for
word in the transcript, after lower-casing, dropping punctuation, writing numbers as digits and
"ounces"/"oz" as "ounce". Numbers and punctuation go through `english_normalize` (our port of Whisper's
English normaliser, used whether or not openai-whisper is installed, so the score never depends on it).

Data: Picovoice speech-to-intent benchmark, Apache-2.0 (Picovoice Inc.), see picovoice_dev/SOURCE.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.bench.wer import english_normalize
from assistant.speech.types import SAMPLE_RATE

FOLDER = "picovoice_dev"
ATTRIBUTION = (
    "Picovoice speech-to-intent benchmark (github.com/Picovoice/speech-to-intent-benchmark), "
    "Apache-2.0, Picovoice Inc."
)
_OUNCE = {"ounces": "ounce", "oz": "ounce"}


class SlotDataError(ValueError):
    """The slot set's folder or label file is missing or malformed (a message, never a traceback)."""


@dataclass(frozen=True)
class SlotClip:
    name: str
    audio: np.ndarray
    slots: dict[str, str]  # slot name -> the words as spoken, e.g. {"size": "twelve ounce"}

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class SlotRecall:
    """Slot values found word for word (the headline) and single slot words found anywhere."""

    values_found: int
    values: int
    words_found: int
    words: int

    @property
    def rate(self) -> float:
        return self.values_found / self.values if self.values else 0.0

    @property
    def word_rate(self) -> float:
        return self.words_found / self.words if self.words else 0.0


def normalize(text: str) -> list[str]:
    """SOURCE.md's normalisation as words: lower case, no punctuation, digits, "ounce" for ounces/oz."""
    text = re.sub(r"(\d)\s*(oz|ounces?)\b", r"\1 \2", text.lower())  # "12oz" -> "12 oz"
    return [_OUNCE.get(word, word) for word in english_normalize(text).split()]


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def score(pairs: Iterable[tuple[dict[str, str], str]]) -> SlotRecall:
    """Recall over (slots, transcript) pairs, totals over the whole set (not a mean of per-clip rates)."""
    values_found = values = words_found = words = 0
    for slots, transcript in pairs:
        heard = normalize(transcript)
        for value in slots.values():
            phrase = normalize(value)
            if not phrase:
                continue
            values += 1
            values_found += _contains(heard, phrase)
            words += len(phrase)
            words_found += sum(word in heard for word in phrase)
    return SlotRecall(values_found, values, words_found, words)


def read_labels(folder: Path) -> dict[str, dict[str, str]]:
    """{clip file name (.flac): slots} from label.json, checked so a bad file fails with a message."""
    path = folder / "label.json"
    if not path.is_file():
        raise SlotDataError(f"No label.json in {folder} (expected the picovoice_dev set, see SOURCE.md).")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SlotDataError(f"{path}: not readable JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise SlotDataError(f"{path}: expected an object mapping clip names to labels.")
    labels: dict[str, dict[str, str]] = {}
    for key, entry in raw.items():
        slots = entry.get("slots") if isinstance(entry, dict) else None
        if not isinstance(slots, dict) or not all(isinstance(v, str) for v in slots.values()):
            raise SlotDataError(f"{path}: {key!r} has no slots mapping of strings.")
        labels[Path(key).stem + ".flac"] = {str(k): v for k, v in slots.items()}
    return labels


def load_slot_clips(folder: Path, limit: int | None = None) -> list[SlotClip]:
    """The labelled clips of `folder` (picovoice_dev) as 16 kHz mono, in name order."""
    from assistant.audio import AudioError, load_audio
    from assistant.config import AudioSettings

    labels = read_labels(folder)
    audio_dir = folder / "clean"
    names = sorted(labels)[:limit] if limit else sorted(labels)
    clips = []
    for name in names:
        path = audio_dir / name
        if not path.is_file():
            raise SlotDataError(f"{folder}: label.json names {name}, but clean/{name} is missing.")
        try:
            audio = load_audio(path, AudioSettings(min_seconds=0.0))
        except AudioError as exc:
            raise SlotDataError(f"{path}: {exc}") from None
        clips.append(SlotClip(name, audio, labels[name]))
    return clips
