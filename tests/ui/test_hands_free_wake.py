"""The web page's hands-free mode behind the wake word, driven through the real `HandsFree` handlers with
Piper speech in the page's 0.25 s ticks: the real wake-word model, end-pointer, recogniser and pipeline."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assistant.speech.endpoint import Heard
from assistant.speech.types import SAMPLE_RATE
from assistant.speech.vad import Utterance
from tests.robustness.conftest import make_settings
from tests.ui.test_voice import payload
from ui.conversation import ConversationTab
from ui.hands_free import STATUS_OUTPUT, asleep_status, without_wake_phrase

TICK = SAMPLE_RATE // 4  # the page posts its microphone audio every 0.25 s
ASLEEP = 'Say "Alexa" and your request…'


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline

    pipe = Pipeline(make_settings(tmp_path_factory.mktemp("wake-web")))  # wake word on: the default
    yield pipe
    pipe.runtime.close()
    dispose_engine(pipe.settings.database_url)


@pytest.fixture(scope="module")
def speak(pipeline: Any) -> Any:
    """text -> 16 kHz float32 audio in the offline Piper voice (deterministic)."""
    from assistant.audio import resample
    from assistant.speech.tts import synthesize

    synth = pipeline.runtime.synthesizer()
    return lambda text: resample(synthesize(synth, text), synth.sample_rate, SAMPLE_RATE)


class Page:
    """One browser tab: its session, the ticks it posts, and the turns they start."""

    def __init__(self, pipeline: Any) -> None:
        self.tab = ConversationTab(pipeline, pipeline.settings, None, {})
        session, timer, self.status = self.tab.on_listen_start("ok", None, SimpleNamespace())
        assert timer.active is True, self.status
        self.session, self.seq = session, 0
        self.tick_s = 0.25  # how often the page posts its audio (the timer's first value)

    def say(self, audio: np.ndarray, muted: bool = False, tick: int = TICK) -> list[str]:
        """Post `audio` tick by tick; the statuses shown (stops at a finished utterance, as the page's
        next ticks would only be answered 'Answering…' until its turn has run)."""
        statuses = []
        for i in range(0, max(len(audio), 1), tick):  # empty audio: one empty tick
            new_seq, status, timer = self.tab.on_listen(
                payload(audio[i : i + tick], muted=muted), self.session, self.seq
            )
            if not isinstance(timer, dict):  # a new `gr.Timer` (a dict is `gr.skip()`): the tick changed
                self.tick_s = timer.value
            statuses.append(status)
            if isinstance(new_seq, int):
                self.seq = new_seq
                break
        return statuses

    def turn(self) -> list[tuple[Any, ...]]:
        """Run the parked utterance's turn as `utterance_seq.change` does; all its updates."""
        return list(self.tab.on_utterance(self.session, None, None, None, SimpleNamespace()))

    def users_said(self) -> list[str]:
        return [str(m["content"]) for m in self.session.messages if m.get("role") == "user"]


@pytest.mark.slow
def test_wake_word_then_request_then_follow_up_then_asleep(pipeline, speak):
    page = Page(pipeline)
    assert page.status == ASLEEP and page.session.wake is not None and not page.session.wake.awake
    # Without the name nothing is heard: the end-pointer gets no audio, no turn starts.
    statuses = page.say(np.concatenate([silence(1.2), speak("What time is it?"), silence(1.5)]))
    assert set(statuses) == {ASLEEP} and page.seq == 0 and page.session.pending_utterance is None
    assert not page.session.listening.in_speech and page.session.page_signals == []
    # "Alexa, what time is it?" in one breath: woken, the request taken whole, the name taken off.
    statuses = page.say(np.concatenate([speak("Alexa, what time is it?"), silence(1.5)]))
    assert page.seq == 1 and statuses[-1] == "Heard you, thinking…", statuses
    assert statuses[0] == ASLEEP and "Listening…" in statuses
    (chime,) = page.session.page_signals  # the page plays its earcon
    assert chime.startswith("wake "), chime
    updates = page.turn()
    assert len(updates) >= 2 and all(len(u) == 7 for u in updates)
    (first,) = page.users_said()
    assert "time" in first.lower() and "alexa" not in first.lower(), first
    # The page speaks the reply (its microphone muted), then a follow-up without the name is a request.
    assert page.say(np.zeros(0, np.float32), muted=True) == ["Speaking…"]
    assert page.session.wake.awake
    statuses = page.say(np.concatenate([silence(1.0), speak("What day is it today?"), silence(1.5)]))
    assert page.seq == 2 and ASLEEP not in statuses, statuses
    page.turn()
    assert len(page.users_said()) == 2 and "day" in page.users_said()[1].lower(), page.users_said()
    # follow_up_s of quiet after the reply: asleep again, and a request without the name is not heard.
    follow_up_s = pipeline.settings.wake.follow_up_s
    statuses = page.say(silence(follow_up_s - 0.5))
    assert page.session.wake.awake and ASLEEP not in statuses, statuses
    statuses = page.say(silence(1.0))
    assert statuses[-1] == ASLEEP and not page.session.wake.awake, statuses
    statuses = page.say(np.concatenate([speak("What time is it?"), silence(1.5)]))
    assert set(statuses) == {ASLEEP} and page.seq == 2


