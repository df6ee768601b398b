"""The web app's logic without a browser: serving rules, rendering, event folding, sessions, errors."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from assistant.config import load_settings
from assistant.events import (
    AudioEvent,
    ErrorEvent,
    IntentEvent,
    NoticeEvent,
    TextEvent,
    TimingEvent,
    TranscriptEvent,
    TurnDoneEvent,
)
from assistant.net import is_loopback
from assistant.speech.types import AudioChunk, Transcript
from nlu.types import Intent, Slot
from ui import render
from ui.serve import ServeError, plan
from ui.session import Inbox, WebSession, ensure_conversation, ensure_session, user_name_for
from ui.turns import LISTENING, TurnView


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    return load_settings({"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"})


def with_auth(settings, username="me", password="pw", disable=False):
    auth = settings.auth.model_copy(update={"username": username, "password": password, "disable": disable})
    if password is not None:
        from pydantic import SecretStr

        auth = auth.model_copy(update={"password": SecretStr(password)})
    return settings.model_copy(update={"auth": auth})


# --- serving rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "8.8.8.8", ""])
def test_exposed_hosts(host):
    assert not is_loopback(host)


def test_localhost_needs_no_auth(settings):
    result = plan(settings, "127.0.0.1", 7860, share=False, insecure_no_auth=False)
    assert result.auth is None and result.warnings == ()


@pytest.mark.parametrize(("host", "share"), [("0.0.0.0", False), ("127.0.0.1", True)])
def test_exposed_server_without_credentials_is_refused(settings, host, share):
    with pytest.raises(ServeError, match="without a login"):
        plan(settings, host, 7860, share=share, insecure_no_auth=False)


STRONG = "a long enough passphrase"


def test_exposed_server_uses_configured_credentials(settings):
    result = plan(with_auth(settings, password=STRONG), "0.0.0.0", 7860, share=False, insecure_no_auth=False)
    assert result.auth == ("me", STRONG)
    assert not any("WITHOUT" in w for w in result.warnings)


def test_exposed_server_refuses_a_short_password_and_suggests_one(settings):
    with pytest.raises(ServeError, match="too short") as refused:
        plan(with_auth(settings, password="p"), "0.0.0.0", 7860, share=False, insecure_no_auth=False)
    suggested = str(refused.value).rsplit(": ", 1)[1]
    assert len(suggested) >= settings.auth.min_password_chars
    assert plan(with_auth(settings, password="p"), "127.0.0.1", 7860, False, False).auth == ("me", "p")


def test_credentials_are_enforced_on_localhost_too(settings):
    assert plan(with_auth(settings), "127.0.0.1", 7860, False, False).auth == ("me", "pw")


def test_half_configured_auth_is_an_error(settings):
    with pytest.raises(ServeError, match="both"):
        plan(with_auth(settings, password=None), "127.0.0.1", 7860, False, False)


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_insecure_no_auth_is_explicit_and_warned(settings, how):
    if how == "setting":
        settings = with_auth(settings, username=None, password=None, disable=True)
    result = plan(settings, "0.0.0.0", 7860, share=False, insecure_no_auth=how == "flag")
    assert result.auth is None
    assert any("WITHOUT a login" in w for w in result.warnings)


def test_serve_command_refuses_public_host_without_auth(settings):
    from assistant.cli import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--no-warm-up"])
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "without a login" in output and "ASSISTANT_AUTH__PASSWORD" in output
    assert "Traceback" not in output


def test_serve_help_explains_the_insecure_flag():
    from assistant.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    output = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 0
    assert "--insecure-no-auth" in output
    assert "WITHOUT a login" in output


# --- rendering ----------------------------------------------------------------------------------------


def intent(label="alarm_set", confidence=0.9, slots=()):
    return Intent(label, confidence, {label: confidence, "alarm_query": 0.06, "weather_query": 0.04}, slots)


def test_intent_line_escapes_and_flags_low_confidence():
    line = render.intent_line(
        intent("<x>", 0.2), "generator", 0.5, transcript="<b>hi</b>", asr_confidence=0.8
    )
    assert "<x>" not in line and "&lt;x&gt;" in line
    assert "&lt;b&gt;hi&lt;/b&gt;" in line and "ASR confidence 0.80" in line
    assert "below threshold" in line and "→ generator" in line


def test_intent_line_shows_slots():
    slots = (Slot("time", "seven am", 3, 5),)
    line = render.intent_line(intent(slots=slots), "skill:alarm", 0.5)
    assert "time=seven am" in line and "below" not in line


def test_user_message_escapes_html():
    assert render.user_message("<script>x</script>")["content"] == "&lt;script&gt;x&lt;/script&gt;"


def test_waterfall_spans_start_when_each_stage_began():
    spans = render.spans_from_arrivals(
        [("asr", 300.0, 320.0), ("nlu", 10.0, 335.0), ("asr_encode", 5.0, 1.0)]
    )
    assert [(s.stage, round(s.start_ms)) for s in spans] == [("asr", 20), ("nlu", 325)]
    chart = render.waterfall_html(spans, total_ms=400.0)
    assert chart.count('class="waterfall-bar"') == 2 and "ASR" in chart and "NLU" in chart
    assert "400 ms total" in chart and chart.count('class="waterfall-total"') == 2  # a dashed mark per row
    bars = re.findall(r'waterfall-bar" style="left:([\d.]+)%;width:([\d.]+)%', chart)
    (asr_left, asr_width), (nlu_left, _) = [(float(a), float(b)) for a, b in bars]
    assert asr_left < nlu_left and asr_left + asr_width <= nlu_left + 0.01  # NLU starts when ASR ended
    assert "&lt;b&gt;" in render.waterfall_html([render.StageSpan("<b>", 0, 1)])  # unknown names escaped


def test_state_panel_lists_everything_escaped():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    state = {
        "lists": {"shopping": ["milk", "<eggs>"]},
        "timers": [
            {"id": 1, "kind": "timer", "label": None, "due_at": (now + timedelta(seconds=90)).isoformat()}
        ],
        "reminders": [{"id": 2, "text": "call mum", "due_at": None}],
        "facts": {"name": "Ada"},
    }
    html = render.state_panel(state, now=now)
    assert "&lt;eggs&gt;" in html and "milk" in html
    assert "in 1 min 30 s" in html and "call mum" in html and "Ada" in html


def test_comparison_table_side_by_side_with_errors():
    results = {
        "lstm": SimpleNamespace(intent=intent(), latency_ms=2.5, error=None),
        "broken": SimpleNamespace(intent=None, latency_ms=0.0, error="RuntimeError: <boom>"),
    }
    html = render.comparison_table(results)
    assert html.count("class='nlu-model'") == 2
    assert html.count("<li>") == 3 and "2.5 ms" in html
    assert "&lt;boom&gt;" in html


def test_chime_is_short_audio():
    rate, samples = render.chime()
    assert samples.dtype == np.float32 and 0.5 < len(samples) / rate < 2 and np.abs(samples).max() <= 1


# --- one turn folded from events ----------------------------------------------------------------------


def test_typed_turn_view():
    view = TurnView.start([{"role": "user", "content": "old"}], "hello")
    assert view.messages[-2]["content"] == "hello" and view.messages[-1]["content"] == ""
    view.apply(TimingEvent("nlu", 4.0))
    view.apply(IntentEvent(intent("greeting", 0.8), "generator", 0.5))
    assert "greeting" in view.messages[-2]["content"]
    for piece in ("Hi", " there."):
        view.apply(TextEvent(piece))
    assert view.messages[-1] == {"role": "assistant", "content": "Hi there."}
    view.apply(TurnDoneEvent(1, 2, "Hi there.", "smollm2", {"total": 50.0}))
    assert view.total_ms == 50.0 and view.reply_audio() is None and view.status() == ""
    assert [s.stage for s in view.spans()] == ["nlu"]


def test_voice_turn_view_with_audio_and_notice():
    view = TurnView.start([], None)
    assert view.messages[-2]["content"] == LISTENING
    view.apply(TranscriptEvent(Transcript("what time is it", "en", 0.9)))
    assert "what time is it" in view.messages[-2]["content"]
    view.apply(IntentEvent(intent("datetime_query"), "skill:datetime", 0.5))
    assert "ASR confidence 0.90" in view.messages[-2]["content"]
    view.apply(NoticeEvent("speech degraded"))
    for i in range(2):
        view.apply(AudioEvent(AudioChunk(np.full(100, 0.5, np.float32), 22050, "x", i, final=i == 1)))
    rate, samples = view.reply_audio()
    assert rate == 22050 and samples.dtype == np.int16 and len(samples) == 200
    assert "speech degraded" in view.status()


def test_error_turn_view():
    view = TurnView.start([], None)
    view.apply(ErrorEvent("the audio is silence only"))
    assert view.messages[-1]["content"].startswith("⚠️") and view.messages[-2]["content"] != LISTENING
    assert "silence" in view.status()


# --- sessions, inbox, errors --------------------------------------------------------------------------


def test_guest_names_are_per_page_load_and_logins_are_users():
    a = user_name_for(SimpleNamespace(username=None, session_hash="aaaa1111"))
    b = user_name_for(SimpleNamespace(username=None, session_hash="bbbb2222"))
    assert a != b and a.startswith("guest-")
    assert user_name_for(SimpleNamespace(username="ada", session_hash="x")) == "ada"


def test_sessions_get_their_own_user_and_conversation(settings):
    from assistant.memory import open_memory
    from assistant.memory.db import dispose_engine

    memory = open_memory(settings)
    try:
        one = ensure_session(None, SimpleNamespace(username=None, session_hash="one"), memory)
        two = ensure_session(None, SimpleNamespace(username=None, session_hash="two"), memory)
        assert one.user_id != two.user_id
        assert ensure_conversation(one, memory) != ensure_conversation(two, memory)
        conversation = one.conversation_id
        assert ensure_conversation(one, memory) == conversation  # kept between turns
        memory.forget_user(one.user_id)
        again = ensure_session(one, SimpleNamespace(username=None, session_hash="one"), memory)
        assert again.user_id is not None and again.conversation_id is None  # a fresh user after "forget me"
    finally:
        dispose_engine(settings.database_url)


def test_inbox_delivers_to_the_right_user_once(tmp_path):
    from assistant.memory import open_memory

    memory = open_memory(load_settings({"data_dir": tmp_path}))
    one, two = memory.user("one").id, memory.user("two").id
    inbox, other_process = Inbox(memory), Inbox(memory)  # e.g. two web workers on one database
    other_process.push(one, "timer done")
    inbox.push(two, "other")
    assert [m for _, m in inbox.pop(one)] == ["timer done"]  # fired in one process, shown by the other
    assert inbox.pop(one) == [] and other_process.pop(one) == [] and inbox.pop(None) == []
    assert [m for _, m in other_process.pop(two)] == ["other"]


def test_friendly_errors_hide_internals():
    import gradio as gr

    from ui.errors import GENERIC, friendly

    @friendly
    def bug():
        raise KeyError("internal detail")

    @friendly
    def bad_input():
        raise ValueError("That file is not audio <really>.")

    @friendly
    def streaming():
        yield 1
        raise RuntimeError("secret path /etc")

    with pytest.raises(gr.Error) as caught:
        bug()
    assert caught.value.message == GENERIC
    with pytest.raises(gr.Error) as caught:
        bad_input()
    assert caught.value.message == "That file is not audio &lt;really&gt;."
    gen = streaming()
    assert next(gen) == 1
    with pytest.raises(gr.Error) as caught:
        next(gen)
    assert "secret" not in caught.value.message


def test_web_session_defaults_are_independent():
    a, b = WebSession("a"), WebSession("b")
    a.messages.append({"role": "user", "content": "x"})
    assert b.messages == []


def test_nlu_lab_shows_the_shipped_report_until_a_comparison_exists(tmp_path) -> None:
    from ui.nlu_lab import latest_report

    text, plots = latest_report(tmp_path / "reports")
    assert "Shipped NLU models" in text and "HWU64 test acc" in text and plots == []
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.md").write_text("| hwu64 | lstm | 1 | 89.00 |")
    text, _ = latest_report(tmp_path / "reports")
    assert "| hwu64 | lstm | 1 | 89.00 |" in text and "Shipped NLU models" not in text


def test_nlu_lab_says_how_to_get_a_model_that_is_not_trained(tmp_path) -> None:
    from assistant.config import load_settings
    from nlu.registry import product_names
    from ui.nlu_lab import not_ready_note, trained_names

    settings = load_settings({"cache_dir": str(tmp_path)})
    assert set(trained_names(settings, product_names())) == {
        "lstm",
        "transformer",
        "tfidf-logreg",
        "minilm-frozen",
        "blend",
    }
    assert "assistant nlu train --product minilm" in not_ready_note(settings, product_names())
