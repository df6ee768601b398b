"""Durations: "ten minutes", "1h 30m", "half an hour", "an hour and a half", "90 secs", "2.5 hours"."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.dialog.parsing.words import Token, tokenize

UNIT_SECONDS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60, "m": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600,
    "day": 86400, "days": 86400, "d": 86400,
    "week": 604800, "weeks": 604800,
}  # fmt: skip


@dataclass(frozen=True)
class DurationMatch:
    seconds: float
    start: int  # token span [start, end)
    end: int


def _unit(tokens: list[Token], i: int) -> int | None:
    if i < len(tokens) and tokens[i].norm in UNIT_SECONDS:
        # single letters only count right after a number (they are also words: "a", "m"...)
        return UNIT_SECONDS[tokens[i].norm]
    return None


def _one_part(tokens: list[Token], i: int) -> tuple[float, int] | None:
    """A single "<amount> <unit>" at i; returns (seconds, next index)."""
    n = len(tokens)
    norms = [t.norm for t in tokens[i : i + 6]]
    # "half an hour", "a quarter of an hour", "three quarters of an hour"
    if norms[:1] == ["half"] and norms[1:2] in (["an"], ["a"]) and (unit := _unit(tokens, i + 2)):
        return unit / 2, i + 3
    if norms[:1] in (["a"], ["one"], ["1"]) and norms[1:2] == ["half"] and (unit := _unit(tokens, i + 2)):
        return unit / 2, i + 3
    for lead, share in ((["a", "quarter"], 0.25), (["quarter"], 0.25), (["3", "quarters"], 0.75)):
        k = len(lead)
        if (
            norms[:k] == lead
            and norms[k : k + 2] in (["of", "an"], ["of", "a"])
            and (unit := _unit(tokens, i + k + 2))
        ):
            return unit * share, i + k + 3
    tok = tokens[i]
    amount: float | None = None
    if tok.is_number and not tok.ordinal:
        amount = float(tok.value)  # type: ignore[arg-type]
    elif tok.norm in ("a", "an") and i + 1 < n and tokens[i + 1].norm not in ("s", "m", "h", "d"):
        amount = 1.0
    elif tok.norm == "couple" or (tok.norm == "a" and norms[1:3] == ["couple", "of"]):
        return None
    if amount is None:
        return None
    unit = _unit(tokens, i + 1)
    if unit is None:
        return None
    seconds = amount * unit
    j = i + 2
    tail = [t.norm for t in tokens[j : j + 3]]
    if tail == ["and", "a", "half"]:
        seconds += unit / 2
        j += 3
    elif tail == ["and", "a", "quarter"]:
        seconds += unit / 4
        j += 3
    return seconds, j


def find_duration(tokens: list[Token]) -> DurationMatch | None:
    """The first duration in the tokens, summing adjacent parts ("1 hour and 30 minutes")."""
    for i in range(len(tokens)):
        part = _one_part(tokens, i)
        if part is None:
            continue
        total, j = part
        while j < len(tokens):
            k = j + 1 if tokens[j].norm in ("and", ",") else j
            more = _one_part(tokens, k) if k < len(tokens) else None
            if more is None:
                break
            total += more[0]
            j = more[1]
        return DurationMatch(total, i, j)
    return None


def parse_duration(text: str) -> float | None:
    """Seconds in text's first duration, or None."""
    found = find_duration(tokenize(text))
    return found.seconds if found else None


def say_duration(seconds: float) -> str:
    """'1 hour and 30 minutes', '45 seconds' (rounded to the second)."""
    total = round(seconds)
    if total <= 0:
        return "0 seconds"
    parts = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
