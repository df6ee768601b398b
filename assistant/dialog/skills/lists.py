"""Named lists (shopping, to do, packing...): create, add items, read back, remove items, delete a list
(confirmed). A request without a list name uses the shopping list, as people expect from a speaker.
Names that mean the same list are one list ("grocery", "groceries" = shopping; "todo", "to-do" = to do),
and the items may be named anywhere in the request ("we're out of milk, put it on the list")."""

from __future__ import annotations

import re
from typing import Any

from assistant.dialog.skill import Confirmation, FollowUp, Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import is_general_question, plural, spoken_list
from assistant.memory.records import ListRecord

DEFAULT_LIST = "shopping"
_NAME = r"(?P<name>[a-z0-9](?:(?!\b(?:from|off|on|onto|in|into|of|to|for)\b)[a-z0-9' &-]){0,40}?)"
_ON_LIST = re.compile(rf"\b(?:to|on|onto|from|off|in|into|of|for) (?:my |the |our |a |an )?{_NAME} list\b")
_CALLED = re.compile(rf"\blist (?:called|named|titled|for) (?:my |the |our )?{_NAME}(?: list)?\s*[.!?]?$")
_MY_LIST = re.compile(rf"\b(?:my|the|our|a|an|new) {_NAME} list\b")
# "shopping list, add eggs": a list named first, then what to do with it
_LEADING = re.compile(
    rf"^(?:on |to |in |onto )?(?:my |the |our )?{_NAME} list\b(?=[\s,:;-]*(?:add|put|remove|delete|take|plus)\b)"
)
# not a request about the user's lists: "make a list of side hustles", "why do I never finish my to-do list"
_LIST_OF = re.compile(r"\b(?:a|the) list of\b")
_GROCERIES = re.compile(r"\b(?:to|on|onto|in|into|from|off|of) (?:my |the |our )?(?P<name>groceries)\b")
_PLAIN_LIST = re.compile(r"\b(?:to|on|onto|in|into|from|off|of) (?:my|the|our) list\b")
# a list named in the request ("to my shopping list", "on the list", "to my groceries"), to cut out
_LIST_PHRASE = re.compile(
    r"\b(?:to|on|onto|in|into|from|off|of|for) (?:my |the |our |a )?(?:[a-z0-9][a-z0-9' &-]{0,40}? )?list\b"
    r"|\b(?:to|on|onto|in|into|from|off|of) (?:my |the |our )?groceries\b"
)
_BARE_LIST_PHRASE = re.compile(r"^\s*(?:my |the |our )?(?:[a-z0-9][a-z0-9' &-]{0,40}? )?list\b")
SYNONYMS = {
    "grocery": "shopping", "groceries": "shopping", "grocery shopping": "shopping", "food shopping": "shopping",
    "shopping list": "shopping", "todo": "to do", "to-do": "to do", "todos": "to do", "to-dos": "to do",
    "to do's": "to do", "to-do's": "to do", "things to do": "to do", "task": "to do", "tasks": "to do",
}  # fmt: skip
_PRONOUNS = {"it", "them", "that", "this", "those", "these", "one", "ones"}
_SHOPPING_NEED = re.compile(
    r"^(?:(?:i|we) (?:really |still |also )?(?:need|have|want|got|gotta) to (?:buy|get|pick up|grab|order)|"
    r"(?:i|we)(?:'re| are|'m| am)? (?:almost |nearly |completely |all |just |now |running |)?(?:out of|"
    r"ran out of|run out of|running out of|running low on|low on)|(?:buy|get|pick up|grab|order))\s+"
)
_NEED = re.compile(
    r"^(?:(?:i|we) (?:really |still |also )?(?:need|have|must|should|gotta|want|got)(?: to)?|"
    r"(?:i|we) (?:need|want) (?:some|more)|remember to|don't forget(?: to)?)\s+"
)
_LEAD_FILLER = re.compile(
    r"^(?:[\s,.;:!?-]*(?:so|and|oh|um|uh|er|hey|ok|okay|please|also|then|well|yeah)\b)+"
)
_TRAIL_FILLER = re.compile(
    r"(?:[\s,.;:!?-]*\b(?:(?:can|could|would|will) you|please|for me|for us|thanks|thank you|so|and|too|"
    r"as well|also|then|now)\b)+[\s,.;:!?-]*$"
)
_DELETE_LIST = re.compile(
    rf"^(?:please )?(?:can you |could you )?(?:delete|remove|clear|erase|get rid of|empty|trash|throw away) "
    rf"(?:my |the |our |whole |entire |all of my |all of the )*{_NAME} list\s*[.!?]?(?: please)?$"
)
_DELETE_NAMED = re.compile(
    r"^(?:please )?(?:delete|remove|erase|get rid of) (?:the |my )?list (?:called|named) (?P<name>.{1,40}?)\s*[.!?]?$"
)
_ADD = re.compile(r"\b(?:add|put|include|append|write down|write|stick|throw|pop|also add|plus)\b")
_REMOVE = re.compile(r"\b(?:remove|delete|take|erase|cross|scratch|drop|get rid of|strike)\b")
_SHOPPING_QUESTION = re.compile(r"\b(?:on sale|sales|deals?|discounts?|coupons?|cheapest|prices?)\b")
_ABOUT_LISTS = re.compile(r"\b(?:lists?|groceries|grocery|shopping|to-?dos?|checklist)\b")
_CREATE = re.compile(r"\b(?:create|make|start|new|set up|begin)\b")
_NAMES_QUERY = re.compile(
    r"\b(?:what|which|names of|all) (?:of )?(?:my )?lists\b|\bmy lists\b|\blists (?:do i have|have i got)\b"
)
_BAD_NAMES = {
    "me", "us", "you", "it", "a", "an", "the", "my", "new", "this", "that", "any", "every", "each", "whole",
    "entire", "to do's",
}  # fmt: skip
_ITEM_SPLIT = re.compile(r"\s*(?:,|\band\b|\bas well as\b|&)\s*")
_VAGUE_ITEMS = {"something", "stuff", "things", "item", "items"}
_ITEM_LEAD = re.compile(r"^(?:some|a few|a couple of|an|a|the|please|also|more)\s+")


