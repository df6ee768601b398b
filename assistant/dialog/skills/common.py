"""Small helpers shared by skills: lists in speech, plurals, cutting matched spans out of a request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.dialog.parsing.words import Token, join

YES_WORDS = {
    "yes", "yeah", "yep", "yup", "yea", "ya", "sure", "ok", "okay", "correct", "right", "affirmative",
    "absolutely", "definitely", "certainly", "confirm", "confirmed", "please", "go", "do", "alright",
}  # fmt: skip
NO_WORDS = {"no", "nope", "nah", "don't", "dont", "do not", "never", "negative", "cancel", "stop", "wait"}
_YES = re.compile(
    r"^(?:(?:yes|yeah|yep|yup|yea|sure|ok|okay|correct|right|affirmative|absolutely|definitely|certainly|"
    r"confirm(?:ed)?|alright|of course)\b|(?:please )?(?:do it|go ahead|delete it|remove it|proceed|"
    r"that's right|that is right)\b)"
)
_NO = re.compile(
    r"^(?:no|nope|nah|negative|never ?mind|nevermind|cancel|stop|wait|don't|dont|do not|not now|"
    r"forget it|leave it|keep it)\b"
)


# A question about things in general ("why do people set alarms for 6:58", "what is a bucket list"), not a
# request about the user's own alarms or lists: the skills' rules leave it to the generator.
_ABOUT = re.compile(
    r"^(?:why|how come|how (?:do|does|did) (?!i |we )|what is an? |what's an? |what are (?!my |our |the |any )|"
    r"who invented |"
    r"where did |what's the history |what is the history |is it true |explain |"
    r"what(?:'s| is) the difference )|\bdifference between\b|\bhistory of\b"
)


def is_general_question(lower: str) -> bool:
    return bool(_ABOUT.search(lower))


def is_yes(text: str) -> bool:
    low = " ".join(text.lower().split())
    return len(low) <= 80 and bool(_YES.match(low)) and not _NO.match(low)


def is_no(text: str) -> bool:
    low = " ".join(text.lower().split())
    return len(low) <= 80 and bool(_NO.match(low))


def spoken_list(items: Sequence[str], conjunction: str = "and") -> str:
    items = [str(item) for item in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural_word or word + 's'}"


def without(tokens: list[Token], spans: Iterable[tuple[int, int]]) -> list[Token]:
    """The tokens outside the given [start, end) spans."""
    drop: set[int] = set()
    for start, end in spans:
        drop.update(range(start, end))
    return [tok for i, tok in enumerate(tokens) if i not in drop]


def strip_words(tokens: list[Token], lead: set[str], trail: set[str] | None = None) -> list[Token]:
    """Drop filler words from both ends ("to", "for", "my", "please"...)."""
    trail = lead if trail is None else trail
    start, end = 0, len(tokens)
    while start < end and tokens[start].norm in lead:
        start += 1
    while end > start and tokens[end - 1].norm in trail:
        end -= 1
    return tokens[start:end]


def text_of(tokens: list[Token]) -> str:
    return join(tokens).strip(" ,.;:!?")