@pytest.mark.slow
def test_the_name_alone_waits_for_the_request_and_stop_resets_the_gate(pipeline, speak):
    page = Page(pipeline)
    statuses = page.say(np.concatenate([silence(1.2), speak("Alexa."), silence(2.0)]))
    gate = page.session.wake
    assert gate.awake, statuses
    # Had the end-pointer taken the name itself as an utterance (the gate hands on a little audio from
    # before the word), its turn would find no request: none runs, the gate waits `request_s` for it.
    page.session.pending_utterance = Heard(Utterance(np.concatenate([speak("Alexa."), silence(0.3)]), 0, 1))
    updates = page.turn()
    assert len(updates) == 1, page.session.messages
    (update,) = updates
    assert update[STATUS_OUTPUT] == "Listening…" and page.users_said() == [] and not page.session.busy
    assert gate.open_until == pytest.approx(page.session.heard_s + gate.request_s)
    statuses = page.say(np.concatenate([speak("What time is it?"), silence(1.5)]))
    assert statuses[-1] == "Heard you, thinking…", statuses
    page.turn()
    assert "time" in page.users_said()[0].lower() and "alexa" not in page.users_said()[0].lower()
    # Stopping drops the gate (and the end-pointer's hearing ahead); a restart sleeps until the name.
    page.tab.on_listen_stop(page.session)
    assert page.session.wake is None and page.session.heard_s == 0.0
    assert page.tab.on_listen_start("ok", page.session, SimpleNamespace())[2] == ASLEEP
    assert page.session.wake is not gate and not page.session.wake.awake


@pytest.mark.slow
def test_wake_word_off_hears_every_utterance(pipeline, speak, monkeypatch):
    """settings.wake.enabled = false: today's behaviour, every utterance is a request, nothing stripped."""
    settings = pipeline.runtime.settings
    off = settings.model_copy(update={"wake": settings.wake.model_copy(update={"enabled": False})})
    monkeypatch.setattr(pipeline.runtime, "settings", off)
    page = Page(pipeline)
    assert page.status == "Listening…" and page.session.wake is None
    statuses = page.say(np.concatenate([silence(0.5), speak("What time is it?"), silence(1.5)]))
    assert page.seq == 1 and ASLEEP not in statuses, statuses
    page.turn()
    statuses = page.say(np.concatenate([silence(0.5), speak("Alexa, what time is it?"), silence(1.5)]))
    assert page.seq == 2, statuses
    page.turn()
    first, second = page.users_said()
    assert "time" in first.lower() and page.session.wake is None
    assert "alexa" in second.lower(), second  # heard as said: nothing is taken off without the wake word


def test_every_name_in_front_is_taken_off():
    assert without_wake_phrase("Alexa. Alexa.", "Alexa") == ""
    assert without_wake_phrase("Alexa, alexa, what time is it?", "Alexa") == "what time is it?"
    assert without_wake_phrase("Alexander, set a timer.", "Alexa") == "Alexander, set a timer."


def test_asleep_status_names_the_wake_word():
    gate = SimpleNamespace(detector=SimpleNamespace(phrase="Hey Jarvis"))
    assert asleep_status(gate) == 'Say "Hey Jarvis" and your request…'


@pytest.mark.slow
def test_stop_while_the_page_speaks_cuts_the_reply_off_and_other_words_start_nothing(pipeline, speak):
    """As in `assistant talk`: while the page speaks, "stop" cuts the reply off (the turn is marked
    interrupted, the page is told to stop playing it); other words said meanwhile start no turn. The page
    sends its audio every 0.1 s while it speaks, every 0.25 s again afterwards."""
    import time

    from sqlalchemy import select

    from assistant.memory.models import Turn

    page = Page(pipeline)
    page.say(np.concatenate([silence(1.2), speak("Alexa, what can you do?"), silence(1.5)]))
    assert page.seq == 1
    page.turn()
    turn, cancel = page.session.reply
    fast = SAMPLE_RATE // 10
    # The page speaks its reply (muted: echo cancellation left nothing of it): a request said meanwhile
    # without the name is no request, even once its words are heard.
    statuses = page.say(np.concatenate([silence(0.3), speak("What time is it?"), silence(1.2)]), True, fast)
    assert page.tick_s == pytest.approx(0.1), "the page is asked for its audio faster while it speaks"
    for _ in range(100):  # its transcript is read on a later tick, once made
        if page.session.stop_check is None:
            break
        time.sleep(0.05)
        statuses += page.say(silence(0.1), True, fast)
    assert page.seq == 1 and set(statuses) == {"Speaking…"}, statuses
    assert not any(s.startswith("stop") for s in page.session.page_signals) and not cancel.cancelled
    # "Stop." while it speaks: the reply is cut off.
    statuses = page.say(np.concatenate([speak("Stop."), silence(0.8)]), True, fast)
    for _ in range(100):
        if "Stopped. Listening…" in statuses:
            break
        time.sleep(0.05)
        statuses += page.say(silence(0.1), True, fast)
    assert "Stopped. Listening…" in statuses and page.seq == 1, statuses
    stops = [s for s in page.session.page_signals if s.startswith("stop")]
    assert cancel.cancelled and len(stops) == 1 and stops[0].startswith(f"stop {turn} "), stops
    with pipeline.memory.db.read() as db:
        (stored,) = db.scalars(select(Turn).where(Turn.conversation_id == page.session.conversation_id))
        assert stored.interrupted and "can you do" in stored.user_text
    # Quiet again: the slower tick, and the next request (in the follow-up window) is taken as usual.
    page.say(silence(0.5))
    assert page.tick_s == pytest.approx(0.25)
    statuses = page.say(np.concatenate([speak("What time is it?"), silence(1.5)]))
    assert page.seq == 2 and statuses[-1] == "Heard you, thinking…", statuses
