from __future__ import annotations

import pytest

from assistant.dialog.parsing.mathexpr import MathError, NotMathError, calculate, format_number, say


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("what is seven times six", "42"),
        ("2+2*3", "8"),
        ("(1+2)*3", "9"),
        ("what is 15 percent of 80", "12"),
        ("square root of 16 plus 9", "13"),
        ("what is the result of two by two", "4"),
        ("what is 2 to the power of 10", "1024"),
        ("10 divided by 4", "2.5"),
        ("1/3", "0.3333333333"),
        ("subtract 3 from 10", "7"),
        ("add 5 and 7", "12"),
        ("5 factorial", "120"),
        ("5!", "120"),
        ("three point five times 2", "7"),
        ("what's 12 squared", "144"),
        ("-2^2", "-4"),
        ("2^3^2", "512"),
        ("1e3 + 1", "1001"),
        ("100 mod 7", "2"),
        ("what is 1,000 times 3?", "3000"),
        ("sqrt 2", "1.414213562"),
        ("10**1000", "1 × 10^1000"),
        ("0.1 + 0.2", "0.3"),  # exact: no floating-point surprise
    ],
)
def test_arithmetic(text: str, result: str) -> None:
    _, value = calculate(text)
    assert format_number(value) == result


def test_spoken_form() -> None:
    node, _ = calculate("what is seven times six")
    assert say(node) == "7 times 6"
    node, _ = calculate("(1+2)*3")
    assert say(node) == "(1 plus 2) times 3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e9999**9", "too large"),
        ("9**9**9**9", "too large"),
        ("2**100000", "too large"),
        ("1" * 10_000 + " + 1", "10,000 digits"),
        ("(" * 200 + "1" + ")" * 200, "nested too deeply"),
        ("-" * 5000 + "1", "too long"),
        ("1 +" * 3000 + " 1", "too long"),
        ("x" * 100_000, "too long"),
        ("7/0", "divide by zero"),
        ("100000!", "too large"),
        ("(-8) ^ 0.5", "no real-number answer"),
        ("sqrt(-4)", "no real square root"),
        ("exp(100000)", "too large"),
    ],
)
def test_hostile_and_impossible_inputs_fail_cleanly(text: str, message: str) -> None:
    with pytest.raises(MathError, match=message):
        calculate(text)


@pytest.mark.parametrize(
    "text", ["__import__('os')", "what is the capital of france", "open('/etc/passwd')", "", "(2"]
)
def test_not_arithmetic(text: str) -> None:
    with pytest.raises(NotMathError):
        calculate(text)
