"""Arithmetic, typed or spoken ("what is seven times six", "2^10 + 1"), through the safe parser in
parsing/mathexpr.py (never eval). Hostile input gets a short, clear answer at once."""

from __future__ import annotations

import re

from assistant.dialog.parsing.mathexpr import (
    MAX_CHARS,
    MathError,
    NotMathError,
    evaluate,
    format_number,
    is_expression,
    parse_command,
    say,
)
from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import is_general_question

_LONG_NUMBER = re.compile(r"\d{16,}")
_HOW_TO = re.compile(
    r"(?:^|\b(?:tell|show|teach) me |\bexplain )how (?:to|do (?:i|you|we)|can (?:i|you|we)|would (?:i|you)|"
    r"should (?:i|you))\b"
)


@skills.register("arithmetic")
class ArithmeticSkill(Skill):
    """Works out arithmetic: + - × ÷, powers, roots, percentages, factorials."""

    name = "arithmetic"
    intents = frozenset({"qa_maths"})
    description = "do arithmetic"
    examples = ("what is seven times six?", "what's 15 percent of 80?", "2 to the power of 10")
    priority = 20

    def claims(self, ctx: SkillContext) -> bool:
        if len(ctx.text) > MAX_CHARS:
            return False
        try:
            node = parse_command(ctx.text)
        except NotMathError:
            return False
        except MathError:
            return True  # too long or too deep: still arithmetic, and the answer says why
        return is_expression(node) or bool(node.op == "num" and _LONG_NUMBER.search(node.text))

    def accepts(self, ctx: SkillContext) -> bool:
        """A sum to work out, not a question about maths ("how do i multiply two fractions", "why is any
        number to the power of zero one"): the generator explains those."""
        return not (is_general_question(ctx.lower) or _HOW_TO.search(ctx.lower))

    def handle(self, ctx: SkillContext) -> SkillResult:
        try:
            node = parse_command(ctx.text)
        except NotMathError:
            return SkillResult(
                "I can only work out arithmetic: numbers with plus, minus, times, divided by, powers and roots. "
                "Try 'what is 12 times 7'.",
                {"error": "not_math"},
            )
        except MathError as exc:
            return SkillResult(str(exc), {"error": "limit"})
        spoken = say(node)
        try:
            value = evaluate(node)
        except MathError as exc:
            return SkillResult(str(exc), {"expression": spoken[:200], "error": "limit"})
        result = format_number(value)
        if node.op == "num":
            return SkillResult(f"That's {result}.", {"expression": spoken, "result": result})
        return SkillResult(
            f"{spoken[0].upper()}{spoken[1:]} is {result}.", {"expression": spoken, "result": result}
        )
