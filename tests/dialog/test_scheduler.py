from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from assistant.dialog.manager import DialogManager
from assistant.dialog.scheduler import Alert, Scheduler
from nlu.types import Intent

from .conftest import TZ


def test_a_one_second_timer_fires_exactly_once(memory, settings) -> None:
    manager = DialogManager(memory, settings)
    user = memory.user("ana")
    conversation = memory.start_conversation(user.id)
    decision = manager.decide("set a timer for 1 second", Intent("alarm_set", 0.9), user.id, conversation.id)
    assert decision.result.text == "Timer set for 1 second."

    alerts: list[Alert] = []
    fired = threading.Event()

    def on_alert(alert: Alert) -> None:
        alerts.append(alert)
        fired.set()

    scheduler = Scheduler(memory, tz=TZ, interval_s=0.05)
    scheduler.subscribe(on_alert)
    with scheduler:
        assert scheduler.running
        assert fired.wait(timeout=15), "the timer never fired"
        # keep polling a while longer: a second delivery would show up here
        for _ in range(5):
            scheduler.wake()
            threading.Event().wait(0.05)
    assert not scheduler.running
    assert len(alerts) == 1
    (alert,) = alerts
    assert alert.kind == "timer" and alert.user_id == user.id
    assert alert.text == "Your timer for 1 second is done."
    assert memory.timers(user.id, status="fired")[0].id == alert.id


def test_poll_delivers_alarms_and_reminders_per_user(memory) -> None:
    ana, bob = memory.user("ana"), memory.user("bob")
    now = datetime(2025, 3, 12, 9, 15, tzinfo=UTC)
    memory.add_timer(ana.id, now - timedelta(seconds=1), "alarm")
    memory.add_reminder(ana.id, "call mom", now - timedelta(seconds=1))
    memory.add_timer(bob.id, now - timedelta(seconds=1), "timer", "pasta", 480)
    memory.add_timer(ana.id, now + timedelta(hours=1), "alarm")  # not due
    scheduler = Scheduler(memory, tz=TZ)
    assert scheduler.poll(now) == []  # nobody listening: nothing is claimed, nothing is lost
    got: list[Alert] = []
    scheduler.subscribe(got.append, user_id=ana.id)
    alerts = scheduler.poll(now)
    assert sorted(a.text for a in got) == ["It's 10:14 AM: your alarm is going off.", "Reminder: call mom."]
    assert {a.user_id for a in alerts} == {ana.id}
    assert scheduler.poll(now) == []  # each fires once
    everyone: list[Alert] = []
    scheduler.subscribe(everyone.append)
    scheduler.poll(now)
    assert [a.text for a in everyone] == ["Your pasta timer is done."]


def test_a_failing_callback_does_not_stop_others(memory) -> None:
    ana = memory.user("ana")
    now = datetime(2025, 3, 12, 9, 15, tzinfo=UTC)
    memory.add_timer(ana.id, now, "timer", None, 60)
    scheduler = Scheduler(memory, tz=TZ)
    got: list[Alert] = []

    def broken(alert: Alert) -> None:
        raise RuntimeError("speaker unplugged")

    scheduler.subscribe(broken)
    unsubscribe = scheduler.subscribe(got.append)
    scheduler.poll(now)
    assert len(got) == 1
    unsubscribe()
    memory.add_timer(ana.id, now, "timer", None, 60)
    scheduler.poll(now)
    assert len(got) == 1


def test_stop_is_prompt_and_idempotent(memory) -> None:
    scheduler = Scheduler(memory, interval_s=30)  # a long sleep must not delay stop()
    scheduler.subscribe(lambda alert: None)
    scheduler.start()
    scheduler.start()  # no second thread
    scheduler.stop(timeout=5)
    assert not scheduler.running
    scheduler.stop()


def test_only_skills_that_set_due_things_wake_the_scheduler(manager) -> None:
    """A turn wakes the scheduler (a poll that takes the database's write lock) only after a skill that
    sets timers, alarms or reminders; a list, the time or a sum never does."""
    assert manager.schedules("timers") and manager.schedules("reminders")
    assert not any(manager.schedules(name) for name in ("lists", "datetime", "arithmetic", None, "no-such"))
