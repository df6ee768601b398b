"""A safe arithmetic evaluator for typed and spoken maths. Never `eval`: words and symbols become tokens,
a recursive-descent parser builds a small tree, and the evaluator checks sizes before every operation.

Exact rational arithmetic (fractions.Fraction) where possible, floats only for roots, logs and trig.
Limits keep hostile input cheap: text length, token count, nesting depth, literal digits, result digits
(checked by estimate *before* computing a power or factorial), so "9**9**9**9" is refused instantly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Union

from assistant.dialog.parsing.words import Token, tokenize

MAX_CHARS = 20_000
MAX_TOKENS = 400
MAX_DEPTH = 50
MAX_DIGITS = 1000  # literals and exact results
MAX_FACTORIAL = 449  # 449! has 997 digits

Number = Union[Fraction, float]  # noqa: UP007 (a runtime alias)


class MathError(ValueError):
    """The expression cannot be worked out; the message is meant for the user."""


class NotMathError(MathError):
    """The text is not an arithmetic expression at all."""


@dataclass(frozen=True)
class Node:
    op: str  # num, neg, +, -, *, /, %, ^, fn, !, pct
    args: tuple[Node, ...] = ()
    text: str = ""  # a number's digits, or a function's name


FUNCTIONS = {"sqrt", "cbrt", "abs", "ln", "log", "exp", "sin", "cos", "tan", "sq", "cube"}
CONSTANTS = {"pi": math.pi, "e": math.e}
_LEAD = set(
    [
        "hey",
        "ok",
        "okay",
        "please",
        "what",
        "what's",
        "whats",
        "is",
        "are",
        "calculate",
        "compute",
        "how",
        "much",
        "solve",
        "evaluate",
        "tell",
        "me",
        "can",
        "you",
        "could",
        "would",
        "the",
        "answer",
        "to",
        "of",
        "result",
        "value",
        "work",
        "out",
        "do",
        "quick",
        "math",
        "question",
        "figure",
        "give",
        "say",
        "i",
        "want",
        "know",
    ]
)
_TRAIL = {"?", "equals", "equal", "is", "please", ".", "=", "now", "for", "me"}
_WORD_OPS = {
    "plus": "+", "add": "+", "and": "+", "minus": "-", "less": "-", "subtract": "-", "times": "*",
    "x": "*", "multiply": "*", "into": "*", "by": "*", "over": "/", "mod": "%", "modulo": "%",
    "negative": "neg",
}  # fmt: skip
_PHRASES = [  # longest first; each maps a word sequence to math tokens
    (("to", "the", "power", "of"), ["^"]), (("raised", "to", "the", "power", "of"), ["^"]),
    (("raised", "to", "the"), ["^"]), (("raised", "to"), ["^"]), (("to", "the", "power"), ["^"]),
    (("multiplied", "by"), ["*"]), (("divided", "by"), ["/"]), (("divide", "by"), ["/"]),
    (("square", "root", "of"), ["sqrt"]), (("square", "root"), ["sqrt"]), (("cube", "root", "of"), ["cbrt"]),
    (("the", "square", "root", "of"), ["sqrt"]), (("percent", "of"), ["pct", "*"]), (("%", "of"), ["pct", "*"]),
    (("factorial", "of"), ["fact_of"]), (("log", "of"), ["log"]), (("sine", "of"), ["sin"]),
    (("cosine", "of"), ["cos"]), (("tangent", "of"), ["tan"]), (("absolute", "value", "of"), ["abs"]),
    (("the", "square", "of"), ["sq"]),
    (("square", "of"), ["sq"]),
    (("the", "cube", "of"), ["cube"]),
    (("cube", "of"), ["cube"]),
    (("squared",), ["^", "2"]), (("cubed",), ["^", "3"]), (("percent",), ["pct"]), (("factorial",), ["!"]),
    (("sine",), ["sin"]), (("cosine",), ["cos"]), (("root",), ["sqrt"]),
]  # fmt: skip
_PHRASES.sort(key=lambda p: -len(p[0]))
_SCI = re.compile(r"(\d)[eE]([+-]?\d)")


_ROUGH_TOKEN = re.compile(r"\d+|[^\W\d_]+|[^\s\w]")


def _clean(text: str) -> list[Token]:
    if len(text) > MAX_CHARS:
        raise MathError(f"That is too long for me to work out ({len(text):,} characters).")
    rough = _ROUGH_TOKEN.findall(text)
    if len(rough) > 2 * MAX_TOKENS:  # cheap count before the real tokenizer
        words = sum(1 for tok in rough if tok[0].isalpha())
        if words * 2 > len(rough):
            raise NotMathError("long text")
        raise MathError("That expression is too long for me.")
    text = text.replace("×", "*").replace("÷", "/").replace("−", "-").replace("**", "^")
    text = _SCI.sub(r"\1 sci \2", text)
    tokens = tokenize(text)
    while tokens and tokens[0].norm in _LEAD:
        tokens = tokens[1:]
    while tokens and tokens[-1].norm in _TRAIL:
        tokens = tokens[:-1]
    return tokens


def _to_math(tokens: list[Token]) -> list[str]:
    """Word and symbol tokens -> math tokens: numbers as digits, operators as symbols, function names."""
    out: list[str] = []
    norms = [t.norm for t in tokens]
    i = 0
    while i < len(tokens):
        if len(out) > MAX_TOKENS:
            raise MathError("That expression is too long for me.")
        tok = tokens[i]
        for words, mapped in _PHRASES:
            if tuple(norms[i : i + len(words)]) == words:
                out.extend(mapped)
                i += len(words)
                break
        else:
            norm = tok.norm
            if tok.is_number or (norm[:1].isdigit() and norm.replace(".", "", 1).isdigit()):
                if tok.ordinal:
                    raise NotMathError("an ordinal")
                out.append(norm)
            elif (
                norm in ("+", "-", "*", "/", "^", "(", ")", "!", "%", "sci")
                or norm in FUNCTIONS
                or norm in CONSTANTS
            ):
                out.append(norm)
            elif norm in _WORD_OPS:
                out.append(_WORD_OPS[norm])
            elif norm in ("the", "of", "what", "is"):
                pass
            else:
                raise NotMathError(f"unknown word {norm!r}")
            i += 1
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise NotMathError("unexpected end")
        self.i += 1
        return tok

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathError("That expression is nested too deeply for me.")

    def parse(self) -> Node:
        if not self.tokens:
            raise NotMathError("empty")
        node = self.expr()
        if self.peek() is not None:
            raise NotMathError(f"unexpected {self.peek()!r}")
        return node

    def expr(self) -> Node:
        self.nest()
        node = self.term()
        while self.peek() in ("+", "-"):
            node = Node(self.take(), (node, self.term()))
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/", "%"):
            node = Node(self.take(), (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek() in ("-", "neg", "+"):
            self.nest()
            sign = self.take()
            node = self.unary()
            self.depth -= 1
            return node if sign == "+" else Node("neg", (node,))
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            self.nest()
            exponent = self.unary()  # right-associative: 2^3^2 = 2^(3^2)
            self.depth -= 1
            return Node("^", (base, exponent))
        return base

    def postfix(self) -> Node:
        node = self.primary()
        while self.peek() in ("!", "pct"):
            node = Node(self.take(), (node,))
        return node

    def primary(self) -> Node:
        tok = self.take()
        if tok[:1].isdigit():
            if self.peek() == "sci":
                self.take()
                sign = self.take() if self.peek() in ("+", "-") else "+"
                exponent = self.take()
                if not exponent.isdigit():
                    raise NotMathError("bad exponent")
                return Node("sci", (), f"{tok}e{'-' if sign == '-' else ''}{exponent}")
            return Node("num", (), tok)
        if tok in CONSTANTS:
            return Node("const", (), tok)
        if tok == "fact_of":
            self.nest()
            node = Node("!", (self.power(),))
            self.depth -= 1
            return node
        if tok in FUNCTIONS:
            self.nest()
            node = Node("fn", (self.power(),), tok)
            self.depth -= 1
            return node
        if tok == "(":
            node = self.expr()
            if self.take() != ")":
                raise NotMathError("missing )")
            return node
        raise NotMathError(f"unexpected {tok!r}")


def parse(text: str) -> Node:
    """Parse text ("what is 7 times 6", "2^10 + 1") to a tree; NotMathError if it is not arithmetic."""
    return _Parser(_to_math(_clean(text))).parse()


def parse_command(text: str) -> Node:
    """Like parse, plus the verb-first forms: 'subtract 2 from 5', 'divide 8 by 2', 'add 2 and 3'."""
    found = _parse_cached(text)
    if isinstance(found, MathError):
        raise type(found)(*found.args)  # a fresh exception: the cached one keeps no traceback chain
    return found


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> Node | MathError:
    """The skill asks twice per turn (claims, then handle): parse once. Errors are returned, not cached raises."""
    try:
        return _parse_command(text)
    except MathError as exc:
        return exc


def _parse_command(text: str) -> Node:
    match = re.fullmatch(
        r"\s*(?:please\s+)?(?:can you\s+)?(add|sum|subtract|take|multiply|divide)\s+(.{1,20000}?)\s+"
        r"(and|to|from|by|away from|into)\s+(.{1,20000}?)\s*[?.!]?\s*",
        text.lower(),
        flags=re.DOTALL,
    )
    if match:
        verb, left, joiner, right = match.groups()
        a, b = parse(left), parse(right)
        if verb in ("add", "sum") and joiner in ("and", "to"):
            return Node("+", (a, b))
        if verb in ("subtract", "take") and joiner in ("from", "away from"):
            return Node("-", (b, a))
        if verb == "multiply" and joiner in ("by", "and"):
            return Node("*", (a, b))
        if verb == "divide" and joiner in ("by", "into"):
            return Node("/", (a, b) if joiner == "by" else (b, a))
    return parse(text)


# --- evaluation -----------------------------------------------------------------------------------------

_MAX_BITS = int(MAX_DIGITS * math.log2(10)) + 1


def _too_large() -> MathError:
    return MathError(f"The result is too large for me: I work with numbers up to {MAX_DIGITS:,} digits.")


def _check(value: Number) -> Number:
    if isinstance(value, float):
        if math.isnan(value):
            raise MathError("That result is undefined.")
        if math.isinf(value):
            raise _too_large()
        return value
    if value.numerator.bit_length() > _MAX_BITS or value.denominator.bit_length() > _MAX_BITS:
        raise _too_large()
    return value


def _float(value: Number) -> float:
    try:
        return float(value)
    except OverflowError:
        raise _too_large() from None


def _log10_abs(value: Number) -> float:
    if isinstance(value, float):
        return math.log10(abs(value))
    return math.log10(abs(value.numerator)) - math.log10(value.denominator)


def _literal(digits: str) -> Fraction:
    whole = digits.split(".")[0]
    if len(whole) > MAX_DIGITS or len(digits) > MAX_DIGITS + 50:
        raise MathError(
            f"That number has {len(whole):,} digits; I work with numbers up to {MAX_DIGITS:,} digits."
        )
    return Fraction(digits)


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, Fraction) and exponent.denominator == 1 and isinstance(base, Fraction):
        n = exponent.numerator
        if base == 0 and n < 0:
            raise MathError("You can't divide by zero.")
        if base in (0, 1) or n == 0:
            return Fraction(base) ** n
        if base == -1:
            return Fraction(-1 if n % 2 else 1)
        digits = abs(n) * max(
            math.log10(abs(base.numerator)) if base.numerator else 0, math.log10(base.denominator)
        )
        if digits > MAX_DIGITS:
            raise _too_large()
        return base**n
    b, e = _float(base), _float(exponent)
    if b < 0 and not float(e).is_integer():
        raise MathError("That has no real-number answer (a negative number to a fractional power).")
    if b == 0 and e < 0:
        raise MathError("You can't divide by zero.")
    if b != 0 and e * math.log10(abs(b)) > 300:
        raise _too_large()
    try:
        return float(b**e)
    except OverflowError:
        raise _too_large() from None


def _function(name: str, x: Number) -> Number:
    if name == "abs":
        return abs(x)
    if name in ("sq", "cube"):
        return _power(x, Fraction(2 if name == "sq" else 3))
    if name == "sqrt" and isinstance(x, Fraction) and x >= 0:
        num, den = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if num * num == x.numerator and den * den == x.denominator:
            return Fraction(num, den)
    v = _float(x)
    if name == "sqrt":
        if v < 0:
            raise MathError("Negative numbers have no real square root.")
        return math.sqrt(v)
    if name == "cbrt":
        root = math.copysign(abs(v) ** (1 / 3), v)
        return Fraction(round(root)) if round(root) ** 3 == x else root
    if name in ("ln", "log"):
        if v <= 0:
            raise MathError("Logarithms are only defined for positive numbers.")
        return math.log(v) if name == "ln" else math.log10(v)
    if name == "exp":
        if v > 700:
            raise _too_large()
        return math.exp(v)
    return {"sin": math.sin, "cos": math.cos, "tan": math.tan}[name](v)


def evaluate(node: Node) -> Number:
    """Work the tree out; MathError (with a readable message) for anything too large or undefined."""
    if node.op == "num":
        return _literal(node.text)
    if node.op == "sci":
        mantissa, exponent = node.text.split("e")
        if abs(int(exponent[:6])) > MAX_DIGITS or len(exponent.lstrip("-")) > 5:
            raise _too_large()
        return _check(_literal(mantissa) * Fraction(10) ** int(exponent))
    if node.op == "const":
        return CONSTANTS[node.text]
    values = [evaluate(arg) for arg in node.args]
    op = node.op
    if op == "neg":
        return -values[0]
    if op == "pct":
        return _check(values[0] / 100)
    if op == "!":
        x = values[0]
        if not (isinstance(x, Fraction) and x.denominator == 1 and x >= 0):
            raise MathError("Factorials are only defined for whole numbers from 0 up.")
        if x > MAX_FACTORIAL:
            raise _too_large()
        return Fraction(math.factorial(int(x)))
    if op == "fn":
        return _check(_function(node.text, values[0]))
    a, b = values
    if op in ("+", "-", "*") and isinstance(a, float) != isinstance(b, float):
        a, b = _float(a), _float(b)
    if op == "+":
        return _check(a + b)
    if op == "-":
        return _check(a - b)
    if op == "*":
        return _check(a * b)
    if op in ("/", "%"):
        if b == 0:
            raise MathError("You can't divide by zero.")
        if isinstance(a, float) or isinstance(b, float):
            a, b = _float(a), _float(b)
        return _check(a / b if op == "/" else a % b)
    if op == "^":
        return _check(_power(a, b))
    raise MathError(f"Unknown operation {op!r}.")


# --- speaking ---------------------------------------------------------------------------------------------


def format_number(value: Number) -> str:
    """Exact integers in full up to 30 digits; otherwise 10 significant digits, '× 10^n' for big/small."""
    if isinstance(value, Fraction) and value.denominator == 1:
        n = value.numerator
        if n.bit_length() <= 100 and len(str(abs(n))) <= 30:
            return str(n)
        digits = str(abs(n))
        mantissa = f"{digits[0]}.{digits[1:6].rstrip('0')}".rstrip(".")
        return f"{'-' if n < 0 else ''}{mantissa} × 10^{len(digits) - 1}"
    if isinstance(value, Fraction):
        if abs(value) >= Fraction(10) ** 300 or (value and abs(value) < Fraction(1, 10**300)):
            exp = math.floor(_log10_abs(value))
            mantissa = float(value / Fraction(10) ** exp)
            return f"{mantissa:.6g} × 10^{exp}"
        value = float(value)
    text = f"{value:.10g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{mantissa} × 10^{int(exp)}"
    return text


_SPOKEN = {"+": "plus", "-": "minus", "*": "times", "/": "divided by", "%": "modulo", "^": "to the power of"}
_FN_SPOKEN = {
    "sq": "the square of",
    "cube": "the cube of",
    "sqrt": "the square root of",
    "cbrt": "the cube root of",
    "abs": "the absolute value of",
}


def say(node: Node) -> str:
    """The expression in words, for the reply ("7 times 6")."""
    if node.op == "num":
        return node.text if len(node.text) <= 30 else f"a {len(node.text):,}-digit number"
    if node.op == "sci":
        return node.text.replace("e", " times 10 to the ")
    if node.op == "const":
        return node.text
    if node.op == "neg":
        inner = say(node.args[0])
        return f"minus ({inner})" if _RANK.get(node.args[0].op, 9) < 3 else f"minus {inner}"
    if node.op == "pct":
        return f"{say(node.args[0])} percent"
    if node.op == "!":
        return f"{say(node.args[0])} factorial"
    if node.op == "fn":
        return f"{_FN_SPOKEN.get(node.text, node.text)} {say(node.args[0])}"
    left, right = (say(arg) for arg in node.args)
    rank = _RANK.get(node.op, 9)
    if _RANK.get(node.args[0].op, 9) < rank:
        left = f"({left})"
    if _RANK.get(node.args[1].op, 9) <= rank and node.op != "^" or _RANK.get(node.args[1].op, 9) < rank:
        right = f"({right})"
    if node.op == "*" and node.args[0].op == "pct":
        return f"{left} of {right}"
    return f"{left} {_SPOKEN[node.op]} {right}"


_RANK = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "neg": 3, "^": 4}


def is_expression(node: Node) -> bool:
    """True when the tree does something (an operator or function), not a bare number."""
    return node.op not in ("num", "const")


def calculate(text: str) -> tuple[Node, Number]:
    """Parse and evaluate; raises NotMathError / MathError."""
    node = parse_command(text)
    return node, evaluate(node)
