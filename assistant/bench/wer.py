"""Word error rate with two normalisations: Whisper's English text normaliser, and plain lower-case/no-punct.

Whisper's `EnglishTextNormalizer` (openai-whisper, MIT) is what published Whisper WERs use: it spells
numbers as digits ("fourteen fifty-five" -> "1455"), expands contractions and titles and unifies British
spellings. When openai-whisper is not installed, `english_normalize` is our compact re-implementation of
its main rules (numbers, contractions, titles, fillers); the report names which one was used.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def plain_normalize(text: str) -> str:
    """Lower-case, punctuation removed (apostrophes inside words kept), whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"[^\w\s']|_", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def whisper_normalizer() -> tuple[str, Callable[[str], str]]:
    """(name, function): openai-whisper's EnglishTextNormalizer if installed, else our port of its rules."""
    try:
        from whisper.normalizers import EnglishTextNormalizer
    except ImportError:
        return "assistant english_normalize (whisper rules, compact)", english_normalize
    return "whisper.normalizers.EnglishTextNormalizer", EnglishTextNormalizer()


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = {
    w: 10 * i
    for i, w in enumerate(
        ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
    if w != "_"
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fifth": 5, "eighth": 8, "ninth": 9, "twelfth": 12,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_CONTRACTIONS = {
    r"\bwon't\b": "will not", r"\bcan't\b": "can not", r"\blet's\b": "let us", r"\bain't\b": "aint",
    r"n't\b": " not", r"'re\b": " are", r"'ll\b": " will", r"'ve\b": " have", r"'m\b": " am", r"'d\b": " would",
}  # fmt: skip
_TITLES = {
    "mr": "mister",
    "mrs": "missus",
    "ms": "miss",
    "dr": "doctor",
    "st": "saint",
    "jr": "junior",
    "prof": "professor",
}
_FILLERS = r"\b(hmm|mm|mhm|mmm|uh|um|er|ah)\b"


def _word_value(word: str) -> tuple[int, str] | None:
    """(value, suffix) for a number word; suffix 'th'/'st'/... for ordinals."""
    if word in _ONES:
        return _ONES.index(word), ""
    if word in _TENS:
        return _TENS[word], ""
    if word in _ORDINALS:
        value = _ORDINALS[word]
        return value, {1: "st", 2: "nd", 3: "rd"}.get(value, "th")
    if word.endswith("ieth") and word[:-4] + "y" in _TENS:
        return _TENS[word[:-4] + "y"], "th"
    if word.endswith("th") and word[:-2] in _ONES:
        return _ONES.index(word[:-2]), "th"
    return None


def _numbers_to_digits(words: list[str]) -> list[str]:
    """Replace runs of number words by digits: "two hundred and one" -> "201", "fifteenth" -> "15th"."""
    out: list[str] = []
    i = 0
    while i < len(words):
        phrase: list[str] = []
        while i < len(words):
            word = words[i]
            is_and = word == "and" and phrase and i + 1 < len(words) and _word_value(words[i + 1])
            if not (_word_value(word) or (word in _SCALES and phrase) or is_and):
                break
            phrase.append(word)
            i += 1
            value = _word_value(word)
            if value and value[1]:
                break  # an ordinal ends the number
        if phrase:
            out.extend(_phrase_to_digits([w for w in phrase if w != "and"]))
        else:
            out.append(words[i])
            i += 1
    return out


def _phrase_to_digits(phrase: list[str]) -> list[str]:
    """Parse number words; a word that cannot continue the current number starts a new one.

    Two adjacent two-digit numbers read as one ("fourteen fifty five" -> "1455"), as Whisper does for years.
    """
    numbers: list[tuple[int, str, bool]] = []  # (value, ordinal suffix, simple two-digit)
    total = current = 0
    last = None  # kind of the previous word: unit, teen, tens, scale
    started = False

    def flush() -> None:
        nonlocal total, current, started
        if started:
            value = total + current
            numbers.append((value, suffix, 10 <= value <= 99 and not scaled))
        total = current = 0
        started = False

    suffix, scaled = "", False
    for word in phrase:
        if word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
            last, scaled = "scale", True
            continue
        value, word_suffix = _word_value(word)
        kind = "unit" if value < 10 else "teen" if value < 20 else "tens"
        fits = last in (None, "scale") or (last == "tens" and kind == "unit" and current % 10 == 0)
        if not fits:
            flush()
            suffix, scaled = "", False
        current += value
        started, last, suffix = True, kind, word_suffix
    flush()
    merged: list[str] = []
    j = 0
    while j < len(numbers):
        value, suffix, simple = numbers[j]
        if simple and j + 1 < len(numbers) and numbers[j + 1][2] and not suffix:
            merged.append(f"{value}{numbers[j + 1][0]:02d}{numbers[j + 1][1]}")
            j += 2
            continue
        merged.append(f"{value}{suffix}")
        j += 1
    return merged


def english_normalize(text: str) -> str:
    """Whisper's English normalisation rules that matter for WER, without its dependencies."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = re.sub(r"[<\[][^>\]]*[>\]]|\([^)]+?\)", "", text)
    text = re.sub(_FILLERS, "", text)
    for pattern, replacement in _CONTRACTIONS.items():
        text = re.sub(pattern, replacement, text)
    text = re.sub(r"\b(" + "|".join(_TITLES) + r")\b\.?", lambda m: _TITLES[m.group(1)], text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"[^\w\s$%.']|_|'|\.(?!\d)", " ", text.replace("-", " "))
    return " ".join(_numbers_to_digits(text.split()))


@dataclass(frozen=True)
class WER:
    errors: int
    words: int

    @property
    def rate(self) -> float:
        return self.errors / self.words if self.words else 0.0


def word_errors(reference: str, hypothesis: str) -> WER:
    """Levenshtein distance over words (substitutions + deletions + insertions) and the reference length."""
    ref, hyp = reference.split(), hypothesis.split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return WER(row[-1], len(ref))


def corpus_wer(pairs: Sequence[tuple[str, str]], normalize: Callable[[str], str]) -> WER:
    """Total errors over total reference words (not the mean of per-clip rates)."""
    errors = words = 0
    for reference, hypothesis in pairs:
        result = word_errors(normalize(reference), normalize(hypothesis))
        errors, words = errors + result.errors, words + result.words
    return WER(errors, words)
