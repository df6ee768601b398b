"""Facts about the user ("my name is Ana", "remember that my sister's birthday is May 5"), stored in the
memory per user, so they are there in a later conversation and after a restart. Only the user's own words
are stored and read back; nothing is guessed."""

from __future__ import annotations

import re

from assistant.dialog.skill import Confirmation, Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import spoken_list

KNOWN = (
    r"name|first name|last name|surname|nickname|birthday|date of birth|age|favou?rite [a-z]+(?: [a-z]+)?|"
    r"fav [a-z]+|(?:wife|husband|partner|girlfriend|boyfriend|son|daughter|mom|mum|mother|dad|father|"
    r"brother|sister|dog|cat|pet|best friend|boss)(?:'s|s)? (?:name|birthday)|email(?: address)?|"
    r"phone number|address|home ?town|zip code|postcode|city|job|occupation|car|blood type|shoe size|"
    r"height|weight|wifi password|anniversary|star sign|zodiac sign"
)
_SET_NAME = re.compile(
    r"^(?:hi|hello|hey)?[ ,]*(?:my name is|my name's|i'm called|i am called|call me|you can call me|"
    r"please call me|name's) (?P<value>[^\W\d_][\w' .-]{0,60}?)[ .!]*(?:please|thanks|thank you)?[ .!]*$"
)
_SET_ANY = re.compile(
    r"^(?:please )?(?:remember|note|don't forget|keep in mind)(?: that)? my (?P<key>[a-z' ]{1,40}?) "
    r"(?:is|are|was) (?P<value>.{1,300}?)[ .!]*$"
)
_SET_KNOWN = re.compile(rf"^my (?P<key>{KNOWN}) (?:is|are|'s) (?P<value>.{{1,200}}?)[ .!]*$")
_SET_SPECIAL = [
    (re.compile(r"^i live in (?P<value>[^\d].{0,80}?)[ .!]*$"), "home city"),
    (re.compile(r"^i(?:'m| am) (?P<value>\d{1,3}) years? old[ .!]*$"), "age"),
    (re.compile(r"^i was born on (?P<value>.{1,60}?)[ .!]*$"), "birthday"),
    (re.compile(r"^i work as (?:a |an )?(?P<value>.{1,80}?)[ .!]*$"), "job"),
]
_ASK_NAME = re.compile(
    r"^(?:what(?:'s| is) my name|who am i|do you (?:know|remember) (?:my name|who i am)|say my name|"
    r"what do you call me|what am i called)\b"
)
_ASK = re.compile(r"^(?:what|when|where|who|which)(?:'s| is| are| was) my (?P<key>[a-z' ]{1,40}?)\s*\??$")
_ASK_SPECIAL = [
    (re.compile(r"^where do i live\b"), "home city"),
    (re.compile(r"^how old am i\b"), "age"),
    (re.compile(r"^when (?:is|was) i born\b|^when was i born\b"), "birthday"),
    (re.compile(r"^what(?:'s| is) my job\b|^what do i do for (?:a )?(?:living|work)\b"), "job"),
]
_ABOUT_ME = re.compile(r"^what (?:do you know|have you learned|facts do you (?:know|have)) about me\b")
_FORGET = re.compile(r"^(?:please )?forget (?:my|about my) (?P<key>[a-z' ]{1,40}?)[ .!]*$")
_FORGET_ALL = re.compile(
    r"^(?:please )?forget (?:everything|all) (?:you know )?about me\b|^forget all my facts\b"
)
_KNOWN = re.compile(rf"^(?:{KNOWN})$")


def _key(raw: str) -> str:
    key = " ".join(raw.lower().split())
    key = re.sub(r"^(?:fav|favourite)\b", "favorite", key)
    return {
        "b-day": "birthday",
        "date of birth": "birthday",
        "hometown": "home town",
        "surname": "last name",
    }.get(key, key)


def _value(raw: str, key: str) -> str:
    value = raw.strip(" .!,")
    value = re.sub(r"[ ,]+(?:please|thanks|thank you)$", "", value)
    if key in ("name", "first name", "last name", "nickname") or key.endswith("'s name"):
        value = " ".join(w if any(c.isupper() for c in w) else w.capitalize() for w in value.split())
    return value


