"""Training-data augmentation for intent models (issue 14, "generalise beyond HWU64").

HWU64 is short, ASR-style text: numbers spelled out ("set alarm at five am"), few politeness phrases,
few contractions. Other people's requests (CLINC150, SNIPS) say "can you set an alarm for 6 am, please" or
"i'd like to hear ...". `augment(dataset)` adds rewritten copies of the training utterances (validation and
test stay as they are) using label-preserving rewrites:

- `prefix` / `suffix`: a politeness or filler phrase chosen to fit the sentence ("can you ...", "i want to
  know ...", "... please");
- `contraction`: "what is" <-> "what's", "i would" <-> "i'd", "do not" <-> "don't", ...;
- `digits`: spelled-out numbers and times as digits ("five thirty pm" -> "5:30 pm");
- `articles`: drop "the", "a", "an";
- `synonym`: swap a word for a hand-checked synonym ("song" -> "track", "delete" -> "remove"). The list
  is written by hand on purpose: nearest neighbours in word-vector space include antonyms ("up"/"down",
  "on"/"off") that would flip a label;
- `rare`: swap the rare words of an utterance (at most twice in the training set: mostly names, titles and
  places) for other rare words, so that a name never seen ("play kyle ward", "find heat wave") does not
  decide the intent. Only `augment` offers it (it needs the training set's word counts).

Use it before `fit`: `model.fit(augment(load_dataset("hwu64"), copies=1, seed=0))`. Slot-tagged datasets
are refused (the rewrites do not keep BIO tags aligned).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from nlu.types import Dataset, Example

OPS = ("prefix", "suffix", "contraction", "digits", "articles", "synonym")  # rewrites of one utterance
ALL_OPS = (*OPS, "rare")

# Sentences that start like a question take "tell me ..." style prefixes; the rest are treated as commands.
QUESTION_STARTS = {
    "what",
    "what's",
    "whats",
    "who",
    "who's",
    "when",
    "where",
    "where's",
    "which",
    "why",
    "how",
    "how's",
    "is",
    "are",
    "am",
    "do",
    "does",
    "did",
    "will",
    "would",
    "can",
    "could",
    "should",
    "have",
    "has",
    "was",
    "were",
    "any",
}
# Sentences that start with one of these verbs are commands: "can you ..." fits in front of them. Anything
# else ("i want ...", "lights off") only gets a neutral filler ("hey", "ok").
COMMAND_VERBS = {
    "add",
    "answer",
    "book",
    "brew",
    "buy",
    "calculate",
    "call",
    "cancel",
    "change",
    "check",
    "clean",
    "clear",
    "confirm",
    "convert",
    "create",
    "decrease",
    "define",
    "delete",
    "describe",
    "dim",
    "display",
    "email",
    "erase",
    "explain",
    "find",
    "get",
    "give",
    "go",
    "help",
    "increase",
    "let",
    "list",
    "look",
    "lower",
    "make",
    "mute",
    "open",
    "order",
    "pause",
    "play",
    "post",
    "put",
    "raise",
    "read",
    "recommend",
    "remind",
    "remove",
    "repeat",
    "reset",
    "resume",
    "save",
    "say",
    "schedule",
    "search",
    "send",
    "set",
    "show",
    "shuffle",
    "skip",
    "speak",
    "start",
    "stop",
    "switch",
    "take",
    "tell",
    "text",
    "tweet",
    "turn",
    "unmute",
    "update",
    "wake",
}
NEUTRAL_PREFIXES = ("hey", "ok", "okay", "so", "hi", "um")
COMMAND_PREFIXES = (
    "please",
    "can you",
    "could you",
    "can you please",
    "could you please",
    "would you",
    "will you",
    "i want you to",
    "i need you to",
    "i'd like you to",
    "hey",
    "ok",
    "okay",
    "go ahead and",
    "i would like you to",
)
QUESTION_PREFIXES = (
    "hey",
    "ok",
    "so",
    "tell me",
    "can you tell me",
    "could you tell me",
    "i want to know",
    "i'd like to know",
    "i need to know",
    "do you know",
    "please tell me",
    "quick question,",
)
SUFFIXES = ("please", "for me", "now", "right now", "thanks", "thank you", "for me please")
CONTRACTIONS = {
    "what is": "what's",
    "who is": "who's",
    "where is": "where's",
    "how is": "how's",
    "that is": "that's",
    "it is": "it's",
    "there is": "there's",
    "i am": "i'm",
    "i would": "i'd",
    "i will": "i'll",
    "i have": "i've",
    "you are": "you're",
    "do not": "don't",
    "does not": "doesn't",
    "did not": "didn't",
    "is not": "isn't",
    "are not": "aren't",
    "can not": "can't",
    "cannot": "can't",
    "will not": "won't",
    "let us": "let's",
    "want to": "wanna",
    "going to": "gonna",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "song": ("track", "tune"),
    "songs": ("tracks", "tunes"),
    "music": ("songs", "tunes"),
    "movie": ("film",),
    "movies": ("films",),
    "cinema": ("movie theater", "theatre"),
    "taxi": ("cab", "uber", "ride"),
    "cab": ("taxi",),
    "delete": ("remove", "erase", "clear"),
    "remove": ("delete", "take off", "erase"),
    "erase": ("delete", "remove"),
    "add": ("put", "include"),
    "show": ("list", "display", "give me"),
    "tell": ("let me know", "inform"),
    "meeting": ("appointment", "event"),
    "appointment": ("meeting", "event"),
    "event": ("appointment",),
    "events": ("appointments",),
    "buy": ("purchase", "get"),
    "find": ("look up", "search for", "get"),
    "check": ("look at", "see"),
    "set": ("create", "make"),
    "create": ("make", "set up"),
    "weather": ("forecast",),
    "forecast": ("weather",),
    "email": ("e-mail", "mail"),
    "emails": ("e-mails", "mails"),
    "photo": ("picture",),
    "lights": ("lamps",),
    "lamp": ("light",),
    "today": ("this day",),
    "tonight": ("this evening",),
    "recipe": ("instructions",),
    "cook": ("make", "prepare"),
    "restaurant": ("place to eat",),
    "restaurants": ("places to eat",),
    "near": ("close to", "around"),
    "nearby": ("near me", "close by", "around here"),
    "want": ("need", "would like"),
    "need": ("want",),
    "quiet": ("silent",),
    "louder": ("up",),
    "quieter": ("softer",),
    "joke": ("funny story",),
    "list": ("lists",),
    "calendar": ("schedule", "agenda"),
    "schedule": ("calendar",),
    "reminder": ("reminders",),
    "play": ("put on", "start"),
    "start": ("begin",),
    "stop": ("end", "halt"),
    "latest": ("newest", "most recent"),
    "news": ("headlines",),
    "price": ("cost",),
    "cost": ("price",),
    "define": ("give me the definition of",),
    "meaning": ("definition",),
    "currency": ("money",),
    "exchange": ("conversion",),
    "train": ("rail",),
    "ticket": ("tickets",),
    "traffic": ("road conditions",),
    "order": ("get",),
    "food": ("meal",),
    "dinner": ("supper",),
}
ARTICLES = {"the", "a", "an"}
ONES = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


def _number_at(words: list[str], i: int) -> tuple[int, int] | None:
    """The number spelled from words[i] (0-999), and how many words it takes; None if none starts there."""
    value, used = 0, 0
    if words[i] in ONES and i + 1 < len(words) and words[i + 1] == "hundred":
        value, used = ONES[words[i]] * 100, 2
        if i + 2 < len(words) and words[i + 2] == "and":
            used += 1
    rest = i + used
    if rest < len(words) and words[rest] in TENS:
        value += TENS[words[rest]]
        used += 1
        if rest + 1 < len(words) and words[rest + 1] in ONES and 0 < ONES[words[rest + 1]] < 10:
            value += ONES[words[rest + 1]]
            used += 1
    elif rest < len(words) and words[rest] in ONES and (used == 0 or ONES[words[rest]] > 0):
        value += ONES[words[rest]]
        used += 1
    return (value, used) if used else None


def digits(text: str, rng: random.Random | None = None) -> str:
    """Spelled-out numbers as digits; "five thirty pm" -> "5:30 pm", "six am" -> "6 am" or "6am"."""
    rng = rng or random.Random(0)
    words, out, i = text.split(), [], 0
    if {"thousand", "million", "billion"} & set(words):  # big numbers stay spelled out
        return text
    while i < len(words):
        found = _number_at(words, i)
        if found is None or (words[i] == "one" and _looks_like_pronoun(words, i)):
            out.append(words[i])
            i += 1
            continue
        value, used = found
        j = i + used
        token = str(value)
        minute = _number_at(words, j) if j < len(words) and value <= 12 else None
        if minute is not None and words[j] not in ONES and 10 <= minute[0] < 60:  # "five thirty"
            token = f"{value}:{minute[0]:02d}"
            j += minute[1]
        elif j < len(words) and words[j] == "o'clock" and value <= 12:
            token = f"{value}:00" if rng.random() < 0.5 else f"{value} o'clock"
            j += 1
        if j < len(words) and words[j] in ("am", "pm", "a.m.", "p.m.") and rng.random() < 0.4:
            token += words[j].replace(".", "")  # "6am"
            j += 1
        out.append(token)
        i = j
    return " ".join(out)


def _looks_like_pronoun(words: list[str], i: int) -> bool:
    """ "one" as in "the next one", "this one", "one of my songs" rather than the number 1."""
    before = words[i - 1] if i else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    return before in {
        "the",
        "this",
        "that",
        "next",
        "last",
        "previous",
        "which",
        "any",
        "every",
        "no",
    } or after in {
        "of",
        "more",
    }


def contract(text: str, rng: random.Random) -> str:
    """Contract (or, half the time where possible, expand) one phrase."""
    padded = f" {text} "
    forward = [(long, short) for long, short in CONTRACTIONS.items() if f" {long} " in padded]
    backward = [
        (short, long) for long, short in CONTRACTIONS.items() if f" {short} " in padded and short != "wanna"
    ]
    options = forward + backward
    if not options:
        return text
    old, new = rng.choice(options)
    return padded.replace(f" {old} ", f" {new} ", 1).strip()


def prefix(text: str, rng: random.Random) -> str:
    first = text.split()[0] if text.split() else ""
    if first in {"please", "can", "could", "would", "hey", "ok", "okay"}:
        return text
    if first in QUESTION_STARTS:
        choices = QUESTION_PREFIXES
    else:
        choices = COMMAND_PREFIXES if first in COMMAND_VERBS else NEUTRAL_PREFIXES
    return f"{rng.choice(choices)} {text}"


def suffix(text: str, rng: random.Random) -> str:
    first = text.split()[0] if text.split() else ""
    if first in QUESTION_STARTS:
        return text + rng.choice((" please", "?"))
    if first not in COMMAND_VERBS:
        return text
    return f"{text} {rng.choice(SUFFIXES)}"


def drop_articles(text: str, rng: random.Random) -> str:
    words = text.split()
    kept = [w for w in words if w not in ARTICLES or rng.random() < 0.3]
    return " ".join(kept) if kept else text


def synonym(text: str, rng: random.Random) -> str:
    words = text.split()
    spots = [i for i, w in enumerate(words) if w in SYNONYMS]
    if not spots:
        return text
    i = rng.choice(spots)
    words[i] = rng.choice(SYNONYMS[words[i]])
    return " ".join(words)


REWRITES: dict[str, Callable[[str, random.Random], str]] = {
    "prefix": prefix,
    "suffix": suffix,
    "contraction": contract,
    "digits": digits,
    "articles": drop_articles,
    "synonym": synonym,
}


FUNCTION_WORDS = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "about",
        "into",
        "over",
        "after",
        "before",
        "under",
        "up",
        "down",
        "off",
        "out",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "we",
        "our",
        "us",
        "he",
        "she",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "how",
        "not",
        "no",
        "yes",
        "all",
        "any",
        "some",
        "each",
        "every",
        "more",
        "most",
        "other",
        "than",
        "too",
        "very",
    ]
)


def rare_swapper(train: Sequence[Example], max_count: int = 2) -> Callable[[str, random.Random], str]:
    """The `rare` op for this training set: rare words swapped for other rare words."""
    from collections import Counter

    counts = Counter(w for ex in train for w in ex.text.split())
    pool = sorted(w for w, c in counts.items() if c <= max_count and w.isalpha() and w not in FUNCTION_WORDS)

    def swap(text: str, rng: random.Random) -> str:
        if not pool:
            return text
        words = text.split()
        out = [
            rng.choice(pool) if counts[w] <= max_count and w.isalpha() and w not in FUNCTION_WORDS else w
            for w in words
        ]
        return " ".join(out)

    return swap


def rewrite(
    text: str,
    rng: random.Random,
    ops: Sequence[str] = OPS,
    p: float = 0.5,
    extra: dict[str, Callable[[str, random.Random], str]] | None = None,
) -> str:
    """Apply each op with probability p (at least one that changes the text, where any can)."""
    table = {**REWRITES, **(extra or {})}
    unknown = set(ops) - set(table)
    if unknown:
        raise ValueError(f"Unknown augmentation ops {sorted(unknown)}; known: {', '.join(table)}")
    order = list(ops)
    rng.shuffle(order)
    out = text
    for op in order:
        if rng.random() < p:
            out = table[op](out, rng)
    if out == text:  # nothing fired or nothing applied: try the ops one by one
        for op in order:
            out = table[op](text, rng)
            if out != text:
                break
    return " ".join(out.split())


def augment(
    dataset: Dataset, copies: int = 1, seed: int = 0, ops: Sequence[str] = OPS, p: float = 0.5
) -> Dataset:
    """The dataset with `copies` rewritten versions of each training utterance added (duplicates of an
    original or of each other dropped); validation and test splits unchanged. `ops`: any of ALL_OPS."""
    if dataset.has_slots:
        raise ValueError(
            f"{dataset.name}: augmentation does not keep slot tags aligned; use an intent-only set"
        )
    rng = random.Random(seed)
    special = {"rare": rare_swapper(dataset.train)} if "rare" in ops else None
    seen = {(ex.text, ex.intent) for ex in dataset.train}
    added: list[Example] = []
    for _ in range(copies):
        for example in dataset.train:
            text = rewrite(example.text, rng, ops, p, special)
            if text and (text, example.intent) not in seen:
                seen.add((text, example.intent))
                added.append(Example(text, example.intent))
    return Dataset(dataset.name, dataset.train + added, dataset.valid, dataset.test, dataset.oos_label)
