from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.memory import MemoryInputError, NewTurn, NotFoundError


def _turn(text: str, **extra) -> NewTurn:
    return NewTurn(user_text=text, reply_text=f"reply to {text}", **extra)


def test_users_are_get_or_create(memory) -> None:
    ana = memory.user("Ana")
    assert memory.user(" Ana ") == ana
    assert memory.get_user(ana.id) == ana
    assert memory.user("Bob").id != ana.id
    with pytest.raises(MemoryInputError):
        memory.user("   ")


def test_conversation_and_turn_round_trip(memory) -> None:
    ana = memory.user("ana")
    conv = memory.start_conversation(ana.id, title="kitchen")
    turn = NewTurn(
        user_text="set a timer for ten minutes",
        reply_text="Timer set for 10 minutes.",
        input_kind="voice",
        asr_confidence=0.93,
        intent="alarm_set",
        intent_confidence=0.88,
        nlu_model="lstm",
        slots={"time": "ten minutes"},
        answered_by="timers",
        timings_ms={"asr": 120.5, "nlu": 1.2, "skill": 3.0, "tts_first_audio": 80.0},
    )
    stored = memory.append_turn(ana.id, conv.id, turn)
    (loaded,) = memory.recent_turns(ana.id, conv.id)
    assert loaded == stored
    for field in NewTurn.__dataclass_fields__:
        assert getattr(loaded, field) == getattr(turn, field), field
    assert loaded.created_at.tzinfo is not None
    assert memory.get_conversation(ana.id, conv.id).turn_count == 1


def test_recent_turns_are_last_n_oldest_first(memory) -> None:
    ana = memory.user("ana")
    conv = memory.start_conversation(ana.id)
    for i in range(12):
        memory.append_turn(ana.id, conv.id, _turn(f"message {i}"))
    recent = memory.recent_turns(ana.id, conv.id, n=5)
    assert [t.user_text for t in recent] == [f"message {i}" for i in range(7, 12)]
    assert memory.recent_turns(ana.id, conv.id, n=0) == []


def test_resume_conversation(memory) -> None:
    ana = memory.user("ana")
    first = memory.resume_conversation(ana.id)  # none yet: starts one
    second = memory.start_conversation(ana.id)
    memory.append_turn(ana.id, first.id, _turn("hello"))  # first becomes the most recently active
    assert memory.resume_conversation(ana.id).id == first.id
    assert memory.resume_conversation(ana.id, second.id).id == second.id
    assert [c.id for c in memory.list_conversations(ana.id)] == [first.id, second.id]
    with pytest.raises(NotFoundError):
        memory.resume_conversation(ana.id, 99999)


def test_search_history(memory) -> None:
    ana = memory.user("ana")
    conv = memory.start_conversation(ana.id)
    memory.append_turn(ana.id, conv.id, _turn("Add MILK to my shopping list"))
    memory.append_turn(ana.id, conv.id, _turn("what time is it"))
    memory.append_turn(ana.id, conv.id, _turn("100% sure_thing"))
    assert [t.user_text for t in memory.search_turns(ana.id, "milk")] == ["Add MILK to my shopping list"]
    assert len(memory.search_turns(ana.id, "reply to")) == 3  # replies are searched too
    assert [t.user_text for t in memory.search_turns(ana.id, "100%")] == ["100% sure_thing"]
    assert memory.search_turns(ana.id, "%") == [memory.search_turns(ana.id, "100%")[0]]  # % is literal
    assert memory.search_turns(ana.id, "   ") == []


def test_delete_conversation(memory) -> None:
    ana = memory.user("ana")
    conv = memory.start_conversation(ana.id)
    keep = memory.start_conversation(ana.id)
    memory.append_turn(ana.id, conv.id, _turn("bye"))
    memory.append_turn(ana.id, keep.id, _turn("stay"))
    assert memory.delete_conversation(ana.id, conv.id)
    assert memory.get_conversation(ana.id, conv.id) is None
    assert memory.count_turns(ana.id) == 1
    assert not memory.delete_conversation(ana.id, conv.id)


def test_facts(memory) -> None:
    ana = memory.user("ana")
    memory.set_fact(ana.id, "Name", "Ana")
    memory.set_fact(ana.id, "city", "Lisbon")
    memory.set_fact(ana.id, "name", "Ana Maria")
    assert memory.get_fact(ana.id, "name") == "Ana Maria"
    assert memory.facts(ana.id) == {"city": "Lisbon", "name": "Ana Maria"}
    assert memory.delete_fact(ana.id, "city")
    assert memory.facts(ana.id) == {"name": "Ana Maria"}


def test_timers_and_alarms(memory) -> None:
    ana = memory.user("ana")
    now = datetime.now(UTC)
    t1 = memory.add_timer(ana.id, now + timedelta(minutes=10), label="pasta", duration_s=600)
    alarm = memory.add_timer(ana.id, now + timedelta(hours=8), kind="alarm")
    t2 = memory.add_timer(ana.id, now - timedelta(seconds=1), duration_s=5)
    assert [t.id for t in memory.timers(ana.id)] == [t2.id, t1.id, alarm.id]
    assert [t.id for t in memory.timers(ana.id, kind="alarm")] == [alarm.id]
    assert memory.timers(ana.id)[1].label == "pasta"
    assert [t.id for t in memory.claim_due_timers(now)] == [t2.id]
    assert memory.claim_due_timers(now) == []  # fires exactly once
    assert memory.cancel_timer(ana.id, t1.id)
    assert not memory.cancel_timer(ana.id, t1.id)
    assert [t.id for t in memory.timers(ana.id)] == [alarm.id]
    assert {t.status for t in memory.timers(ana.id, status=None)} == {"active", "fired", "cancelled"}
    with pytest.raises(MemoryInputError):
        memory.add_timer(ana.id, datetime.now(), kind="timer")  # naive datetime
    with pytest.raises(MemoryInputError):
        memory.add_timer(ana.id, now, kind="egg")


