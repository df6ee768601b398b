"""The conversation itself: "repeat that", "what did I just say?", "stop". Answers come from the turns
stored in the memory, word for word."""

from __future__ import annotations

import re

from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills

_REPEAT = re.compile(
    r"^(?:(?:can|could|would) you |please )?(?:repeat(?: that| it| yourself| the last (?:thing|answer|message|reply))?"
    r"|say (?:that|it) again|what did you (?:just )?say|come again|pardon(?: me)?|sorry,? what|one more time)"
    r"(?: please)?[ .?!]*$"
)
# Only the last thing said, as a whole request: "what did I say about my trip?" asks about something said
# earlier, maybe in another conversation, which the generator's recall answers (assistant.dialog.recall).
_WHAT_I_SAID = re.compile(
    r"^(?:(?:can|could) you tell me )?what (?:did i (?:just )?(?:say|ask)(?: (?:just now|last|a moment ago))?|was "
    r"(?:my|the) last (?:thing i said|question|message|request|command)|have i just said)(?: please)?[ .?!]*$"
)
_ABOUT_EARLIER = re.compile(
    r"^(?:(?:can|could) you tell me )?what (?:did|have) i (?:just )?(?:say|said|tell|told|mention)"
)
_STOP = re.compile(
    r"^(?:(?:ok|okay|please|just|alexa|hey),? )*(?:stop|cancel|never ?mind|nevermind|forget it|shut up|be quiet|"
    r"quiet|silence|enough|that's all|that is all|that's enough|stop talking|cancel that|stop it|abort)"
    r"(?: it| that| now| please| thanks| thank you)*[ .!]*$"
)


def is_stop(text: str) -> bool:
    return len(text) <= 60 and bool(_STOP.match(" ".join(text.lower().split())))


@skills.register("conversation")
class ConversationSkill(Skill):
    """Repeats the last reply, tells you what you just said, and stops."""

    name = "conversation"
    intents = frozenset({"general_repeat", "general_confirm", "general_commandstop"})
    description = "repeat myself or what you just said"
    examples = ("repeat that", "what did I just say?", "stop")
    priority = 5

    def claims(self, ctx: SkillContext) -> bool:
        low = ctx.lower
        return len(low) <= 120 and bool(_REPEAT.match(low) or _WHAT_I_SAID.match(low) or _STOP.match(low))

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        low = ctx.lower
        if _ABOUT_EARLIER.match(low) and not _WHAT_I_SAID.match(low):
            return None  # "what did I say about my trip?": the generator, with recall of earlier turns
        if _STOP.match(low) or (ctx.label == "general_commandstop" and not _REPEAT.match(low)):
            return SkillResult("Okay.", {"action": "stop"})
        last = ctx.memory.recent_turns(ctx.user_id, ctx.conversation_id, 1)
        if _WHAT_I_SAID.match(low) or (ctx.label == "general_confirm" and not _REPEAT.match(low)):
            if not last:
                return SkillResult(
                    "You haven't said anything to me yet in this conversation.", {"turn": None}
                )
            said = last[0].user_text
            shown = said if len(said) <= 500 else said[:500] + "..."
            return SkillResult(f"You said: \u201c{shown}\u201d", {"turn": last[0].id, "user_text": said})
        if not last or not last[0].reply_text:
            return SkillResult("I haven't said anything yet in this conversation.", {"turn": None})
        return SkillResult(last[0].reply_text, {"turn": last[0].id, "action": "repeat"})