def list_data(record: ListRecord) -> dict[str, Any]:
    return {"name": record.name, "items": [item.text for item in record.items]}


def _clean_name(name: str) -> str:
    """The one name of a list, whatever synonym was said ("groceries" -> "shopping")."""
    name = re.sub(r"^(?:my|the|our|a|an|new)\s+", "", " ".join(name.strip().split()))
    return SYNONYMS.get(name, name)


def _list_name(low: str) -> str | None:
    for pattern in (_CALLED, _ON_LIST, _MY_LIST, _LEADING, _GROCERIES):
        match = pattern.search(low)
        if match and match.group("name").strip() not in _BAD_NAMES:
            return _clean_name(match.group("name"))
    return None


def _existing(ctx: SkillContext, name: str) -> str:
    """The stored list a name means: itself, or a list stored under a synonym before synonyms were one."""
    if ctx.memory.get_list(ctx.user_id, name) is not None:
        return name
    for record in ctx.memory.lists(ctx.user_id):
        if _clean_name(record.name) == name:
            return record.name
    return name


def _not_a_list_of_ours(ctx: SkillContext, low: str) -> bool:
    """A question about the world that names a list ("are polar bears on the endangered species list", "the
    new york times best seller list", "any sales on groceries today"): no list of the user's can answer it."""
    if _SHOPPING_QUESTION.search(low):
        return True
    name = _list_name(low)
    return bool(
        name
        and name not in ("shopping", "to do")
        and not re.search(r"\b(?:my|our)\b", low)
        and not (_ADD.search(low) or _REMOVE.search(low) or _CREATE.search(low))
        and ctx.memory.get_list(ctx.user_id, _existing(ctx, name)) is None
    )


