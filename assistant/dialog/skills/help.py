"""'What can you do?': the skills that really work here, from the registry, and the services that are
not connected (so the answer never promises what the assistant cannot do)."""

from __future__ import annotations

import re

from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import spoken_list

_HELP = re.compile(
    r"^(?:(?:hey|ok|okay|so),? )?(?:help|help me|what (?:(?:sort|kind|type)s? of )?(?:things )?can you do|"
    r"what are you able to do|what do you do|"
    r"what can i (?:ask|say)(?: you)?|what are your (?:skills|features|abilities)|how can you help(?: me)?|"
    r"what (?:skills|features) do you have|what can you help (?:me )?with)(?: for me)?[ ?.!]*$"
)


_ORDER = (
    "timers",
    "reminders",
    "calendar",
    "lists",
    "datetime",
    "arithmetic",
    "units",
    "facts",
    "jokes",
    "home",
)


@skills.register("help")
class HelpSkill(Skill):
    """Lists what the assistant can do."""

    name = "help"
    description = ""
    priority = 1

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.catalog: list[Skill] = []  # filled in by the DialogManager with the live skills

    def claims(self, ctx: SkillContext) -> bool:
        return len(ctx.lower) <= 80 and bool(_HELP.match(ctx.lower))

    def handle(self, ctx: SkillContext) -> SkillResult:
        order = {name: i for i, name in enumerate(_ORDER)}
        catalog = sorted(self.catalog, key=lambda s: order.get(s.name, len(order)))
        working = [s for s in catalog if s.description and s.available() and s.name != "help"]
        missing = [s for s in catalog if not s.available()]
        can = [s.description for s in working]
        text = f"I can {spoken_list(can)}."
        examples = [s.examples[0] for s in working if s.examples][:4]
        if examples:
            text += f" Try: {', '.join(repr(e).strip(chr(39)) for e in examples)}."
        if missing:
            text += f" Not connected here: {spoken_list([s.name for s in missing])}."
        text += " For anything else, I'll do my best to answer."
        return SkillResult(
            text,
            {"skills": {s.name: s.description for s in working}, "not_connected": [s.name for s in missing]},
        )
