"""Unit conversion (length, mass, volume, temperature, speed, time) from exact definitions."""

from __future__ import annotations

from assistant.dialog.parsing.units import UnitError, convert, fmt, parse_conversion, spoken
from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills


@skills.register("units")
class UnitsSkill(Skill):
    """Converts between units of length, mass, volume, temperature, speed and time."""

    name = "units"
    description = "convert units"
    examples = (
        "convert 5 miles to kilometers",
        "what is 100 fahrenheit in celsius?",
        "how many cups in a liter?",
    )
    priority = 25

    def claims(self, ctx: SkillContext) -> bool:
        return parse_conversion(ctx.text) is not None

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        parsed = parse_conversion(ctx.text)
        if parsed is None:
            return None
        amount, source, target = parsed
        try:
            result = convert(amount if amount is not None else 1.0, source, target)
        except UnitError as exc:
            return SkillResult(str(exc), {"error": "units"})
        return SkillResult(
            f"{result.say()}.",
            {
                "amount": result.amount,
                "from": source.name,
                "to": target.name,
                "result": result.result,
                "result_text": fmt(result.result),
                "spoken": spoken(result.result)[0],
                "rounded": spoken(result.result)[1],
            },
        )
