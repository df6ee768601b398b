"""Several schedulers on one database (replicas of `assistant serve`): each due timer, alarm and reminder
is delivered exactly once, and a replica that dies holding leases does not lose what it held."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from assistant.dialog.scheduler import Alert, Scheduler
from assistant.memory import Memory
from assistant.memory.db import Database, dispose_engine, is_sqlite

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def second_engine_url(url: str) -> str:
    """The same database through another engine (another connection pool), as a second process has."""
    if is_sqlite(url):
        return url  # SQLite: one file lock for every engine and process; the shared engine is as strict
    return f"{url}&application_name=replica_b"


def add_due_items(memory: Memory, users: int = 3, per_user: int = 20) -> set[tuple[str, int]]:
    expected: set[tuple[str, int]] = set()
    for u in range(users):
        user = memory.user(f"lease-user-{u}")
        for n in range(per_user):
            due = NOW - timedelta(seconds=n)
            if n % 4 == 0:
                expected.add(("reminder", memory.add_reminder(user.id, f"call {n}", due).id))
            else:
                kind = "alarm" if n % 4 == 1 else "timer"
                expected.add((kind, memory.add_timer(user.id, due, kind=kind, label=f"t{n}").id))
    return expected


def test_two_schedulers_fire_each_due_item_once(memory: Memory) -> None:
    expected = add_due_items(memory)
    other_url = second_engine_url(memory.db.url)
    other = Memory(Database(other_url))
    fired: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    schedulers = [Scheduler(memory, owner="replica-a"), Scheduler(other, owner="replica-b")]
    for scheduler in schedulers:

        def record(alert: Alert, owner: str = scheduler.owner) -> None:
            with lock:
                fired.append((alert.kind, alert.id, owner))

        scheduler.subscribe(record)
    barrier = threading.Barrier(len(schedulers))
    errors: list[BaseException] = []

    def run(scheduler: Scheduler) -> None:
        barrier.wait()
        try:
            for step in range(12):  # both poll the same instants at once, over and over
                scheduler.poll(NOW + timedelta(milliseconds=step))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert errors == []
        counts = Counter((kind, id_) for kind, id_, _ in fired)
        assert set(counts) == expected
        assert [key for key, n in counts.items() if n != 1] == []
        for u in range(3):
            user = memory.user(f"lease-user-{u}")
            assert memory.timers(user.id) == [] and memory.reminders(user.id) == []
            assert {t.status for t in memory.timers(user.id, status=None)} == {"fired"}
    finally:
        if other_url != memory.db.url:
            dispose_engine(other_url)


def test_rows_another_replica_is_leasing_are_skipped_not_shared(memory: Memory) -> None:
    """PostgreSQL: while replica A's lease transaction is still open, replica B neither waits for it nor
    leases the same rows (FOR UPDATE SKIP LOCKED); without the row locks both would deliver them."""
    import pytest

    from assistant.memory.models import Timer

    if is_sqlite(memory.db.url):
        pytest.skip("SQLite has no row locks: its write transactions queue (BEGIN IMMEDIATE) instead")
    user = memory.user("lease-locked")
    ids = {memory.add_timer(user.id, NOW - timedelta(seconds=n), label=f"l{n}").id for n in range(5)}
    other_url = second_engine_url(memory.db.url)
    other = Memory(Database(other_url))
    a_holds, b_done = threading.Event(), threading.Event()
    leased_by_a: list[int] = []

    def replica_a() -> None:
        with memory.db.write() as session:
            rows = session.scalars(memory._due(Timer, NOW, None)).all()
            for row in rows:
                row.claimed_by, row.claimed_until = "replica-a", NOW + timedelta(seconds=60)
            session.flush()
            leased_by_a.extend(row.id for row in rows)
            a_holds.set()
            b_done.wait(30)

    thread = threading.Thread(target=replica_a)
    thread.start()
    try:
        assert a_holds.wait(30)
        leased_by_b = other.lease_due_timers(NOW, "replica-b", lease_s=60)  # returns at once
        b_done.set()
        thread.join(30)
        assert set(leased_by_a) == ids
        assert leased_by_b == []
        assert other.lease_due_timers(NOW + timedelta(seconds=1), "replica-b") == []  # A's lease holds
    finally:
        b_done.set()
        thread.join(30)
        dispose_engine(other_url)


def test_a_dead_replicas_leases_run_out_and_another_fires_them(memory: Memory) -> None:
    user = memory.user("lease-dead")
    timer = memory.add_timer(user.id, NOW - timedelta(seconds=5), label="tea")
    reminder = memory.add_reminder(user.id, "water the plants", NOW - timedelta(seconds=1))
    # replica A leases both and dies before delivering (it never settles)
    assert [t.id for t in memory.lease_due_timers(NOW, "replica-a", lease_s=30)] == [timer.id]
    assert [r.id for r in memory.lease_due_reminders(NOW, "replica-a", lease_s=30)] == [reminder.id]

    survivor = Scheduler(memory, owner="replica-b", lease_s=30)
    alerts: list[Alert] = []
    survivor.subscribe(alerts.append)
    assert survivor.poll(NOW + timedelta(seconds=29)) == []  # A's lease still holds
    fired = survivor.poll(NOW + timedelta(seconds=31))
    assert sorted((a.kind, a.id) for a in fired) == [("reminder", reminder.id), ("timer", timer.id)]
    assert survivor.poll(NOW + timedelta(seconds=90)) == []  # once
    assert [a.id for a in alerts] == [a.id for a in fired]
    # A coming back late cannot settle (or fire) what B fired
    assert memory.settle_timers([timer.id], "replica-a", NOW + timedelta(seconds=32)) == 0
    assert memory.timers(user.id, status="fired")[0].id == timer.id


def test_a_recurring_alarm_is_leased_once_per_occurrence(memory: Memory) -> None:
    user = memory.user("lease-repeat")
    alarm = memory.add_timer(user.id, NOW, kind="alarm", label="up", repeat="daily")
    schedulers = [Scheduler(memory, owner=f"replica-{n}") for n in "ab"]
    alerts: list[Alert] = []
    for scheduler in schedulers:
        scheduler.subscribe(alerts.append)
    for day in range(3):
        at = NOW + timedelta(days=day, seconds=1)
        for scheduler in schedulers:
            scheduler.poll(at)
    assert [a.id for a in alerts] == [alarm.id] * 3
    (still,) = memory.timers(user.id)
    assert still.status == "active" and still.due_at == NOW + timedelta(days=3)


def test_a_lease_must_be_positive(memory: Memory) -> None:
    import pytest

    from assistant.memory import MemoryInputError

    with pytest.raises(MemoryInputError, match="positive"):
        memory.lease_due_timers(NOW, "replica-a", lease_s=0)
