"""Mean ± std over seeds, and the verdict rule every claim uses.

A claim is checked at several points (sequence lengths, distances, data fractions, ...). At each point it
holds when the side the article favours is better beyond the spread: its mean ± std does not overlap the
other side's (and beats it by at least `margin`). The verdict is "confirmed" when it holds at every point,
"refuted" when it holds at none, else "depends on <axis>" with the points where it held.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

CONFIRMED, REFUTED, DEPENDS = "confirmed", "refuted", "depends on"


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) over seeds or repeats."""

    mean: float
    std: float
    n: int

    def text(self, fmt: str = ".2f", unit: str = "") -> str:
        body = f"{self.mean:{fmt}}"
        if self.n > 1:
            body += f" ± {self.std:{fmt}}"
        return body + unit

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def stat(values: Iterable[float]) -> Stat:
    items = [float(v) for v in values]
    if not items:
        return Stat(math.nan, 0.0, 0)
    mean = sum(items) / len(items)
    if len(items) == 1:
        return Stat(mean, 0.0, 1)
    return Stat(mean, math.sqrt(sum((v - mean) ** 2 for v in items) / (len(items) - 1)), len(items))


def beats(a: Stat, b: Stat, higher_is_better: bool, margin: float = 0.0) -> bool:
    """Whether `a` is better than `b` beyond both spreads (and by more than `margin`)."""
    if a.n == 0 or b.n == 0 or math.isnan(a.mean) or math.isnan(b.mean):
        return False
    if higher_is_better:
        return a.mean - a.std > b.mean + b.std + margin
    return a.mean + a.std < b.mean - b.std - margin


@dataclass(frozen=True)
class Check:
    """One point of a claim: where it was checked, whether the claim held there, and the numbers."""

    point: str
    holds: bool
    detail: str

    def to_dict(self) -> dict:
        return {"point": self.point, "holds": self.holds, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    verdict: str  # "confirmed" | "refuted" | "depends on <axis>"
    reason: str  # one line, from the checks

    @property
    def line(self) -> str:
        return f"**{self.verdict}** — {self.reason}"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reason": self.reason}


def verdict(checks: list[Check], axis: str) -> Verdict:
    """The rule: confirmed at every point, refuted at none, otherwise it depends on `axis`."""
    if not checks:
        return Verdict(f"{DEPENDS} {axis}", "nothing was measured")
    held = [c.point for c in checks if c.holds]
    missed = [c.point for c in checks if not c.holds]
    if not missed:
        return Verdict(CONFIRMED, f"holds at every {axis} measured ({', '.join(held)})")
    if not held:
        return Verdict(REFUTED, f"holds at no {axis} measured ({', '.join(missed)})")
    return Verdict(f"{DEPENDS} {axis}", f"holds at {', '.join(held)}; not at {', '.join(missed)}")


def is_verdict(text: str) -> bool:
    return text in (CONFIRMED, REFUTED) or (text.startswith(DEPENDS + " ") and len(text) > len(DEPENDS) + 1)


def summaries(per_arch: dict) -> dict:
    """arch -> point -> values, as arch -> str(point) -> mean/std/n (what every claim's JSON carries)."""
    return {arch: {str(x): stat(v).to_dict() for x, v in per.items()} for arch, per in per_arch.items()}
