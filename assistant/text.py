"""Cleaning what a person typed or said, before anything reads it: one place for the text limits too.

What is stored is the person's words as given (cleaned of control characters); what the NLU model and
the skills read is also without spoken fillers ("uh, what's 63 divided by 7"), which carry no meaning and
throw both off.
"""

from __future__ import annotations

import re
import unicodedata

MAX_STORED_CHARS = 1_000_000  # longer input is refused (clearly); up to this it is kept verbatim
MAX_MEMORY_TEXT_CHARS = 1_100_000  # what the memory accepts for one request or reply (stored input + room)
MAX_UNDERSTOOD_CHARS = 2_000  # what NLU, the skills and the generator read of a long message
MAX_COMMAND_CHARS = 1_000  # longer text is not a command: only the skills' own rules (long maths) may act

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# hesitation sounds, as typed or as Whisper writes them ("uh", "umm", "uhm", "hmm", "erm"); not "er" (ER)
_FILLER = re.compile(r"(?<![\w'-])(?:u+h+|u+m+|uhm+|erm+|h+m+|a+h+)(?![\w'-])[,.…]*\s*", re.IGNORECASE)


def without_lone_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (valid JSON `\\ud800`, but not encodable text) become U+FFFD, so what a
    client sent can always be shown, stored and sent back."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def clean_text(text: str) -> str:
    """Normalise what a person typed: NFC, control characters out, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in text)
    return " ".join(text.split())


def without_fillers(text: str) -> str:
    """The words without hesitation sounds; the text unchanged if it is nothing but them."""
    stripped = " ".join(_FILLER.sub(" ", text).split()).lstrip(",.;: ")
    return stripped or text


def understood_text(text: str) -> str:
    """What the NLU model and the skills read of a message: cleaned, fillers out, capped."""
    return without_fillers(clean_text(text)[:MAX_UNDERSTOOD_CHARS])