def test_reminders(memory) -> None:
    ana = memory.user("ana")
    now = datetime.now(UTC)
    call = memory.add_reminder(ana.id, "call mum", now + timedelta(hours=1))
    later = memory.add_reminder(ana.id, "buy stamps")
    due = memory.add_reminder(ana.id, "take pills", now - timedelta(minutes=1))
    assert [r.id for r in memory.reminders(ana.id)] == [due.id, call.id, later.id]
    assert [r.id for r in memory.claim_due_reminders(now)] == [due.id]
    assert memory.complete_reminder(ana.id, call.id)
    assert [r.id for r in memory.reminders(ana.id)] == [later.id]


def test_calendar(memory) -> None:
    ana = memory.user("ana")
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    dentist = memory.add_event(ana.id, "dentist", start, start + timedelta(hours=1), "Main St")
    party = memory.add_event(ana.id, "party", start + timedelta(days=2))
    assert [e.title for e in memory.events(ana.id)] == ["dentist", "party"]
    assert memory.events(ana.id, start, start + timedelta(days=1)) == [dentist]
    assert memory.delete_event(ana.id, party.id)
    assert memory.events(ana.id) == [dentist]
    with pytest.raises(MemoryInputError, match="end before"):
        memory.add_event(ana.id, "x", start, start - timedelta(hours=1))


def test_lists(memory) -> None:
    ana = memory.user("ana")
    memory.create_list(ana.id, "Shopping")
    memory.add_list_item(ana.id, "shopping", "milk")
    memory.add_list_item(ana.id, "shopping", "Milk")  # no duplicates
    shopping = memory.add_list_item(ana.id, "shopping", "eggs")
    assert [i.text for i in shopping.items] == ["milk", "eggs"]
    memory.add_list_item(ana.id, "todo", "file taxes")  # creates the list
    assert [lst.name for lst in memory.lists(ana.id)] == ["shopping", "todo"]
    assert memory.remove_list_item(ana.id, "shopping", "MILK")
    assert [i.text for i in memory.get_list(ana.id, "shopping").items] == ["eggs"]
    assert not memory.remove_list_item(ana.id, "shopping", "bread")
    assert memory.delete_list(ana.id, "shopping")
    assert memory.get_list(ana.id, "shopping") is None


def test_user_a_never_sees_user_b(memory) -> None:
    ana, bob = memory.user("ana"), memory.user("bob")
    conv_a = memory.start_conversation(ana.id)
    memory.append_turn(ana.id, conv_a.id, _turn("my secret is swordfish"))
    memory.set_fact(ana.id, "name", "Ana")
    timer = memory.add_timer(ana.id, datetime.now(UTC) + timedelta(minutes=5))
    memory.add_list_item(ana.id, "shopping", "milk")
    event = memory.add_event(ana.id, "dentist", datetime.now(UTC))

    assert memory.list_conversations(bob.id) == []
    assert memory.get_conversation(bob.id, conv_a.id) is None
    assert memory.recent_turns(bob.id, conv_a.id) == []
    assert memory.search_turns(bob.id, "swordfish") == []
    assert memory.facts(bob.id) == {} and memory.get_fact(bob.id, "name") is None
    assert memory.timers(bob.id) == [] and not memory.cancel_timer(bob.id, timer.id)
    assert memory.get_list(bob.id, "shopping") is None and memory.lists(bob.id) == []
    assert memory.events(bob.id) == [] and not memory.delete_event(bob.id, event.id)
    assert not memory.delete_conversation(bob.id, conv_a.id)
    with pytest.raises(NotFoundError):
        memory.append_turn(bob.id, conv_a.id, _turn("sneaky"))
    with pytest.raises(NotFoundError):
        memory.resume_conversation(bob.id, conv_a.id)
    assert memory.count_turns(ana.id) == 1  # nothing of ana's changed


def test_forget_user_erases_every_row(memory) -> None:
    ana, bob = memory.user("ana"), memory.user("bob")
    for user in (ana, bob):
        conv = memory.start_conversation(user.id)
        memory.append_turn(user.id, conv.id, _turn("hello"))
        memory.set_fact(user.id, "name", user.name)
        memory.add_timer(user.id, datetime.now(UTC) + timedelta(minutes=1))
        memory.add_reminder(user.id, "x")
        memory.add_event(user.id, "y", datetime.now(UTC))
        memory.add_list_item(user.id, "shopping", "milk")

    assert memory.forget_user(ana.id)
    from sqlalchemy import text

    with memory.db.engine.connect() as conn:
        for table in (
            "conversations",
            "turns",
            "timers",
            "reminders",
            "calendar_events",
            "lists",
            "user_facts",
        ):
            assert (
                conn.execute(text(f"SELECT count(*) FROM {table} WHERE user_id = :u"), {"u": ana.id}).scalar()
                == 0
            )
        assert conn.execute(text("SELECT count(*) FROM list_items")).scalar() == 1  # bob's
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 1
    assert memory.get_user(ana.id) is None
    assert memory.count_turns(bob.id) == 1 and memory.facts(bob.id) == {"name": "bob"}
    assert not memory.forget_user(ana.id)
