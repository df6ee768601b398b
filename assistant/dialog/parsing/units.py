"""Unit conversion: length, mass, volume, temperature, speed, time (US customary where names clash:
a "gallon" is the US gallon, a "ton" the US short ton; "imperial gallon" and "tonne" say otherwise).

Conversions are exact factors to one base unit per quantity (temperature is affine), written down from
the unit definitions (1 in = 2.54 cm exactly, 1 lb = 0.45359237 kg exactly, 1 US gal = 231 in^3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.dialog.parsing.words import tokenize


@dataclass(frozen=True)
class Unit:
    name: str  # singular, as spoken
    plural: str
    quantity: str
    factor: float  # base units per one of this unit (temperature: see convert)


_DEFS: list[tuple[str, str, float, list[str]]] = [
    # quantity, canonical "singular|plural", factor, aliases
    ("length", "meter|meters", 1.0, ["metre", "metres", "m"]),
    ("length", "kilometer|kilometers", 1000.0, ["kilometre", "kilometres", "km", "kms", "k"]),
    ("length", "centimeter|centimeters", 0.01, ["centimetre", "centimetres", "cm", "cms"]),
    ("length", "millimeter|millimeters", 0.001, ["millimetre", "millimetres", "mm"]),
    ("length", "mile|miles", 1609.344, ["mi"]),
    ("length", "yard|yards", 0.9144, ["yd", "yds"]),
    ("length", "foot|feet", 0.3048, ["ft", "foots"]),
    ("length", "inch|inches", 0.0254, ["in"]),
    ("length", "nautical mile|nautical miles", 1852.0, ["nmi"]),
    ("mass", "kilogram|kilograms", 1.0, ["kilo", "kilos", "kg", "kgs"]),
    ("mass", "gram|grams", 0.001, ["gramme", "grammes", "g"]),
    ("mass", "milligram|milligrams", 1e-6, ["mg"]),
    ("mass", "pound|pounds", 0.45359237, ["lb", "lbs"]),
    ("mass", "ounce|ounces", 0.028349523125, ["oz"]),
    ("mass", "stone|stones", 6.35029318, ["st"]),
    ("mass", "tonne|tonnes", 1000.0, ["metric ton", "metric tons", "t"]),
    ("mass", "ton|tons", 907.18474, ["short ton", "short tons"]),
    ("volume", "liter|liters", 1.0, ["litre", "litres", "l"]),
    ("volume", "milliliter|milliliters", 0.001, ["millilitre", "millilitres", "ml"]),
    ("volume", "gallon|gallons", 3.785411784, ["gal", "us gallon", "us gallons"]),
    ("volume", "imperial gallon|imperial gallons", 4.54609, ["uk gallon", "uk gallons"]),
    ("volume", "quart|quarts", 0.946352946, ["qt"]),
    ("volume", "pint|pints", 0.473176473, ["pt"]),
    ("volume", "cup|cups", 0.2365882365, []),
    ("volume", "fluid ounce|fluid ounces", 0.0295735295625, ["fl oz", "floz"]),
    ("volume", "tablespoon|tablespoons", 0.01478676478125, ["tbsp"]),
    ("volume", "teaspoon|teaspoons", 0.00492892159375, ["tsp"]),
    ("volume", "cubic meter|cubic meters", 1000.0, ["cubic metre", "cubic metres", "m3"]),
    ("speed", "meter per second|meters per second", 1.0, ["metres per second", "mps"]),
    ("speed", "kilometer per hour|kilometers per hour", 1 / 3.6, ["kilometres per hour", "kmh", "kph", "km per hour"]),
    ("speed", "mile per hour|miles per hour", 0.44704, ["mph", "miles an hour"]),
    ("speed", "knot|knots", 1852 / 3600, ["kn", "kt"]),
    ("speed", "foot per second|feet per second", 0.3048, ["fps"]),
    ("time", "second|seconds", 1.0, ["sec", "secs", "s"]),
    ("time", "minute|minutes", 60.0, ["min", "mins"]),
    ("time", "hour|hours", 3600.0, ["hr", "hrs", "h"]),
    ("time", "day|days", 86400.0, []),
    ("time", "week|weeks", 604800.0, ["wk", "wks"]),
    ("time", "year|years", 31557600.0, ["yr", "yrs"]),  # Julian year, 365.25 days
    ("time", "millisecond|milliseconds", 0.001, ["ms"]),
    ("temperature", "degree Celsius|degrees Celsius", 0.0, ["celsius", "centigrade", "c", "degrees c", "degree c"]),
    ("temperature", "degree Fahrenheit|degrees Fahrenheit", 0.0, ["fahrenheit", "f", "degrees f", "degree f"]),
    ("temperature", "kelvin|kelvin", 0.0, ["kelvins", "k"]),
]  # fmt: skip

CURRENCY_WORDS = {
    "dollar", "dollars", "euro", "euros", "pound sterling", "pounds sterling", "yen", "yuan", "rupee",
    "rupees", "peso", "pesos", "franc", "francs", "usd", "eur", "gbp", "jpy", "cny", "inr", "cad",
    "aud", "bitcoin", "bitcoins", "won", "ruble", "rubles", "krona", "kronor", "real", "reais",
}  # fmt: skip


def _build() -> dict[str, Unit]:
    table: dict[str, Unit] = {}
    for quantity, names, factor, aliases in _DEFS:
        singular, plural = names.split("|")
        unit = Unit(singular, plural, quantity, factor)
        for alias in [singular.lower(), plural.lower(), *aliases]:
            if alias == "k" and quantity == "length":
                continue  # "k" is kelvin
            table.setdefault(alias, unit)
    return table


UNITS = _build()
_MAX_WORDS = max(len(name.split()) for name in UNITS)


class UnitError(ValueError):
    """A conversion that cannot be done (different quantities, unknown unit); readable message."""


@dataclass(frozen=True)
class Conversion:
    amount: float
    source: Unit
    target: Unit
    result: float

    def say(self) -> str:
        """'26 miles is about 41.8 kilometers': the result rounded for speech (see `spoken`)."""
        text, rounded = spoken(self.result)
        about = "about " if rounded else ""
        return (
            f"{fmt(self.amount)} {_name(self.source, self.amount)} is {about}{text} "
            f"{_name(self.target, self.result)}"
        )


def _name(unit: Unit, amount: float) -> str:
    return unit.name if abs(amount) == 1 else unit.plural


def fmt(value: float) -> str:
    """6 significant digits, no trailing zeros, no exponent for everyday sizes."""
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e15:
        text = f"{value:.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
        if "e" in text:
            text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text
    mantissa, exp = f"{value:.4e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')} × 10^{int(exp)}"


def spoken(value: float) -> tuple[str, bool]:
    """A result as people say it: 3 significant figures, whole numbers from 100 up ('41.8', '154',
    '1,609'), exact values as they are; and whether it was rounded (the reply then says 'about')."""
    if value == 0 or not 1e-4 <= abs(value) < 1e15:
        return fmt(value), False
    rounded = round(value) if abs(value) >= 100 else float(f"{value:.3g}")
    exact = abs(rounded - value) <= 1e-9 * abs(value)
    if exact:
        rounded = value
        if abs(value - round(value)) <= 1e-9 * abs(value):
            rounded = round(value)
    if float(rounded).is_integer():
        number = int(rounded)
        text = f"{number:,}" if abs(number) >= 10_000 else str(number)
    else:
        text = fmt(rounded)
    return text, not exact


def convert(amount: float, source: Unit, target: Unit) -> Conversion:
    if source.quantity != target.quantity:
        raise UnitError(
            f"I can't convert {source.plural} ({source.quantity}) to {target.plural} ({target.quantity})."
        )
    if source.quantity == "temperature":
        kelvin = {"kelvin": amount, "degree Celsius": amount + 273.15}.get(
            source.name, (amount - 32) * 5 / 9 + 273.15
        )
        if kelvin < -1e-9:
            raise UnitError("That is below absolute zero, which is not a temperature that exists.")
        result = {"kelvin": kelvin, "degree Celsius": kelvin - 273.15}.get(
            target.name, (kelvin - 273.15) * 9 / 5 + 32
        )
    else:
        result = amount * source.factor / target.factor
    return Conversion(amount, source, target, result)


def _unit_at(words: list[str], i: int) -> tuple[Unit, int] | None:
    for size in range(min(_MAX_WORDS + 1, len(words) - i), 0, -1):
        name = " ".join(words[i : i + size])
        if name in UNITS:
            return UNITS[name], i + size
    if words[i : i + 1] == ["degrees"] or words[i : i + 1] == ["degree"]:
        return None
    return None


_LEAD = re.compile(
    r"^(?:please |hey |ok |okay )?(?:can you |could you )?(?:convert|change|turn|what is|what's|whats|how much is|"
    r"how many|how much|tell me)?\s*",
)


def parse_conversion(text: str) -> tuple[float | None, Unit, Unit] | None:
    """(amount or None, from, to) for '5 miles in km', 'convert 100 f to c', 'how many feet in a mile'."""
    if len(text) > 300:
        return None
    low = text.lower().replace("°", " degrees ")
    for pattern, name in _SLASHED:
        low = re.sub(pattern, name, low)
    words = [t.norm if not t.is_number else f"#{t.value}" for t in tokenize(low)]
    words = _signed(words)
    words = [w for w in words if w not in ("?", ".", "!", ",", "please")]
    # "how many feet (are) in (a|one|N) mile(s)"
    if words[:2] == ["how", "many"]:
        found = _unit_at(words, 2)
        if found:
            target, j = found
            rest = words[j:]
            while rest and rest[0] in ("are", "is", "there", "in", "to", "make", "does", "do", "it", "take"):
                rest = rest[1:]
            amount: float | None = 1.0
            if rest and rest[0] in ("a", "an", "one"):
                rest = rest[1:]
            elif rest and rest[0].startswith("#"):
                amount, rest = float(rest[0][1:]), rest[1:]
            source = _unit_at(rest, 0) if rest else None
            if source and source[1] == len(rest):
                return amount, source[0], target
        return None
    for i, word in enumerate(words):
        amount = None
        if word.startswith("#"):
            amount = float(word[1:])
        elif word in ("a", "an", "one"):
            amount = 1.0
        else:
            continue
        j = i + 1
        if j < len(words) and words[j] == "degrees" and _unit_at(words, j) is None:
            j += 1
        found = _unit_at(words, j)
        if not found:
            if j > i + 1:  # "100 degrees" alone: ambiguous
                continue
            continue
        source, k = found
        if k < len(words) and words[k] in ("in", "to", "into", "as"):
            k += 1
            if k < len(words) and words[k] == "degrees" and _unit_at(words, k) is None:
                k += 1
            target = _unit_at(words, k)
            if target and target[1] == len(words):
                prefix = words[:i]
                if all(w in _PREFIX_WORDS for w in prefix):
                    return amount, source, target[0]
        return None
    return None


_PREFIX_WORDS = set(
    [
        "please",
        "hey",
        "ok",
        "okay",
        "can",
        "you",
        "could",
        "convert",
        "change",
        "turn",
        "what",
        "is",
        "what's",
        "whats",
        "how",
        "much",
        "tell",
        "me",
        "in",
        "the",
        "are",
        "there",
    ]
)


_SLASHED = [
    (r"\bkm\s*/\s*h(?:r)?\b", "kph"),
    (r"\bm\s*/\s*s\b", "mps"),
    (r"\bft\s*/\s*s\b", "fps"),
    (r"\bmi\s*/\s*h\b", "mph"),
    (r"\bfl\.?\s*oz\b", "floz"),
]


def _signed(words: list[str]) -> list[str]:
    """'minus 40' / '- 40' / 'negative 40' -> one negative amount."""
    out: list[str] = []
    for word in words:
        if word.startswith("#") and out and out[-1] in ("minus", "negative", "-"):
            out[-1] = f"#{-float(word[1:])}"
        else:
            out.append(word)
    return out


def currency_mentions(text: str) -> int:
    """How many different currencies the text names, by word or sign ("$100 in euros": 2)."""
    words = set(re.findall(r"[a-z]+", text.lower()[:300]))
    return len(words & CURRENCY_WORDS) + len(set(re.findall(r"[$€£¥₹]", text[:300])))


def mentions_currency(text: str) -> bool:
    return currency_mentions(text) > 0