def _item_phrase(phrase: str, shopping: bool) -> str:
    """An item as said around the command: 'we're out of milk' -> 'milk', 'i need to buy toothpaste' ->
    'toothpaste' (on a shopping list), 'i need to call the vet' -> 'call the vet'."""
    phrase = _LIST_PHRASE.sub(" ", phrase)
    phrase = _BARE_LIST_PHRASE.sub(" ", phrase) if re.search(r"\blist\b", phrase) else phrase
    phrase = " ".join(phrase.split())
    for _ in range(3):
        before = phrase
        phrase = _LEAD_FILLER.sub("", phrase).strip(" ,.;:!?-")
        phrase = _TRAIL_FILLER.sub("", phrase).strip(" ,.;:!?-")
        phrase = re.sub(r"^(?:to (?:my|the) list|to it)\b", "", phrase).strip()
        if shopping:
            phrase = _SHOPPING_NEED.sub("", phrase)
        phrase = _NEED.sub("", phrase)
        if phrase == before:
            break
    return phrase


def _items(phrase: str) -> list[str]:
    items = []
    for part in _ITEM_SPLIT.split(phrase.strip(" .!?")):
        part = _ITEM_LEAD.sub("", part.strip()).strip(" .!?")
        if part and part not in _PRONOUNS and part not in _VAGUE_ITEMS:
            items.append(part)
    return items


