from __future__ import annotations

import pytest

from assistant.memory import MemoryInputError, NewTurn

HOSTILE = [
    "'; DROP TABLE turns; --",
    'Robert"); DELETE FROM users WHERE ("1"="1',
    "1' OR '1'='1",
    "\u202eevil\u202c right-to-left override \u200f\u05e9\u05dc\u05d5\u05dd",
    "emoji 👩‍👩‍👧‍👦🏳️‍🌈🔥 and ZWJ",
    "<script>alert('x')</script>",
    "\\x00 literal backslashes \\ %_ LIKE wildcards",
    "line\nbreaks\r\nand\ttabs\x07bell\x1b[31m",
    "𝕌𝕟𝕚𝕔𝕠𝕕𝕖 𝔪𝔞𝔱𝔥 and \ud7ff",
    "x" * 1_000_000,  # 1 MB
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_stored_verbatim(memory, text: str) -> None:
    user = memory.user("mallory")
    conv = memory.start_conversation(user.id)
    memory.append_turn(user.id, conv.id, NewTurn(user_text=text, reply_text=text, slots={"s": text[:1000]}))
    memory.set_fact(user.id, "note", text[:10_000])
    (turn,) = memory.recent_turns(user.id, conv.id)
    assert turn.user_text == text and turn.reply_text == text
    assert turn.slots == {"s": text[:1000]}
    assert memory.get_fact(user.id, "note") == text[:10_000]
    assert memory.db.integrity_check() == "ok"
    assert memory.count_turns() == 1  # no injected statement ran


def test_nul_and_oversized_text_refused_clearly(memory) -> None:
    user = memory.user("mallory")
    conv = memory.start_conversation(user.id)
    with pytest.raises(MemoryInputError, match="NUL"):
        memory.append_turn(user.id, conv.id, NewTurn(user_text="a\x00b"))
    with pytest.raises(MemoryInputError, match="too long"):
        memory.append_turn(user.id, conv.id, NewTurn(user_text="x" * 2_000_000))
    with pytest.raises(MemoryInputError, match="NUL"):
        memory.user("bad\x00name")
    assert memory.count_turns() == 0
    memory.append_turn(user.id, conv.id, NewTurn(user_text="still works"))
    assert memory.db.integrity_check() == "ok"