@skills.register("facts")
class FactsSkill(Skill):
    """Remembers what you tell it about yourself and answers from that."""

    name = "facts"
    description = "remember things about you, like your name"
    examples = ("my name is Ana", "what's my name?", "remember that my sister's birthday is May 5")
    priority = 10

    def claims(self, ctx: SkillContext) -> bool:
        low = ctx.lower.rstrip("?")
        if len(low) > 400:
            return False
        if _SET_NAME.match(low) or _SET_ANY.match(low) or _SET_KNOWN.match(low) or _ASK_NAME.match(low):
            return True
        if (
            any(p.match(low) for p, _ in _SET_SPECIAL + _ASK_SPECIAL)
            or _ABOUT_ME.match(low)
            or _FORGET_ALL.match(low)
        ):
            return True
        for pattern in (_ASK, _FORGET):
            match = pattern.match(low)
            if match:
                key = _key(match.group("key"))
                return bool(_KNOWN.match(key)) or ctx.memory.get_fact(ctx.user_id, key) is not None
        return False

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        low = ctx.lower.rstrip("?").strip()
        original = " ".join(ctx.text.split()).rstrip("?").strip()
        if match := _SET_NAME.match(low):
            return self._set(ctx, "name", _from_original(original, match, "value"))
        for pattern in (_SET_ANY, _SET_KNOWN):
            if match := pattern.match(low):
                return self._set(ctx, _key(match.group("key")), _from_original(original, match, "value"))
        for pattern, key in _SET_SPECIAL:
            if match := pattern.match(low):
                return self._set(ctx, key, _from_original(original, match, "value"))
        if _ASK_NAME.match(low):
            return self._get(ctx, "name")
        for pattern, key in _ASK_SPECIAL:
            if pattern.match(low):
                return self._get(ctx, key)
        if _ABOUT_ME.match(low):
            facts = ctx.memory.facts(ctx.user_id)
            if not facts:
                return SkillResult("You haven't told me anything about yourself yet.", {"facts": {}})
            items = [f"your {k} is {v}" for k, v in facts.items()]
            return SkillResult(f"I know that {spoken_list(items)}.", {"facts": facts})
        if _FORGET_ALL.match(low):
            facts = ctx.memory.facts(ctx.user_id)
            if not facts:
                return SkillResult("I don't know any facts about you.", {"facts": {}})
            return SkillResult(
                f"Forget all {len(facts)} things you've told me about yourself? Say yes or no.",
                {"facts": facts},
                confirmation=Confirmation(
                    "forget_all", {"keys": list(facts)}, "Okay, I'll keep remembering them."
                ),
            )
        if match := _FORGET.match(low):
            key = _key(match.group("key"))
            if ctx.memory.delete_fact(ctx.user_id, key):
                return SkillResult(f"Okay, I've forgotten your {key}.", {"forgotten": key})
            return SkillResult(f"I didn't know your {key}.", {"forgotten": None})
        if match := _ASK.match(low):
            return self._get(ctx, _key(match.group("key")))
        return None

    def _set(self, ctx: SkillContext, key: str, raw: str) -> SkillResult:
        value = _value(raw, key)
        if not value:
            return SkillResult(f"What is your {key}?", {})
        old = ctx.memory.get_fact(ctx.user_id, key)
        ctx.memory.set_fact(ctx.user_id, key, value)
        if key == "name":
            text = (
                f"Nice to meet you, {value}."
                if old is None or old == value
                else f"Okay, I'll call you {value} from now on."
            )
        else:
            text = (
                f"Got it: your {key} is {value}."
                if old in (None, value)
                else f"Updated: your {key} is {value} (it was {old})."
            )
        return SkillResult(text, {"fact": {"key": key, "value": value}, "previous": old})

    def _get(self, ctx: SkillContext, key: str) -> SkillResult:
        value = ctx.memory.get_fact(ctx.user_id, key)
        if value is None:
            hint = "my name is ..." if key == "name" else f"my {key} is ..."
            return SkillResult(
                f'I don\'t know your {key} yet. You can tell me: "{hint}".',
                {"fact": {"key": key, "value": None}},
            )
        text = f"Your name is {value}." if key == "name" else f"Your {key} is {value}."
        return SkillResult(text, {"fact": {"key": key, "value": value}})

    def confirm(self, ctx: SkillContext, confirmation: Confirmation) -> SkillResult:
        keys = confirmation.payload.get("keys", [])
        gone = [key for key in keys if ctx.memory.delete_fact(ctx.user_id, key)]
        return SkillResult(f"Done: I've forgotten {len(gone)} things about you.", {"forgotten": gone})


def _from_original(original: str, match: re.Match[str], group: str) -> str:
    """The matched value with the user's own capitalisation (the match ran on lowercase text)."""
    start, end = match.span(group)
    return original[start:end] if len(original) >= end else match.group(group)