@skills.register("lists")
class ListsSkill(Skill):
    """Shopping and other lists: create, add, read, remove items, delete (confirmed)."""

    name = "lists"
    intents = frozenset({"lists_createoradd", "lists_query", "lists_remove"})
    description = "keep your shopping and other lists"
    examples = (
        "add milk and eggs to my shopping list",
        "what's on my shopping list?",
        "delete my packing list",
    )
    priority = 40

    def claims(self, ctx: SkillContext) -> bool:
        low = ctx.lower
        if len(low) > 300 or re.search(r"\bplaylists?\b", low):
            return False
        if not self.accepts(ctx):
            return False
        if _GROCERIES.search(low):
            return True
        if not re.search(r"\blists?\b", low):
            return False
        return _list_name(low) is not None or bool(_NAMES_QUERY.search(low) or _PLAIN_LIST.search(low))

    def accepts(self, ctx: SkillContext) -> bool:
        """About a list ("my shopping list", "groceries") or an item to add, buy or take off; not a question
        about lists in general, nor a list of things to write ("a list of ...")."""
        low = ctx.lower
        if is_general_question(low) or (_LIST_OF.search(low) and not _ON_LIST.search(low)):
            return False
        if _not_a_list_of_ours(ctx, low):
            return False
        return bool(
            _ABOUT_LISTS.search(low) or _ADD.search(low) or _REMOVE.search(low) or _SHOPPING_NEED.search(low)
        )

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        low = ctx.lower.rstrip(" ?.!")
        if re.search(r"\bplaylists?\b", low):
            return None  # music, not a list of ours
        if _NAMES_QUERY.search(low) and not _ADD.search(low):
            return self._names(ctx)
        deleting = _DELETE_LIST.match(low) or _DELETE_NAMED.match(low)
        if deleting:
            return self._ask_delete(ctx, _existing(ctx, _clean_name(deleting.group("name"))))
        slot = ctx.slot("list_name", "list")
        name = _clean_name(slot.lower().removesuffix(" list")) if slot else _list_name(low)
        if name is not None:
            name = _existing(ctx, name)
        verb_add = _ADD.search(low)
        verb_remove = _REMOVE.search(low)
        if verb_remove and (
            ctx.label == "lists_remove" or not verb_add or verb_remove.start() < verb_add.start()
        ):
            return self._remove_item(ctx, name, low, verb_remove.end())
        if verb_add:
            return self._add(ctx, name or _existing(ctx, DEFAULT_LIST), low, verb_add.start(), verb_add.end())
        if _CREATE.search(low) or ctx.label == "lists_createoradd":
            return self._create(ctx, name)
        return self._read(ctx, name)

    # --- create / add ---------------------------------------------------------------------------------

    def _create(self, ctx: SkillContext, name: str | None) -> SkillResult:
        if not name:
            return SkillResult("What should I call the list?", {"asking": "name"}, follow_up=FollowUp("name"))
        existing = ctx.memory.get_list(ctx.user_id, name)
        record = ctx.memory.create_list(ctx.user_id, name)
        if existing is not None:
            count = plural(len(record.items), "item")
            return SkillResult(f"You already have a {name} list, with {count}.", {"list": list_data(record)})
        return SkillResult(
            f"I've created your {name} list. What should I add?",
            {"list": list_data(record)},
            follow_up=FollowUp("items", {"name": name}),
        )

    def _add(self, ctx: SkillContext, name: str, low: str, verb_start: int, start: int) -> SkillResult:
        phrase = low[start:]
        rest = ""
        cut = _LIST_PHRASE.search(phrase)
        if cut:
            phrase, rest = phrase[: cut.start()], phrase[cut.end() :]
        shopping = _clean_name(name) == DEFAULT_LIST
        items = _items(_item_phrase(phrase, shopping))
        if not items:
            # "add to my list eggs", "add it to my list, i need cereal", "we're out of milk, add it"
            for elsewhere in (rest, low[:verb_start]):
                items = _items(_item_phrase(elsewhere, shopping))
                if items:
                    break
        if not items:
            return SkillResult(
                f"What should I add to your {name} list?",
                {"asking": "items"},
                follow_up=FollowUp("items", {"name": name}),
            )
        return self._store(ctx, name, items)

    def _store(self, ctx: SkillContext, name: str, items: list[str]) -> SkillResult:
        before = ctx.memory.get_list(ctx.user_id, name)
        had = {item.text.lower() for item in before.items} if before else set()
        record = None
        for item in items[:50]:
            record = ctx.memory.add_list_item(ctx.user_id, name, item)
        assert record is not None
        new = [item for item in items if item.lower() not in had]
        dupes = [item for item in items if item.lower() in had]
        parts = []
        if new:
            parts.append(f"Added {spoken_list(new)} to your {name} list.")
        if dupes:
            verb = "is" if len(dupes) == 1 else "are"
            parts.append(f"{spoken_list(dupes).capitalize()} {verb} already on your {name} list.")
        return SkillResult(" ".join(parts), {"list": list_data(record), "added": new})

    def resume(self, ctx: SkillContext, follow_up: FollowUp) -> SkillResult | None:
        low = ctx.lower.rstrip(" ?.!")
        if len(low) > 200 or re.search(r"\b(?:what|who|how|why|when|where|set|timer|alarm|remind)\b", low):
            return None
        if follow_up.slot == "name":
            name = _clean_name(
                re.sub(r"\s*\blist\b.*$", "", re.sub(r"^(?:call it|name it|it's|the)\s+", "", low))
            )
            return self._create(ctx, name) if name and name not in _BAD_NAMES else None
        if follow_up.slot == "items":
            if re.match(r"^(?:nothing|no|none|that's all|nothing else)\b", low):
                return SkillResult("Okay.", {})
            start = _ADD.match(low)
            items = _items(low[start.end() :] if start else low)
            return self._store(ctx, follow_up.state["name"], items) if items else None
        return None

    # --- read -----------------------------------------------------------------------------------------

    def _names(self, ctx: SkillContext) -> SkillResult:
        records = ctx.memory.lists(ctx.user_id)
        data = {"lists": [list_data(r) for r in records]}
        if not records:
            return SkillResult("You don't have any lists yet.", data)
        names = [f"{r.name} ({plural(len(r.items), 'item')})" for r in records]
        return SkillResult(f"You have {plural(len(records), 'list')}: {spoken_list(names)}.", data)

    def _read(self, ctx: SkillContext, name: str | None) -> SkillResult:
        if name is None:
            records = ctx.memory.lists(ctx.user_id)
            if len(records) == 1:
                name = records[0].name
            elif not records:
                return SkillResult("You don't have any lists yet.", {"lists": []})
            else:
                return self._names(ctx)
        record = ctx.memory.get_list(ctx.user_id, name)
        if record is None:
            return SkillResult(f"You don't have a {name} list.", {"list": None})
        items = [item.text for item in record.items]
        check = re.match(r"^(?:is|are|do i have) (?P<item>.{1,80}?) (?:on|in) ", ctx.lower)
        if check:
            wanted = check.group("item").removeprefix("any ").strip()
            found = any(item.lower() == wanted for item in items)
            text = (
                f"Yes, {wanted} is on your {name} list."
                if found
                else f"No, {wanted} isn't on your {name} list."
            )
            return SkillResult(text, {"list": list_data(record), "item": wanted, "present": found})
        if not items:
            return SkillResult(f"Your {name} list is empty.", {"list": list_data(record)})
        return SkillResult(
            f"Your {name} list has {plural(len(items), 'item')}: {spoken_list(items)}.",
            {"list": list_data(record)},
        )

    # --- remove ---------------------------------------------------------------------------------------

    def _remove_item(self, ctx: SkillContext, name: str | None, low: str, start: int) -> SkillResult:
        phrase = low[start:]
        cut = re.search(
            r"\b(?:from|off|on|in|of) (?:my |the |our |a )?(?:[a-z0-9][a-z0-9' &-]{0,40}? )?list\b", phrase
        )
        if cut:
            phrase = phrase[: cut.start()]
        phrase = re.sub(r"^\s*(?:off|out)\b", "", phrase)
        source = re.search(r"\s(?:from|off|out of) (?:my |the |our )?(?P<name>[a-z0-9' -]{1,30})$", phrase)
        if source:
            phrase = phrase[: source.start()]
            if name is None and ctx.memory.get_list(ctx.user_id, _clean_name(source.group("name"))):
                name = _clean_name(source.group("name"))
        items = _items(phrase)
        if name is None:
            holders = [
                r for r in ctx.memory.lists(ctx.user_id) if any(i.text.lower() in items for i in r.items)
            ]
            name = holders[0].name if len(holders) == 1 else DEFAULT_LIST
        if not items:
            return SkillResult(f"What should I remove from your {name} list?", {"asking": "item"})
        removed = [item for item in items if ctx.memory.remove_list_item(ctx.user_id, name, item)]
        missing = [item for item in items if item not in removed]
        record = ctx.memory.get_list(ctx.user_id, name)
        parts = []
        if removed:
            parts.append(f"Removed {spoken_list(removed)} from your {name} list.")
        if missing:
            where = f"your {name} list" if record else f"a {name} list (you don't have one)"
            verb = "isn't" if len(missing) == 1 else "aren't"
            parts.append(f"{spoken_list(missing, 'or').capitalize()} {verb} on {where}.")
        return SkillResult(
            " ".join(parts), {"list": list_data(record) if record else None, "removed": removed}
        )

    def _ask_delete(self, ctx: SkillContext, name: str) -> SkillResult:
        record = ctx.memory.get_list(ctx.user_id, name)
        if record is None:
            return SkillResult(f"You don't have a {name} list.", {"list": None})
        count = plural(len(record.items), "item")
        return SkillResult(
            f"Delete your {name} list with {count}? Say yes or no.",
            {"list": list_data(record)},
            confirmation=Confirmation("delete_list", {"name": name}, f"Okay, I'll keep your {name} list."),
        )

    def confirm(self, ctx: SkillContext, confirmation: Confirmation) -> SkillResult:
        name = confirmation.payload["name"]
        if ctx.memory.delete_list(ctx.user_id, name):
            return SkillResult(f"Deleted your {name} list.", {"deleted": name})
        return SkillResult(f"Your {name} list was already gone.", {"deleted": None})
