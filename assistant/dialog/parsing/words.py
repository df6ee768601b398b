"""Tokens with spelled-out numbers folded in: "twenty five" -> 25, "three point five" -> 3.5, "third" -> 3rd.

Every token keeps the original words it came from, so a skill can cut a matched span (a time, a list name)
out of the request and keep the rest verbatim (an event title, a list item).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 10**12}
ORDINAL_UNITS = {
    "first": 1, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}  # fmt: skip
ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}
MAX_DIGITS = 300  # longer digit strings keep value None; the arithmetic skill reads them itself

_TOKEN = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2})?"  # clock 7:30 / 7:30:15
    r"|\d+(?:,\d{3})+(?:\.\d+)?(?:st|nd|rd|th)?"  # 1,000 / 1,000.5
    r"|\d+(?:\.\d+)?(?:st|nd|rd|th)?"  # 42 / 3.5 / 3rd
    r"|[^\W\d_]+(?:'[^\W\d_]+)?"  # words (with apostrophes: what's, o'clock)
    r"|[^\s\w]",  # any other symbol, one at a time
)
_MERIDIEM = re.compile(r"\b([ap])\.\s?m\b\.?", re.IGNORECASE)
_GLUED = re.compile(r"(?<=\d)(?=[a-z])(?!(?:st|nd|rd|th)\b)|(?<=[a-z])(?=\d)", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    text: str  # the original words (joined by spaces when several were folded into one number)
    norm: str  # lowercase word, or the number's digits
    value: float | int | None = None  # a number's value
    ordinal: bool = False

    @property
    def is_number(self) -> bool:
        return self.value is not None


def _number_value(digits: str) -> int | float | None:
    clean = digits.replace(",", "")
    if len(clean) > MAX_DIGITS:
        return None
    return float(clean) if "." in clean else int(clean)


def _raw_tokens(text: str) -> list[str]:
    text = _MERIDIEM.sub(r"\1m", text.replace("\u2019", "'"))  # a.m. -> am
    text = _GLUED.sub(" ", text)  # 7am -> 7 am, 1h30m -> 1 h 30 m
    return _TOKEN.findall(text)


def tokenize(text: str) -> list[Token]:
    """Lowercased tokens with number words folded into numbers."""
    raw = _raw_tokens(text)
    out: list[Token] = []
    i = 0
    while i < len(raw):
        word = raw[i]
        low = word.lower()
        if low[:1].isdigit() and ":" not in low:
            ordinal = low[-2:] in ("st", "nd", "rd", "th")
            digits = low[:-2] if ordinal else low
            value = _number_value(digits)
            out.append(Token(word, digits.replace(",", ""), value, ordinal))
            i += 1
            continue
        parsed = _spelled_number(raw, i)
        if parsed is not None:
            value, ordinal, end = parsed
            norm = str(int(value)) if float(value).is_integer() else str(value)
            out.append(Token(" ".join(raw[i:end]), norm, value, ordinal))
            i = end
            continue
        out.append(Token(word, low))
        i += 1
    return _fold_fractions(out)


def _fold_fractions(tokens: list[Token]) -> list[Token]:
    """'two and a half' -> 2.5 (durations and amounts say this a lot)."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        tail = [t.norm for t in tokens[i + 1 : i + 4]]
        if (
            tok.is_number
            and not tok.ordinal
            and tail[:2] == ["and", "a"]
            and tail[2:3] in (["half"], ["quarter"])
        ):
            extra = 0.5 if tail[2] == "half" else 0.25
            text = " ".join(t.text for t in tokens[i : i + 4])
            value = tok.value + extra  # type: ignore[operator]
            out.append(Token(text, str(value), value))
            i += 4
            continue
        out.append(tok)
        i += 1
    return out


def _spelled_number(raw: list[str], start: int) -> tuple[float | int, bool, int] | None:
    """Parse the longest spelled-out number at raw[start]; returns (value, ordinal, end)."""
    total = 0
    group = 0  # below the current thousand scale
    last = ""  # kind of the previous word: unit, teen, tens, hundred, scale
    i = start
    ordinal = False
    seen = False
    while i < len(raw):
        low = raw[i].lower()
        if (
            low in ("a", "an")
            and not seen
            and i + 1 < len(raw)
            and raw[i + 1].lower() in ("hundred", *SCALES)
        ):
            group, last, seen = 1, "unit", True
            i += 1
            continue
        if low == "and" and last in ("hundred", "scale") and i + 1 < len(raw):
            nxt = raw[i + 1].lower()
            if nxt in UNITS or nxt in TENS or nxt in ORDINAL_UNITS:
                i += 1
                continue
            break
        unit = UNITS.get(low, ORDINAL_UNITS.get(low))
        tens = TENS.get(low, ORDINAL_TENS.get(low))
        if unit is not None:
            if last in ("unit", "teen"):
                break
            if last == "tens" and (unit >= 10 or unit == 0):
                break
            group += unit
            last = "teen" if unit >= 10 else "unit"
            ordinal = low in ORDINAL_UNITS
        elif tens is not None:
            if last in ("unit", "teen", "tens"):
                break
            group += tens
            last = "tens"
            ordinal = low in ORDINAL_TENS
        elif low == "hundred" and last in ("unit", "teen", "tens"):
            group *= 100
            last = "hundred"
        elif low in SCALES and seen and last != "scale":
            total += max(group, 1) * SCALES[low]
            group = 0
            last = "scale"
        elif low == "point" and seen and last in ("unit", "teen", "tens", "hundred", "scale"):
            digits = []
            j = i + 1
            while j < len(raw) and raw[j].lower() in UNITS and UNITS[raw[j].lower()] < 10:
                digits.append(str(UNITS[raw[j].lower()]))
                j += 1
            if not digits:
                break
            return float(f"{total + group}.{''.join(digits)}"), False, j
        else:
            break
        seen = True
        i += 1
        if ordinal:
            break
    if not seen:
        return None
    return total + group, ordinal, i


def words_to_number(text: str) -> float | int | None:
    """The value of text that is exactly one number ("twenty five", "3.5", "a hundred"), else None."""
    tokens = tokenize(text)
    if len(tokens) == 1 and tokens[0].is_number:
        return tokens[0].value
    return None


def join(tokens: list[Token]) -> str:
    """Original text of a token run, with symbols glued back where they were glued ("don't", "5%")."""
    text = " ".join(t.text for t in tokens)
    return re.sub(r" ([,.!?;:%)])", r"\1", text).replace("( ", "(")
