"""The page's side panel in one read (`Memory.panel`) says exactly what the record-by-record reads say,
for one user only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.config import load_settings
from assistant.memory import open_memory


def one_by_one(memory, user_id: int) -> dict:
    return {
        "lists": {lst.name: [item.text for item in lst.items] for lst in memory.lists(user_id)},
        "timers": [
            {"id": t.id, "kind": t.kind, "label": t.label, "due_at": t.due_at.isoformat()}
            for t in memory.timers(user_id)
        ],
        "reminders": [
            {"id": r.id, "text": r.text, "due_at": r.due_at.isoformat() if r.due_at else None}
            for r in memory.reminders(user_id)
        ],
        "facts": memory.facts(user_id),
    }


def test_the_panel_is_the_users_state_read_at_once(tmp_path):
    memory = open_memory(load_settings({"data_dir": tmp_path}))
    ana, ben = memory.user("ana").id, memory.user("ben").id
    assert (
        memory.panel(ana)
        == one_by_one(memory, ana)
        == {"lists": {}, "timers": [], "reminders": [], "facts": {}}
    )
    now = datetime.now(UTC)
    for item in ("milk", "eggs", "bread"):
        memory.add_list_item(ana, "shopping", item)
    memory.create_list(ana, "packing")  # an empty list still shows
    memory.add_list_item(ben, "shopping", "ben's item")
    late = memory.add_timer(ana, now + timedelta(minutes=9), "alarm", label="work")
    memory.add_timer(ana, now + timedelta(minutes=2), "timer")
    memory.cancel_timer(ana, late.id)
    memory.add_timer(ana, now + timedelta(minutes=5), "timer", label="tea")
    memory.add_reminder(ana, "call mum", now + timedelta(hours=1))
    memory.add_reminder(ana, "buy a plant", None)
    memory.set_fact(ana, "name", "Ana")
    memory.set_fact(ben, "name", "Ben")
    state = memory.panel(ana)
    assert state == one_by_one(memory, ana)
    assert state["lists"] == {"packing": [], "shopping": ["milk", "eggs", "bread"]}
    assert [t["label"] for t in state["timers"]] == [None, "tea"] and state["facts"] == {"name": "Ana"}
    assert [r["text"] for r in state["reminders"]] == ["call mum", "buy a plant"]
